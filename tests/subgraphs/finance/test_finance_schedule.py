"""The daily reconciliation schedule: one process per tick (the job lease), once per tenant,
day and provider (the database's unique index), results stored and queryable, mismatches
published; a provider with a statement is compared against it, the sandbox (none) is not."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from shared.db import Database, utcnow
from subgraphs.finance import leases, orgtree, payments, sweeper
from subgraphs.finance.models import ReconciliationRun
from subgraphs.finance.providers import ProviderEvent, SandboxProvider
from subgraphs.finance.reconciliation import StatementLine
from tests.subgraphs.finance.helpers import Org, deliver, oid, outbox, placed


class StatementProvider(SandboxProvider):
    """The sandbox adapter with a statement of its own (as a real provider's API would give)."""

    name = "stated"

    def __init__(self, lines: list[StatementLine]) -> None:
        self.lines = lines

    async def statement(self, tenant_id: uuid.UUID, day: date) -> list[StatementLine] | None:
        return self.lines


async def _runs(db: Database, tenant: uuid.UUID, day: date) -> list[ReconciliationRun]:
    async with db.tenant_session(tenant) as s:
        query = select(ReconciliationRun).where(ReconciliationRun.day == day)
        return list((await s.execute(query)).scalars())


async def test_one_process_per_tick_and_one_run_per_day(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await orgtree.remember_tenant(s, org.id)
    name = f"test-lease-{uuid.uuid4().hex[:8]}"
    # Two processes try the same tick at once: exactly one takes the lease.
    got = await asyncio.gather(
        leases.acquire(finance_db, name, 60, "process-a"), leases.acquire(finance_db, name, 60, "process-b")
    )
    assert sorted(got) == [False, True]
    winner = "process-a" if got[0] else "process-b"
    loser = "process-b" if got[0] else "process-a"
    assert await leases.acquire(finance_db, name, 60, winner)  # the holder renews
    assert not await leases.acquire(finance_db, name, 60, loser)
    await leases.release(finance_db, name, winner)  # a holder that stops gives it up
    assert await leases.acquire(finance_db, name, 0.2, loser)
    await asyncio.sleep(0.5)  # and an expired lease is free for anyone
    assert await leases.acquire(finance_db, name, 60, winner)

    # The schedule: the tick of whoever holds the reconciliation lease reconciles yesterday.
    yesterday = utcnow().date() - timedelta(days=1)
    holder = f"holder-{uuid.uuid4().hex[:6]}"
    lease = f"reconciliation-{holder}"  # not the apps' lease: other tests' sweepers may hold that
    first, second = await asyncio.gather(
        sweeper.reconciliation_tick(finance_db, 60, holder=holder, lease_name=lease),
        sweeper.reconciliation_tick(finance_db, 60, holder=f"other-{holder}", lease_name=lease),
    )
    assert (first is None) != (second is None)  # one tick ran, the other saw the lease taken
    runs = await _runs(finance_db, org.id, yesterday)
    assert [(r.trigger, r.provider, r.statement_available) for r in runs] == [("SCHEDULED", "sandbox", False)]
    # Ticking again (the same holder renews) reconciles nothing twice.
    ran = holder if first is not None else f"other-{holder}"
    assert await sweeper.reconciliation_tick(finance_db, 60, holder=ran, lease_name=lease) is not None
    assert len(await _runs(finance_db, org.id, yesterday)) == 1


async def test_scheduled_run_compares_the_providers_statement(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    event = placed(org, "80.00")
    await deliver(finance_db, event)
    async with finance_db.tenant_session(org.id) as s:
        await orgtree.remember_tenant(s, org.id)
        provider_event = ProviderEvent(
            "evt-1", "payment.captured", org.id, oid(event), "PSP-1", Decimal("80.00"), "EUR"
        )
        await payments.apply_provider_event(s, "stated", provider_event)
    today = utcnow().date()
    provider = StatementProvider(
        [StatementLine("PSP-1", Decimal("79.00"), "EUR"), StatementLine("PSP-9", Decimal("5.00"), "EUR")]
    )
    made = await sweeper.reconcile_days(finance_db, today, {"stated": provider})
    assert made >= 1
    again = await sweeper.reconcile_days(finance_db, today, {"stated": provider})
    runs = await _runs(finance_db, org.id, today)
    assert len(runs) == 1 and again >= 0
    run = runs[0]
    assert (run.trigger, run.statement_available, run.statement_lines, run.payments_checked) == (
        "SCHEDULED",
        True,
        2,
        1,
    )
    assert sorted(m["kind"] for m in run.mismatches) == ["AMOUNT_MISMATCH", "MISSING_IN_LEDGER"]
    published = [
        e for e in await outbox(finance_db, org.id) if e["type"] == "finance.reconciliation_mismatch"
    ]
    assert sorted(e["kind"] for e in published) == ["AMOUNT_MISMATCH", "MISSING_IN_LEDGER"]
