"""Returns, product-line sharing and consolidated invoices on PostgreSQL: invoices carry the
prices orders sent; a return before settlement is netted out of the shares, a return after it
is clawed back from the parties pro rata and paid back if the buyer had paid; a buyer invoiced
per month gets one invoice for its NET orders; and a Hypothesis history of orders, payments,
deliveries, settlements and returns keeps every entry balanced and the trial balance at zero."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from shared.db import Database, utcnow
from shared.errors import UserInputError
from shared.events import EventEnvelope
from subgraphs.finance import consolidation, credit, invoices, journal, ledger, payments, settlement
from subgraphs.finance.ledger import AccountKind
from subgraphs.finance.models import CreditNoteRow, InvoiceRow, SettlementRow
from subgraphs.finance.sharing import SharingRule
from subgraphs.finance.terms import InvoicePeriod, Terms
from tests.subgraphs.finance.helpers import Org, deliver, outbox, transition

D = Decimal
TOOLS = str(uuid.uuid4())  # a catalog category: the product line with its own rule


def placed_lines(org: Org, lines: list[tuple[int, str, str | None]], currency: str = "EUR") -> EventEnvelope:
    """orders.placed as orders sends it: (quantity, unit price, category) per line."""
    order_id = uuid.uuid4()
    rows = [
        {
            "line_id": str(uuid.uuid4()),
            "sku_id": str(uuid.uuid4()),
            "quantity": q,
            "unit_price": price,
            "line_total": format(D(price) * q, "f"),
            "sku_code": f"SKU-{i}",
            "product_name": f"Product {i}",
            "category_id": category,
        }
        for i, (q, price, category) in enumerate(lines)
    ]
    total = sum((D(r["line_total"]) for r in rows), D(0))
    return EventEnvelope.new(
        "orders",
        "placed",
        tenant_id=org.id,
        subject_id=order_id,
        data={
            "order_id": str(order_id),
            "purchase_id": str(uuid.uuid4()),
            "number": f"O-{order_id.hex[:8].upper()}",
            "buyer_organization_id": str(org.unit),
            "seller_organization_id": str(org.seller),
            "placed_by": None,
            "currency": currency,
            "total": format(total, "f"),
            "delivery": None,
            "lines": rows,
            "reserve_for_seconds": None,
        },
    )


def return_event(org: Org, order_id: uuid.UUID, lines: list[tuple[str, int]]) -> EventEnvelope:
    return EventEnvelope.new(
        "orders",
        "return_refund_requested",
        tenant_id=org.id,
        subject_id=order_id,
        data={
            "return_id": str(uuid.uuid4()),
            "order_id": str(order_id),
            "state": "refund_requested",
            "lines": [{"order_line_id": lid, "quantity": q, "reason": "damaged"} for lid, q in lines],
        },
    )


async def _net30(db: Database, org: Org) -> None:
    async with db.tenant_session(org.id) as s:
        await credit.set_terms(s, org.id, org.company, Terms.NET_30)
        await credit.set_credit_limit(s, org.id, org.company, "EUR", D("1000000.00"))
        await credit.set_distributors(s, org.id, org.company, org.dist1, None)
        await settlement.set_settlement_delay(s, org.id, 0)


async def _confirm(db: Database, org: Org, event: EventEnvelope) -> uuid.UUID:
    order_id = uuid.UUID(event.data["order_id"])
    await deliver(db, event)
    await deliver(db, transition(org, order_id, "reserved"))
    await deliver(db, transition(org, order_id, "confirmed", "reserved"))
    return order_id


async def _balances(db: Database, org: Org) -> dict[tuple[AccountKind, uuid.UUID | None], D]:
    async with db.tenant_session(org.id) as s:
        return {(b.ref.kind, b.ref.party_id): b.balance for b in await journal.balances(s)}


async def _assert_sound(db: Database, org: Org) -> None:
    async with db.tenant_session(org.id) as s:
        assert all(v == 0 for v in (await journal.trial_balance(s)).values())
        bad = (
            await s.execute(
                text(
                    "SELECT entry_id FROM finance.journal_lines GROUP BY entry_id "
                    "HAVING sum(debit) <> sum(credit) OR count(*) < 2"
                )
            )
        ).all()
        assert bad == []


async def test_invoice_lines_and_a_return_before_settlement(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    await _net30(finance_db, org)
    async with finance_db.tenant_session(org.id) as s:
        tools = SharingRule(D(10), D(70), D(10), D(10))
        await settlement.set_product_line_rule(s, org.id, TOOLS, tools)
    event = placed_lines(org, [(4, "25.00", TOOLS), (2, "50.00", None)])
    order_id = await _confirm(finance_db, org, event)
    async with finance_db.tenant_session(org.id) as s:
        invoice = await invoices.for_order(s, order_id)
        assert invoice is not None and invoice.total == D("200.00")
        first = invoice.lines[0]
        assert (first["unit_price"], first["line_total"], first["product_name"]) == (
            "25.00",
            "100.00",
            "Product 0",
        )
        assert first["product_line"] == TOOLS
        order = await credit.lock_order(s, order_id)
        assert order is not None
        preview = await settlement.earnings(s, order)
        # tools line 100.00 at 10/70/10/10, the other 100.00 at the default 5/60/20/15
        assert (preview.shares.platform, preview.shares.supplier, preview.shares.level1) == (
            D("15.00"),
            D("130.00"),
            D("30.00"),
        )
    await deliver(finance_db, transition(org, order_id, "delivered", "shipped"))
    tools_line = event.data["lines"][0]["line_id"]
    back = return_event(org, order_id, [(tools_line, 1)])
    assert await deliver(finance_db, back)
    assert not await deliver(finance_db, back)  # replayed: nothing more
    async with finance_db.tenant_session(org.id) as s:
        notes = list(
            (await s.execute(select(CreditNoteRow).where(CreditNoteRow.order_id == order_id))).scalars()
        )
        assert [(n.amount, n.cash_refund, n.clawback) for n in notes] == [(D("25.00"), D(0), D(0))]
        invoice = await invoices.for_order(s, order_id)
        assert invoice is not None and (invoice.credited, invoice.payable) == (D("25.00"), D("175.00"))
        assert await credit.exposure(s, org.company, "EUR") == D("175.00")
        await settlement.sweep_due(s, utcnow() + timedelta(seconds=1))
        row = (await s.execute(select(SettlementRow).where(SettlementRow.order_id == order_id))).scalar_one()
        # tools line now 75.00 (10/70/10/10), the other 100.00 (5/60/20/15); no level-2 shop
        assert row.amount == D("175.00")
        assert row.shares is not None
        assert (row.shares["supplier"], row.shares["level1"], row.shares["platform"]) == (
            "112.50",
            "27.50",
            "12.50",
        )
    balances = await _balances(finance_db, org)
    assert balances[(AccountKind.SALES_CLEARING, None)] == 0
    assert balances[(AccountKind.REFUNDS, None)] == 0
    assert balances[(AccountKind.BUYER_RECEIVABLE, org.unit)] == D("175.00")
    await _assert_sound(finance_db, org)
    kinds = [e["type"] for e in await outbox(finance_db, org.id)]
    assert kinds.count("finance.credit_note_issued") == 1


async def test_a_return_after_settlement_is_clawed_back_and_paid_back(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    await _net30(finance_db, org)
    event = placed_lines(org, [(10, "10.00", None)])
    order_id = await _confirm(finance_db, org, event)
    async with finance_db.tenant_session(org.id) as s:
        await payments.record_payment(s, org.id, order_id, D("100.00"), "EUR", method="BANK_TRANSFER")
    await deliver(finance_db, transition(org, order_id, "delivered", "shipped"))
    async with finance_db.tenant_session(org.id) as s:
        assert len(await settlement.sweep_due(s, utcnow() + timedelta(seconds=1))) == 1
    line = event.data["lines"][0]["line_id"]
    await deliver(finance_db, return_event(org, order_id, [(line, 3)]))
    async with finance_db.tenant_session(org.id) as s:
        note = (await s.execute(select(CreditNoteRow).where(CreditNoteRow.order_id == order_id))).scalar_one()
        assert (note.amount, note.cash_refund, note.clawback) == (D("30.00"), D("30.00"), D("30.00"))
        invoice = await invoices.for_order(s, order_id)
        assert invoice is not None and invoice.status == "PAID" and invoice.paid == D("70.00")
    balances = await _balances(finance_db, org)
    # Settled 100.00 as 5 / 60 / 20 (level 1) / 15 (no level 2: platform); paid out at once.
    # The return takes 30 % of each back: the supplier owes 18.00, the distributor 6.00.
    assert balances[(AccountKind.SUPPLIER_PAYABLE, org.seller)] == D("18.00")
    assert balances[(AccountKind.DISTRIBUTOR_COMMISSION, org.dist1)] == D("6.00")
    assert balances[(AccountKind.PLATFORM_REVENUE, None)] == D("-14.00")
    assert balances[(AccountKind.REFUNDS, None)] == 0
    assert balances[(AccountKind.BUYER_RECEIVABLE, org.unit)] == 0
    await _assert_sound(finance_db, org)
    # The rest comes back too: exactly the line, never more.
    await deliver(finance_db, return_event(org, order_id, [(line, 7)]))
    await deliver(finance_db, return_event(org, order_id, [(line, 1)]))  # nothing left to credit
    async with finance_db.tenant_session(org.id) as s:
        notes = (await s.execute(select(CreditNoteRow).where(CreditNoteRow.order_id == order_id))).scalars()
        assert sum(n.amount for n in notes) == D("100.00")
        assert await credit.net_paid(s, order_id) == 0
    await _assert_sound(finance_db, org)


async def test_monthly_buyer_gets_one_consolidated_invoice(finance_db: Database) -> None:
    org = await Org(finance_db).setup()
    await _net30(finance_db, org)
    async with finance_db.tenant_session(org.id) as s:
        await credit.set_invoice_period(s, org.id, org.company, InvoicePeriod.MONTH)  # the unit inherits
        assert (await credit.profile(s, org.unit)).invoice_period is InvoicePeriod.MONTH
    a = await _confirm(finance_db, org, placed_lines(org, [(1, "40.00", None)]))
    b = await _confirm(finance_db, org, placed_lines(org, [(2, "30.00", None)]))
    async with finance_db.tenant_session(org.id) as s:
        ia, ib = await invoices.for_order(s, a), await invoices.for_order(s, b)
        assert ia is not None and ib is not None
        assert ia.consolidated_id is not None and ia.consolidated_id == ib.consolidated_id
        cid = ia.consolidated_id
        start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        assert ia.due_at == ib.due_at and ia.due_at >= start + timedelta(days=28 + 30)
        with pytest.raises(UserInputError):
            await payments.pay_consolidated(s, org.id, cid, D("100.01"), "EUR")
    async with finance_db.tenant_session(org.id) as s:
        closed = await consolidation.close_due(s, utcnow() + timedelta(days=32))
        assert [c.id for c in closed] == [cid]
        assert closed[0].status == "ISSUED" and closed[0].total == D("100.00")
    async with finance_db.tenant_session(org.id) as s:
        paid = await payments.pay_consolidated(s, org.id, cid, D("50.00"), "EUR", reference="BANK-1")
        assert [(p.order_id, p.amount) for p in paid] == [(a, D("40.00")), (b, D("10.00"))]
        row = await s.get(consolidation.ConsolidatedInvoiceRow, cid)
        assert row is not None
        s1 = consolidation.standing(row, await consolidation.members(s, cid))
        assert (s1.status, s1.paid, s1.outstanding) == ("PARTIALLY_PAID", D("50.00"), D("50.00"))
        await payments.pay_consolidated(s, org.id, cid, D("50.00"), "EUR")
        s2 = consolidation.standing(row, await consolidation.members(s, cid))
        assert s2.status == "PAID"
    # Prepaid orders of the same buyer are invoiced on their own.
    other = await Org(finance_db).setup()
    async with finance_db.tenant_session(other.id) as s:
        await credit.set_invoice_period(s, other.id, other.company, InvoicePeriod.WEEK)
    event = placed_lines(other, [(1, "5.00", None)])
    await deliver(finance_db, event)
    async with finance_db.tenant_session(other.id) as s:
        await payments.record_payment(
            s, other.id, uuid.UUID(event.data["order_id"]), D("5.00"), "EUR", method="BANK_TRANSFER"
        )
    order_id = await _confirm(finance_db, other, event)
    async with finance_db.tenant_session(other.id) as s:
        single = await invoices.for_order(s, order_id)
        assert single is not None and single.consolidated_id is None and single.number.startswith("INV-")
    kinds = [e["type"] for e in await outbox(finance_db, org.id)]
    assert kinds.count("finance.consolidated_invoice_issued") == 1
    await _assert_sound(finance_db, org)


history = st.lists(
    st.tuples(
        st.sampled_from(["order", "pay", "refund", "deliver", "settle", "return"]),
        st.integers(0, 2),
        st.integers(1, 30_000),
    ),
    min_size=1,
    max_size=16,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=history)
async def test_any_history_with_returns_stays_balanced(
    finance_db: Database, steps: list[tuple[str, int, int]]
) -> None:
    org = await Org(finance_db).setup()
    await _net30(finance_db, org)
    async with finance_db.tenant_session(org.id) as s:
        await settlement.set_product_line_rule(
            s, org.id, TOOLS, SharingRule(D("7.5"), D("62.5"), D(20), D(10))
        )
    orders: dict[int, tuple[uuid.UUID, list[dict[str, Any]]]] = {}
    delivered: set[uuid.UUID] = set()
    for kind, index, n in steps:
        known = orders.get(index)
        if kind == "order" and known is None:
            event = placed_lines(
                org, [(1 + n % 5, f"{n % 997 + 1}.{n % 100:02d}", TOOLS), (1 + n % 3, "3.33", None)]
            )
            orders[index] = (await _confirm(finance_db, org, event), event.data["lines"])
        elif known is None:
            continue
        else:
            order_id, lines = known
            async with finance_db.tenant_session(org.id) as s:
                if kind == "pay":
                    await payments.record_payment(
                        s, org.id, order_id, D(n).scaleb(-2), "EUR", method="BANK_TRANSFER"
                    )
                elif kind == "refund":
                    refundable = await credit.net_paid(s, order_id)
                    if refundable > 0:
                        await payments.record_refund(
                            s, org.id, order_id, min(D(n).scaleb(-2), refundable), "EUR"
                        )
                elif kind == "settle":
                    await settlement.sweep_due(s, utcnow() + timedelta(seconds=1))
            if kind == "deliver":
                await deliver(finance_db, transition(org, order_id, "delivered", "shipped"))
                delivered.add(order_id)
            elif kind == "return" and order_id in delivered:
                line = lines[n % len(lines)]
                await deliver(finance_db, return_event(org, order_id, [(line["line_id"], 1 + n % 3)]))
    await _assert_sound(finance_db, org)
    async with finance_db.tenant_session(org.id) as s:
        for b in await journal.balances(s):
            lines_sum = (
                await s.execute(
                    text(
                        "SELECT COALESCE(sum(debit - credit), 0) FROM finance.journal_lines "
                        "WHERE account_id = :a"
                    ),
                    {"a": b.account_id},
                )
            ).scalar_one()
            assert b.balance == lines_sum
        # Every settlement shared exactly the net sale; credit notes never exceed their invoice.
        for row in (
            await s.execute(select(SettlementRow).where(SettlementRow.status == "SETTLED"))
        ).scalars():
            assert row.shares is not None and row.amount is not None
            parts = sum(D(row.shares[k]) for k in ("platform", "supplier", "level1", "level2", "rounding"))
            assert parts == row.amount
        for inv in (await s.execute(select(InvoiceRow))).scalars():
            assert 0 <= inv.credited <= inv.total
        clearing = await journal.balance_of(s, org.id, ledger.account(AccountKind.SALES_CLEARING, "EUR"))
        unsettled = (
            await s.execute(
                text(
                    "SELECT COALESCE(sum(i.total), 0) FROM finance.invoices i WHERE i.status <> 'VOID' "
                    "AND NOT EXISTS (SELECT 1 FROM finance.settlements st WHERE st.order_id = i.order_id "
                    "AND st.status = 'SETTLED')"
                )
            )
        ).scalar_one()
        assert clearing == -unsettled


def test_period_bounds() -> None:
    from subgraphs.finance.terms import period_bounds

    at = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert period_bounds(InvoicePeriod.MONTH, at) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert period_bounds(InvoicePeriod.WEEK, at) == (
        datetime(2026, 12, 28, tzinfo=UTC),
        datetime(2027, 1, 4, tzinfo=UTC),
    )
