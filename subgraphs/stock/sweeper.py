"""The expiry sweeper: releases reservations past `expires_at` (`stock.released`, reason expired).

Safe in several processes: the tenants with expired reservations are found in a transaction that
may read reservation ids of every tenant (`app.stock_sweeper = on`, a SELECT-only policy); the
release runs per tenant in a tenant transaction that takes the rows `FOR UPDATE SKIP LOCKED`, so
two sweepers (or a sweeper and a consumer) never release the same reservation twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import text

from shared.db import Database, utcnow
from shared.lease import run_leased
from subgraphs.stock import reservations

log = logging.getLogger(__name__)


async def tenants_with_expired(db: Database, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    async with db.session() as session:
        await session.execute(text("SELECT set_config('app.stock_sweeper', 'on', true)"))
        rows = await session.scalars(
            text(
                "SELECT DISTINCT tenant_id FROM stock.reservations "
                "WHERE status = 'active' AND expires_at <= :now LIMIT :limit"
            ),
            {"now": now, "limit": limit},
        )
        return list(rows)


async def sweep_once(db: Database, *, batch: int = 200, now: datetime | None = None) -> int:
    """Release every reservation expired at `now`; returns how many this call released."""
    now = now or utcnow()
    total = 0
    for tenant in await tenants_with_expired(db, now):
        while True:
            async with db.tenant_session(tenant) as session:
                n = await reservations.release_expired_batch(session, tenant, limit=batch, now=now)
            total += n
            if n < batch:
                break
    return total


async def run_sweeper(db: Database, *, interval: float = 5.0) -> None:
    """Sweep every `interval` seconds until cancelled, in the one replica that holds the lease
    `stock-expiry` (shared.lease; the others stand by and take over when it dies)."""

    async def tick() -> None:
        released = await sweep_once(db)
        if released:
            log.info("stock sweeper released %d expired reservations", released)

    await run_leased(db, "stock-expiry", tick, every=interval)
