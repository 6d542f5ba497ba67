"""The background sweeps: overdue invoices and due settlements, tenant by tenant (each in its own
tenant transaction: RLS applies to the sweeper as to requests)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from shared.db import Database, utcnow
from shared.lease import run_leased
from subgraphs.finance import invoices, settlement
from subgraphs.finance.models import KnownTenant

log = logging.getLogger(__name__)


async def sweep_once(db: Database, now: datetime | None = None) -> tuple[int, int]:
    """(invoices marked overdue, settlements booked) over all known tenants."""
    async with db.session() as session:
        tenants = list((await session.execute(select(KnownTenant.tenant_id))).scalars())
    overdue = settled = 0
    for tenant in tenants:
        try:
            async with db.tenant_session(tenant) as session:
                overdue += len(await invoices.sweep_overdue(session, now or utcnow()))
                settled += len(await settlement.sweep_due(session, now or utcnow()))
        except Exception:
            log.exception("finance sweep failed for tenant %s", tenant)
    return overdue, settled


async def run(db: Database, interval: float) -> None:
    """Sweep every `interval` seconds in the one replica that holds the lease `finance-sweeps`
    (shared.lease: several replicas, one sweep per tick)."""

    async def tick() -> None:
        await sweep_once(db)

    await run_leased(db, "finance-sweeps", tick, every=interval)
