"""The background sweeps, tenant by tenant (each in its own tenant transaction: RLS applies to
the sweeper as to requests): overdue invoices, consolidated invoices whose period ended, due
settlements; and the daily reconciliation, run by the one process holding its lease (leases.py)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.db import Database, utcnow
from shared.lease import run_leased
from subgraphs.finance import consolidation, invoices, leases, reconciliation, settlement
from subgraphs.finance.models import KnownTenant
from subgraphs.finance.providers import PaymentProvider, providers

log = logging.getLogger(__name__)
RECONCILIATION_LEASE = "finance-daily-reconciliation"


@dataclass(frozen=True, slots=True)
class SweepResult:
    overdue: int = 0
    settled: int = 0
    consolidated: int = 0


async def _tenants(db: Database) -> list[uuid.UUID]:
    async with db.session() as session:
        return list((await session.execute(select(KnownTenant.tenant_id))).scalars())


async def sweep_once(db: Database, now: datetime | None = None) -> tuple[int, int]:
    """(invoices marked overdue, settlements booked) over all known tenants."""
    result = await sweep(db, now)
    return result.overdue, result.settled


async def sweep(db: Database, now: datetime | None = None) -> SweepResult:
    overdue = settled = closed = 0
    for tenant in await _tenants(db):
        try:
            async with db.tenant_session(tenant) as session:
                at = now or utcnow()
                closed += len(await consolidation.close_due(session, at))
                overdue += len(await invoices.sweep_overdue(session, at))
                settled += len(await settlement.sweep_due(session, at))
        except Exception:
            log.exception("finance sweep failed for tenant %s", tenant)
    return SweepResult(overdue, settled, closed)


async def reconcile_days(
    db: Database,
    day: date,
    known: Mapping[str, PaymentProvider] | None = None,
) -> int:
    """The scheduled reconciliation of `day` for every tenant and provider not yet reconciled
    by the schedule (the database's unique index keeps it once per tenant, day and provider).
    Returns the number of runs made."""
    made = 0
    for tenant in await _tenants(db):
        for name, provider in (known if known is not None else providers()).items():
            try:
                async with db.tenant_session(tenant) as session:
                    if await reconciliation.scheduled_done(session, day, name):
                        continue
                    statement = await provider.statement(tenant, day)
                    await reconciliation.reconcile(session, tenant, day, name, statement, trigger="SCHEDULED")
                made += 1
            except IntegrityError:
                log.info("finance: %s %s already reconciled by another process", tenant, day)
            except Exception:
                log.exception("finance reconciliation of %s failed for tenant %s", day, tenant)
    return made


async def reconciliation_tick(
    db: Database,
    lease_seconds: float,
    now: datetime | None = None,
    known: Mapping[str, PaymentProvider] | None = None,
    holder: str = leases.HOLDER,
    lease_name: str = RECONCILIATION_LEASE,
) -> int | None:
    """One tick of the daily schedule: the lease holder reconciles yesterday (UTC) for every
    tenant that has no scheduled run of it yet. None: another process holds the lease."""
    if not await leases.acquire(db, lease_name, lease_seconds, holder):
        return None
    yesterday = (now or utcnow()).date() - timedelta(days=1)
    return await reconcile_days(db, yesterday, known)


async def run(db: Database, interval: float) -> None:
    """Sweep every `interval` seconds in the one replica that holds the lease `finance-sweeps`
    (shared.lease: several replicas, one sweep per tick); the daily reconciliation also takes its own
    dated lease (leases.py), which outlives a tick, so a run is never repeated by a new holder."""
    lease = max(interval * 3, 30.0)

    async def tick() -> None:
        await sweep(db)
        await reconciliation_tick(db, lease)

    try:
        await run_leased(db, "finance-sweeps", tick, every=interval)
    finally:
        try:
            await asyncio.shield(leases.release(db, RECONCILIATION_LEASE))
        except Exception:  # shutting down: the lease then expires on its own
            log.debug("finance: lease not released", exc_info=True)
