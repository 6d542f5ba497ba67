"""The journal in PostgreSQL: balanced at commit, append-only, balances derived from lines; and
a Hypothesis history of orders, payments, refunds and settlements run through the services."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database, utcnow
from subgraphs.finance import credit, journal, ledger, payments, settlement
from subgraphs.finance.ledger import AccountKind
from subgraphs.finance.terms import Terms
from tests.subgraphs.finance.helpers import Org, deliver, oid, placed, transition


async def test_database_refuses_an_unbalanced_entry(finance_db: Database) -> None:
    tenant = uuid.uuid4()
    entry_id = uuid.uuid4()
    with pytest.raises(DBAPIError, match="not balanced"):
        async with finance_db.tenant_session(tenant) as s:
            cash = await journal.account_id(s, tenant, ledger.account(AccountKind.CASH, "EUR"))
            rev = await journal.account_id(s, tenant, ledger.account(AccountKind.PLATFORM_REVENUE, "EUR"))
            await s.execute(
                text(
                    "INSERT INTO finance.journal_entries (id, tenant_id, kind, currency, memo) "
                    "VALUES (:e, :t, 'REVERSAL', 'EUR', 'bad')"
                ),
                {"e": entry_id, "t": tenant},
            )
            await s.execute(
                text(
                    "INSERT INTO finance.journal_lines (tenant_id, entry_id, account_id, debit, credit) "
                    "VALUES "
                    "(:t, :e, :a, 10, 0), (:t, :e, :b, 0, 9.99)"
                ),
                {"e": entry_id, "t": tenant, "a": cash, "b": rev},
            )
    with pytest.raises(DBAPIError, match="not balanced"):
        async with finance_db.tenant_session(tenant) as s:
            await s.execute(
                text(
                    "INSERT INTO finance.journal_entries (id, tenant_id, kind, currency, memo) "
                    "VALUES (:e, :t, 'REVERSAL', 'EUR', 'no lines')"
                ),
                {"e": uuid.uuid4(), "t": tenant},
            )


async def test_journal_is_append_only_for_the_app_role(finance_db: Database) -> None:
    tenant = uuid.uuid4()
    async with finance_db.tenant_session(tenant) as s:
        entry = ledger.payment_received(None, uuid.uuid4(), Decimal("5.00"), "EUR")
        await journal.post(s, tenant, entry)
    for statement in (
        "UPDATE finance.journal_lines SET debit = debit + 1 WHERE entry_id = :e",
        "DELETE FROM finance.journal_lines WHERE entry_id = :e",
        "UPDATE finance.journal_entries SET memo = 'x' WHERE id = :e",
        "DELETE FROM finance.journal_entries WHERE id = :e",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with finance_db.tenant_session(tenant) as s:
                await s.execute(text(statement), {"e": entry.id})
    async with finance_db.tenant_session(tenant) as s:
        await journal.post(s, tenant, ledger.reversal(entry))
        assert all(b.balance == 0 for b in await journal.balances(s))
    # A second tenant sees none of it.
    async with finance_db.tenant_session(uuid.uuid4()) as s:
        assert await journal.balances(s) == []


history = st.lists(
    st.tuples(
        st.sampled_from(["order", "pay", "refund", "deliver", "settle"]),
        st.integers(0, 3),
        st.integers(1, 50_000),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=history)
async def test_any_history_balances_in_postgres(
    finance_db: Database, steps: list[tuple[str, int, int]]
) -> None:
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_30)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("1000000.00"))
        await credit.set_distributors(s, org.id, org.company, org.dist1, org.dist2)
        await settlement.set_settlement_delay(s, org.id, 0)
    orders: dict[int, uuid.UUID] = {}
    for kind, index, cents in steps:
        amount = Decimal(cents).scaleb(-2)
        order = orders.get(index)
        if kind == "order" and order is None:
            event = placed(org, format(amount, "f"))
            await deliver(finance_db, event)
            await deliver(finance_db, transition(org, oid(event), "reserved"))
            await deliver(finance_db, transition(org, oid(event), "confirmed", "reserved"))
            orders[index] = oid(event)
        elif order is None:
            continue
        elif kind == "pay":
            async with finance_db.tenant_session(org.id) as s:
                await payments.record_payment(s, org.id, order, amount, "EUR", method="BANK_TRANSFER")
        elif kind == "refund":
            async with finance_db.tenant_session(org.id) as s:
                refundable = await credit.net_paid(s, order)
                if refundable > 0:
                    await payments.record_refund(s, org.id, order, min(amount, refundable), "EUR")
        elif kind == "deliver":
            await deliver(finance_db, transition(org, order, "delivered", "shipped"))
        elif kind == "settle":
            async with finance_db.tenant_session(org.id) as s:
                await settlement.sweep_due(s, utcnow() + timedelta(seconds=1))
    async with finance_db.tenant_session(org.id) as s:
        assert all(v == 0 for v in (await journal.trial_balance(s)).values())
        unbalanced = (
            await s.execute(
                text(
                    "SELECT entry_id FROM finance.journal_lines GROUP BY entry_id "
                    "HAVING sum(debit) <> sum(credit) OR count(*) < 2"
                )
            )
        ).all()
        assert unbalanced == []
        for b in await journal.balances(s):
            lines = (
                await s.execute(
                    text(
                        "SELECT COALESCE(sum(debit - credit), 0) FROM finance.journal_lines "
                        "WHERE account_id = :a"
                    ),
                    {"a": b.account_id},
                )
            ).scalar_one()
            assert b.balance == lines
        # Clearing holds exactly the invoiced sales not yet settled (voided ones were reversed).
        unsettled = (
            await s.execute(
                text(
                    "SELECT COALESCE(sum(i.total), 0) FROM finance.invoices i WHERE i.status <> 'VOID' "
                    "AND NOT EXISTS (SELECT 1 FROM finance.settlements st WHERE st.order_id = i.order_id "
                    "AND st.status = 'SETTLED')"
                )
            )
        ).scalar_one()
        clearing = await journal.balance_of(s, org.id, ledger.account(AccountKind.SALES_CLEARING, "EUR"))
        assert clearing == -unsettled
