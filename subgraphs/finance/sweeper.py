"""The background sweeps: overdue invoices and due settlements, tenant by tenant (each in its own
tenant transaction: RLS applies to the sweeper as to requests)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select

from shared.db import Database, utcnow
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
    while True:
        try:
            await sweep_once(db)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("finance sweep failed")
        await asyncio.sleep(interval)
