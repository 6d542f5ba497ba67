"""The ledger's pure rules and its money model: balanced entries only, reversals, and a
Hypothesis model of orders, payments, partial payments, refunds and settlements."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.finance import ledger
from subgraphs.finance.ledger import AccountKind, Entry, EntryKind, Journal, LedgerError, Line
from subgraphs.finance.money import from_minor
from subgraphs.finance.sharing import DEFAULT_RULE, split

EUR = "EUR"
BUYER, SUPPLIER, L1 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_unbalanced_and_malformed_entries_are_refused() -> None:
    cash = ledger.account(AccountKind.CASH, EUR)
    rev = ledger.account(AccountKind.PLATFORM_REVENUE, EUR)
    with pytest.raises(LedgerError, match="unbalanced"):
        Entry(
            EntryKind.PAYMENT_RECEIVED,
            EUR,
            (ledger.debit(cash, Decimal("1.00")), ledger.credit(rev, Decimal("0.99"))),
        )
    with pytest.raises(LedgerError, match="two lines"):
        Entry(EntryKind.PAYMENT_RECEIVED, EUR, (ledger.debit(cash, Decimal("1.00")),))
    with pytest.raises(LedgerError, match="minor units"):
        Entry(
            EntryKind.PAYMENT_RECEIVED,
            EUR,
            (ledger.debit(cash, Decimal("1.001")), ledger.credit(rev, Decimal("1.001"))),
        )
    with pytest.raises(LedgerError, match="either a debit or a credit"):
        Entry(
            EntryKind.PAYMENT_RECEIVED,
            EUR,
            (Line(cash, Decimal(1), Decimal(1)), ledger.credit(rev, Decimal(0))),
        )
    with pytest.raises(LedgerError, match="currency"):
        Entry(
            EntryKind.PAYMENT_RECEIVED,
            EUR,
            (
                ledger.debit(ledger.account(AccountKind.CASH, "USD"), Decimal(1)),
                ledger.credit(rev, Decimal(1)),
            ),
        )
    with pytest.raises(LedgerError, match="party"):
        ledger.account(AccountKind.BUYER_RECEIVABLE, EUR)


def test_reversal_cancels_an_entry() -> None:
    journal = Journal()
    entry = journal.post(ledger.invoice_issued(uuid.uuid4(), BUYER, Decimal("42.10"), EUR))
    journal.post(ledger.reversal(entry))
    assert all(v == 0 for v in journal.balances().values())
    assert journal.entries[1].reverses == entry.id


# One step of a random business history: (kind, order index, amount in cents)
steps = st.lists(
    st.tuples(
        st.sampled_from(["order", "pay", "refund", "settle", "payout"]),
        st.integers(0, 4),
        st.integers(1, 1_000_000),
    ),
    max_size=40,
)


def apply_history(history: list[tuple[str, int, int]]) -> Journal:
    """Drive the journal the way the finance services do, with their guards (no overpaid refunds,
    one settlement per order, payouts only of what is owed)."""
    journal = Journal()
    orders: dict[int, dict[str, object]] = {}
    for kind, index, cents in history:
        amount = from_minor(cents, EUR)
        order = orders.get(index)
        if kind == "order" and order is None:
            order_id = uuid.uuid4()
            journal.post(ledger.invoice_issued(order_id, BUYER, amount, EUR))
            orders[index] = {
                "id": order_id,
                "total": amount,
                "paid": Decimal(0),
                "refunded": Decimal(0),
                "settled": False,
            }
        elif order is None:
            continue
        elif kind == "pay":
            journal.post(ledger.payment_received(order["id"], BUYER, amount, EUR))  # type: ignore[arg-type]
            order["paid"] = order["paid"] + amount  # type: ignore[operator]
        elif kind == "refund":
            refundable = order["paid"] - order["refunded"]  # type: ignore[operator]
            amount = min(amount, refundable)
            if amount > 0:
                journal.post(ledger.refund_paid(order["id"], BUYER, amount, EUR, invoiced=True))  # type: ignore[arg-type]
                order["refunded"] = order["refunded"] + amount  # type: ignore[operator]
        elif kind == "settle" and not order["settled"]:
            refunded = min(order["refunded"], order["total"])  # type: ignore[type-var]
            net = order["total"] - refunded  # type: ignore[operator]
            shares = split(net, EUR, DEFAULT_RULE)
            parts = ledger.SettlementParts(
                shares.platform,
                shares.supplier,
                shares.level1,
                shares.level2,
                shares.rounding,
                SUPPLIER,
                L1,
                None,
            )
            if net > 0 or refunded > 0:
                journal.post(ledger.settlement(order["id"], parts, EUR, refunded=refunded))  # type: ignore[arg-type]
            order["settled"] = True
        elif kind == "payout":
            owed = -journal.balance(ledger.account(AccountKind.SUPPLIER_PAYABLE, EUR, SUPPLIER))
            if owed > 0:
                journal.post(
                    ledger.payout(None, AccountKind.SUPPLIER_PAYABLE, SUPPLIER, min(owed, amount), EUR)
                )
    return journal


@settings(max_examples=300, deadline=None)
@given(steps)
def test_any_history_keeps_double_entry(history: list[tuple[str, int, int]]) -> None:
    journal = apply_history(history)
    for entry in journal.entries:
        assert ledger.lines_total(entry.lines) == 0
    balances = journal.balances()
    assert all(v == 0 for v in ledger.trial_balance(balances).values())
    for ref, value in balances.items():
        assert value == sum(line.signed for e in journal.entries for line in e.lines if line.account == ref)
    # Clearing never holds more than what is invoiced and not yet settled; payables never go negative.
    assert -journal.balance(ledger.account(AccountKind.SUPPLIER_PAYABLE, EUR, SUPPLIER)) >= 0
