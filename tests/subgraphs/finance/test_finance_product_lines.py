"""Sharing rules per product line and the entries of returns, as pure rules (Hypothesis): a sale
split line by line by each line's rule sums to the sale, every entry built from it balances,
and a return's credit note and clawback balance and split exactly."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.finance import ledger
from subgraphs.finance.ledger import AccountKind
from subgraphs.finance.models import OrderRow, SettlementRow
from subgraphs.finance.money import from_minor
from subgraphs.finance.returns import clawback_parts, returned_values
from subgraphs.finance.settlement import line_values, rule_for
from subgraphs.finance.sharing import DEFAULT_RULE, RemainderPolicy, SharingRule, allocate, split, split_lines

CURRENCIES = ["EUR", "JPY", "KWD"]


@st.composite
def rules(draw: st.DrawFn) -> SharingRule:
    a, b, c = sorted(draw(st.lists(st.integers(0, 1_000_000), min_size=3, max_size=3)))
    parts = [a, b - a, c - b, 1_000_000 - c]  # in 1/10000 of a percent
    policy = draw(st.sampled_from(list(RemainderPolicy)))
    return SharingRule(*(Decimal(p).scaleb(-4) for p in parts), remainder_policy=policy)


def test_precedence_product_line_over_tenant_default() -> None:
    tools = SharingRule(Decimal(10), Decimal(70), Decimal(10), Decimal(10))
    tenant = SharingRule(Decimal(8), Decimal(62), Decimal(15), Decimal(15))
    by_line = {"tools": tools}
    assert rule_for("tools", by_line, tenant) is tools
    assert rule_for("gloves", by_line, tenant) is tenant
    assert rule_for(None, by_line, tenant) is tenant
    # Two lines of 100.00: one by its product line's rule, one by the tenant's.
    shares = split_lines([(Decimal("100.00"), tools), (Decimal("100.00"), DEFAULT_RULE)], "EUR")
    assert (shares.platform, shares.supplier, shares.level1, shares.level2) == (
        Decimal("15.00"),
        Decimal("130.00"),
        Decimal("30.00"),
        Decimal("25.00"),
    )


def test_allocate_is_exact_and_proportional() -> None:
    assert allocate(Decimal("10.00"), [Decimal(1), Decimal(1), Decimal(1)], "EUR") == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    assert allocate(Decimal("0.00"), [Decimal(0), Decimal(0)], "EUR") == [Decimal("0.00")] * 2
    assert allocate(Decimal(7), [Decimal(0), Decimal(0)], "JPY") == [Decimal(4), Decimal(3)]


def _order(currency: str, lines: list[tuple[int, int, str | None]]) -> OrderRow:
    """An order of (quantity, line total in minor units, product line) lines."""
    rows = [
        {
            "line_id": str(uuid.uuid4()),
            "sku_id": str(uuid.uuid4()),
            "quantity": q,
            "line_total": format(from_minor(t, currency), "f"),
            "product_line": pl,
        }
        for q, t, pl in lines
    ]
    total = sum((from_minor(t, currency) for _, t, _ in lines), from_minor(0, currency))
    return OrderRow(
        tenant_id=uuid.uuid4(),
        id=uuid.uuid4(),
        number="O-1",
        buyer_organization_id=uuid.uuid4(),
        seller_organization_id=uuid.uuid4(),
        currency=currency,
        total=total,
        lines=rows,
        status="DELIVERED",
    )


line_st = st.tuples(st.integers(1, 40), st.integers(0, 10**9), st.sampled_from([None, "a", "b", "c"]))


@settings(max_examples=2_000, deadline=None)
@given(
    lines=st.lists(line_st, min_size=1, max_size=6),
    line_rules=st.dictionaries(st.sampled_from(["a", "b", "c"]), rules(), max_size=3),
    default=rules(),
    currency=st.sampled_from(CURRENCIES),
    distributors=st.sampled_from([(True, True), (True, False), (False, False)]),
)
def test_any_sale_by_product_lines_splits_exactly_and_settles_balanced(
    lines: list[tuple[int, int, str | None]],
    line_rules: dict[str, SharingRule],
    default: SharingRule,
    currency: str,
    distributors: tuple[bool, bool],
) -> None:
    order = _order(currency, lines)
    values = line_values(order, order.total)
    assert sum(values) == order.total  # every line's part of the invoice, exactly
    parts = [
        (v, rule_for(li["product_line"], line_rules, default))
        for v, li in zip(values, order.lines, strict=True)
    ]
    shares = split_lines(parts, currency)
    assert shares.total == order.total  # the shares sum to the sale
    for v, rule in parts:  # and each line's split is its rule's
        assert split(v, currency, rule).total == v
    level1 = uuid.uuid4() if distributors[0] else None
    level2 = uuid.uuid4() if distributors[1] else None
    entry = (
        ledger.settlement(
            order.id,
            ledger.SettlementParts(
                shares.platform,
                shares.supplier,
                shares.level1,
                shares.level2,
                shares.rounding,
                order.seller_organization_id,
                level1,
                level2,
            ),
            currency,
        )
        if order.total > 0
        else None
    )
    if entry is not None:
        ledger.validate(entry)  # balanced, one currency, whole minor units
        assert entry.total == order.total


@settings(max_examples=2_000, deadline=None)
@given(
    lines=st.lists(line_st, min_size=1, max_size=5),
    returns=st.lists(st.tuples(st.integers(0, 4), st.integers(1, 40)), min_size=1, max_size=6),
    default=rules(),
    currency=st.sampled_from(CURRENCIES),
)
def test_returns_credit_at_most_the_line_and_clawbacks_balance(
    lines: list[tuple[int, int, str | None]],
    returns: list[tuple[int, int]],
    default: SharingRule,
    currency: str,
) -> None:
    order = _order(currency, lines)
    values = line_values(order, order.total)
    before: dict[str, int] = {}
    credited: dict[str, Decimal] = {}
    settled = SettlementRow(
        id=uuid.uuid4(), tenant_id=order.tenant_id, order_id=order.id, currency=currency, status="SETTLED"
    )
    s = split(order.total, currency, default)
    settled.amount = order.total
    settled.shares = {
        "platform": str(s.platform),
        "supplier": str(s.supplier),
        "level1": str(s.level1),
        "level2": str(s.level2),
        "rounding": str(s.rounding),
        "supplier_id": str(order.seller_organization_id),
        "level1_id": str(uuid.uuid4()),
        "level2_id": None,
    }
    for index, qty in returns:
        if index >= len(order.lines):
            continue
        key = order.lines[index]["line_id"]
        got = returned_values(order, values, before, {key: qty})
        for line in got:
            before[line["order_line_id"]] = before.get(line["order_line_id"], 0) + line["quantity"]
            credited[line["order_line_id"]] = credited.get(line["order_line_id"], Decimal(0)) + Decimal(
                line["amount"]
            )
        amount = sum((Decimal(line["amount"]) for line in got), Decimal(0))
        if amount <= 0:
            continue
        buyer = order.buyer_organization_id
        ledger.validate(ledger.credit_note(order.id, buyer, amount, currency, "CN-1"))
        parts = clawback_parts(settled, amount, currency)
        assert sum(p for _, p in parts) == amount  # the clawback takes back exactly the return
        entry = ledger.shares_reversed(order.id, parts, currency)
        ledger.validate(entry)
        assert {ref.kind for ref, _ in parts} <= {
            AccountKind.SUPPLIER_PAYABLE,
            AccountKind.DISTRIBUTOR_COMMISSION,
            AccountKind.PLATFORM_REVENUE,
            AccountKind.ROUNDING,
        }
    for line, value in zip(order.lines, values, strict=True):
        key = line["line_id"]
        assert credited.get(key, Decimal(0)) <= value  # never more than the line was worth
        if before.get(key, 0) >= line["quantity"]:
            assert credited.get(key, Decimal(0)) == value  # every unit back: the whole line
