"""The saga's finance seam on PostgreSQL: terms inherited down the tree, credit within and over
the limit, hold -> release / decline, prepaid waits for money, invoices and settlement; and a
contention test: concurrent decisions on one credit line never pass the limit together."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from shared.db import Database, utcnow
from subgraphs.finance import credit, invoices, journal, ledger, payments, settlement
from subgraphs.finance.ledger import AccountKind
from subgraphs.finance.models import OrderRow, SettlementRow
from subgraphs.finance.terms import Terms
from tests.subgraphs.finance.helpers import Org, deliver, oid, outbox, placed, transition


async def _status(db: Database, org: Org, order_id: object) -> str:
    async with db.tenant_session(org.id) as s:
        row = await s.get(OrderRow, (org.id, order_id))
        assert row is not None
        return row.status


async def test_credit_within_limit_then_over_limit_held_released_and_declined(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_30)  # the unit inherits it
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("1000.00"))
        assert (await credit.profile(s, org.unit)).terms is Terms.NET_30

    first = placed(org, "600.00")
    assert await deliver(finance_db, first)
    assert not await deliver(finance_db, first)  # replay: skipped
    await deliver(finance_db, transition(org, oid(first), "reserved"))
    assert await _status(finance_db, org, oid(first)) == "AUTHORIZED"
    await deliver(finance_db, transition(org, oid(first), "reserved"))  # another reserved: no change

    second = placed(org, "500.00")
    await deliver(finance_db, second)
    await deliver(finance_db, transition(org, oid(second), "reserved"))
    assert await _status(finance_db, org, oid(second)) == "HELD"
    third = placed(org, "450.00")
    await deliver(finance_db, third)
    await deliver(finance_db, transition(org, oid(third), "reserved"))
    assert await _status(finance_db, org, oid(third)) == "HELD"

    async with finance_db.tenant_session(org.id) as s:
        await credit.release_hold(s, oid(second), None)
    async with finance_db.tenant_session(org.id) as s:
        await credit.decline_hold(s, oid(third), None, "too much")
        assert await credit.exposure(s, org.company, "EUR") == Decimal("1100.00")

    events = await outbox(finance_db, org.id)
    kinds = [(e["type"], e["order_id"]) for e in events]
    assert kinds == [
        ("finance.payment_authorized", str(oid(first))),
        ("finance.credit_hold", str(oid(second))),
        ("finance.credit_hold", str(oid(third))),
        ("finance.credit_approved", str(oid(second))),
        ("finance.payment_authorized", str(oid(second))),
        ("finance.payment_declined", str(oid(third))),
    ]
    hold = events[1]
    assert (hold["amount"], hold["exposure"], hold["credit_limit"]) == ("500.00", "600.00", "1000.00")
    assert events[0]["method"] == "credit" and events[0]["amount"] == "600.00"
    assert events[5]["reason"] == "too much"


async def test_prepaid_waits_for_money_then_invoice_is_paid(finance_db: Database) -> None:
    org = await Org(finance_db).setup()  # no terms set anywhere: PREPAID
    event = placed(org, "99.90")
    await deliver(finance_db, event)
    await deliver(finance_db, transition(org, oid(event), "reserved"))
    assert await _status(finance_db, org, oid(event)) == "AWAITING_PAYMENT"
    async with finance_db.tenant_session(org.id) as s:
        await payments.record_payment(s, org.id, oid(event), Decimal("50.00"), "EUR", method="BANK_TRANSFER")
    assert await _status(finance_db, org, oid(event)) == "AWAITING_PAYMENT"
    async with finance_db.tenant_session(org.id) as s:
        await payments.record_payment(s, org.id, oid(event), Decimal("49.90"), "EUR", method="BANK_TRANSFER")
    assert await _status(finance_db, org, oid(event)) == "AUTHORIZED"
    await deliver(finance_db, transition(org, oid(event), "confirmed", "reserved"))
    async with finance_db.tenant_session(org.id) as s:
        invoice = await invoices.for_order(s, oid(event))
        assert invoice is not None and invoice.status == "PAID" and invoice.due_at == invoice.issued_at
        receivable = ledger.account(AccountKind.BUYER_RECEIVABLE, "EUR", org.unit)
        assert await journal.balance_of(s, org.id, receivable) == 0
    types = [e["type"] for e in await outbox(finance_db, org.id)]
    assert types == [
        "finance.payment_captured",
        "finance.payment_captured",
        "finance.payment_authorized",
        "finance.invoice_issued",
        "finance.invoice_paid",
    ]


async def test_net_terms_invoice_overdue_partial_payment_settlement(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.unit, Terms.NET_15)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("5000.00"))
        await credit.set_distributors(s, org.id, org.company, org.dist1, None)
        await settlement.set_settlement_delay(s, org.id, 60)
    event = placed(org, "100.00")
    await deliver(finance_db, event)
    await deliver(finance_db, transition(org, oid(event), "reserved"))
    await deliver(finance_db, transition(org, oid(event), "confirmed", "reserved"))
    async with finance_db.tenant_session(org.id) as s:
        invoice = await invoices.for_order(s, oid(event))
        assert invoice is not None and invoice.status == "ISSUED"
        assert invoice.due_at - invoice.issued_at == timedelta(days=15)
        assert await credit.exposure(s, org.company, "EUR") == Decimal("100.00")
        assert [i.order_id for i in await invoices.sweep_overdue(s, utcnow() + timedelta(days=16))] == [
            oid(event)
        ]
    async with finance_db.tenant_session(org.id) as s:
        await payments.record_payment(s, org.id, oid(event), Decimal("30.00"), "EUR", method="BANK_TRANSFER")
        invoice = await invoices.for_order(s, oid(event))
        assert invoice is not None and invoice.status == "OVERDUE" and invoice.paid == Decimal("30.00")
        assert await credit.exposure(s, org.company, "EUR") == Decimal("70.00")
    async with finance_db.tenant_session(org.id) as s:
        await payments.record_payment(s, org.id, oid(event), Decimal("70.00"), "EUR", method="BANK_TRANSFER")
        invoice = await invoices.for_order(s, oid(event))
        assert invoice is not None and invoice.status == "PAID"
    await deliver(finance_db, transition(org, oid(event), "delivered", "shipped"))
    async with finance_db.tenant_session(org.id) as s:
        assert await settlement.sweep_due(s, utcnow()) == []  # not yet: T+60 s
        done = await settlement.sweep_due(s, utcnow() + timedelta(seconds=61))
        assert [d.order_id for d in done] == [oid(event)]
    async with finance_db.tenant_session(org.id) as s:
        row = (await s.execute(SettlementRow.__table__.select())).first()
        assert row is not None and row.status == "SETTLED"
        # 5 % platform + 15 % level 2 (no level-2 shop) = 20.00; supplier 60.00; level 1 20.00.
        assert await journal.balance_of(
            s, org.id, ledger.account(AccountKind.PLATFORM_REVENUE, "EUR")
        ) == Decimal("-20.00")
        for kind, party in (
            (AccountKind.SUPPLIER_PAYABLE, org.seller),
            (AccountKind.DISTRIBUTOR_COMMISSION, org.dist1),
        ):
            assert await journal.balance_of(s, org.id, ledger.account(kind, "EUR", party)) == 0  # paid out
        assert await journal.balance_of(s, org.id, ledger.account(AccountKind.CASH, "EUR")) == Decimal(
            "20.00"
        )
        assert all(v == 0 for v in (await journal.trial_balance(s)).values())
    done_event = [e for e in await outbox(finance_db, org.id) if e["type"] == "finance.settlement_done"]
    assert done_event[0]["shares"]["supplier"] == "60.00" and len(done_event[0]["payouts"]) == 2


async def test_cancel_after_invoice_voids_it_with_a_reversing_entry(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_60)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("100.00"))
    event = placed(org, "80.00")
    await deliver(finance_db, event)
    await deliver(finance_db, transition(org, oid(event), "reserved"))
    await deliver(finance_db, transition(org, oid(event), "confirmed", "reserved"))
    await deliver(finance_db, transition(org, oid(event), "cancelled", "confirmed"))
    async with finance_db.tenant_session(org.id) as s:
        invoice = await invoices.for_order(s, oid(event))
        assert invoice is not None and invoice.status == "VOID"
        assert await credit.exposure(s, org.company, "EUR") == 0
        assert all(b.balance == 0 for b in await journal.balances(s))


async def test_concurrent_decisions_never_exceed_the_limit(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_30)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", Decimal("1000.00"))
    events = [placed(org, "100.00", buyer=org.unit if i % 2 else org.company) for i in range(24)]
    for event in events:
        await deliver(finance_db, event)
    await asyncio.gather(*(deliver(finance_db, transition(org, oid(e), "reserved")) for e in events))
    statuses = [await _status(finance_db, org, oid(e)) for e in events]
    assert statuses.count("AUTHORIZED") == 10 and statuses.count("HELD") == 14
    async with finance_db.tenant_session(org.id) as s:
        assert await credit.exposure(s, org.company, "EUR") == Decimal("1000.00")
