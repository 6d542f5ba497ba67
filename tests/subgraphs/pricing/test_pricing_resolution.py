"""Price resolution precedence: tiers, hierarchy, priority, validity, breaks and quantity rules.

Pure tests over the dataclasses in `subgraphs.pricing.resolution` (the database tests in
test_pricing_api.py prove the same choices through GraphQL and PostgreSQL).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.resolution import (
    AssignmentRecord,
    LineRequest,
    PriceListKind,
    PriceListRecord,
    PriceRecord,
    PriceSource,
    PricingSnapshot,
    QuantityRule,
    QuantityRuleRecord,
    quantity_rule_for,
    resolve_cart,
    resolve_price,
    validate_quantity_rule,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SKU = uuid.UUID(int=1000)
COMPANY = uuid.UUID(int=1)  # the buyer company
UNIT = uuid.UUID(int=2)  # a business unit of COMPANY
SUBUNIT = uuid.UUID(int=3)  # a unit of UNIT
OTHER = uuid.UUID(int=9)  # an unrelated buyer
CHAIN_SUB = [SUBUNIT, UNIT, COMPANY]
CHAIN_UNIT = [UNIT, COMPANY]


@dataclass
class Builder:
    lists: list[PriceListRecord] = field(default_factory=list)
    assignments: list[AssignmentRecord] = field(default_factory=list)
    prices: list[PriceRecord] = field(default_factory=list)
    rules: list[QuantityRuleRecord] = field(default_factory=list)
    _n: int = 100

    def add(
        self,
        name: str,
        breaks: dict[int, str],
        *,
        kind: PriceListKind = PriceListKind.STANDARD,
        to: tuple[uuid.UUID, ...] = (),
        priority: int = 0,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        currency: str = "EUR",
        active: bool = True,
        sku: uuid.UUID = SKU,
    ) -> PriceListRecord:
        self._n += 1
        pl = PriceListRecord(
            uuid.UUID(int=self._n), name, currency, kind, priority, valid_from, valid_to, active
        )
        self.lists.append(pl)
        self.assignments += [AssignmentRecord(pl.id, org) for org in to]
        self.prices += [PriceRecord(pl.id, sku, q, Decimal(a)) for q, a in breaks.items()]
        return pl

    def rule(
        self, rule: QuantityRule, price_list: PriceListRecord | None = None, sku: uuid.UUID = SKU
    ) -> None:
        self.rules.append(QuantityRuleRecord(sku, price_list.id if price_list else None, rule))

    @property
    def snapshot(self) -> PricingSnapshot:
        return PricingSnapshot(self.lists, self.assignments, self.prices, self.rules)

    def price(
        self, chain: list[uuid.UUID], quantity: int = 1, currency: str = "EUR", at: datetime = NOW
    ) -> str:
        res = resolve_price(self.snapshot, chain, SKU, quantity, currency, at)
        return f"{res.price_list.name}:{res.unit_price.amount}"


def test_units_own_assignment_beats_parent_whatever_the_priority() -> None:
    b = Builder()
    b.add("company", {1: "10"}, to=(COMPANY,), priority=100)
    b.add("unit", {1: "12"}, to=(UNIT,), priority=0)
    assert b.price(CHAIN_UNIT) == "unit:12"
    assert b.price(CHAIN_SUB) == "unit:12"  # inherited from the nearest ancestor that has one
    assert b.price([COMPANY]) == "company:10"
    res = resolve_price(b.snapshot, CHAIN_SUB, SKU, 1, "EUR", NOW)
    assert (res.assigned_organization_id, res.assignment_depth, res.source) == (
        UNIT,
        1,
        PriceSource.PRICE_LIST,
    )
    assert "inherited" in res.explanation


def test_same_level_higher_priority_then_newer_schedule_then_id() -> None:
    b = Builder()
    b.add("low", {1: "10"}, to=(UNIT,), priority=1)
    b.add("high", {1: "11"}, to=(UNIT,), priority=2)
    assert b.price(CHAIN_UNIT) == "high:11"
    b = Builder()
    b.add("older", {1: "10"}, to=(UNIT,), valid_from=NOW - 10 * DAY)
    b.add("newer", {1: "11"}, to=(UNIT,), valid_from=NOW - DAY)
    b.add("open", {1: "12"}, to=(UNIT,))
    assert b.price(CHAIN_UNIT) == "newer:11"
    b = Builder()
    b.add("first", {1: "10"}, to=(UNIT,))
    b.add("second", {1: "11"}, to=(UNIT,))
    assert b.price(CHAIN_UNIT) == "first:10"


def test_validity_window_is_half_open() -> None:
    b = Builder()
    b.add("window", {1: "9"}, to=(UNIT,), priority=5, valid_from=NOW, valid_to=NOW + DAY)
    b.add("always", {1: "10"}, to=(UNIT,))
    assert b.price(CHAIN_UNIT, at=NOW) == "window:9"  # valid_from inclusive
    assert b.price(CHAIN_UNIT, at=NOW - timedelta(microseconds=1)) == "always:10"
    assert b.price(CHAIN_UNIT, at=NOW + DAY - timedelta(microseconds=1)) == "window:9"
    assert b.price(CHAIN_UNIT, at=NOW + DAY) == "always:10"  # valid_to exclusive


def test_inactive_lists_and_other_currencies_are_ignored() -> None:
    b = Builder()
    b.add("inactive", {1: "1"}, to=(UNIT,), priority=9, active=False)
    b.add("usd", {1: "2"}, to=(UNIT,), priority=9, currency="USD")
    b.add("eur", {1: "3"}, to=(UNIT,))
    assert b.price(CHAIN_UNIT) == "eur:3"
    assert b.price(CHAIN_UNIT, currency="usd") == "usd:2"
    with pytest.raises(PricingError) as err:
        b.price(CHAIN_UNIT, currency="GBP")
    assert (err.value.code, err.value.field) == (ErrorCode.NO_PRICE, "skuId")


def test_contract_beats_any_list_and_base_is_the_fallback() -> None:
    b = Builder()
    b.add("base", {1: "20"}, kind=PriceListKind.BASE, priority=99)
    b.add("unit list", {1: "15"}, to=(UNIT,))
    b.add("contract", {1: "17"}, kind=PriceListKind.CONTRACT, to=(COMPANY,))
    res = resolve_price(b.snapshot, CHAIN_UNIT, SKU, 1, "EUR", NOW)
    assert (res.source, res.price_list.name, res.unit_price.amount) == (
        PriceSource.CONTRACT,
        "contract",
        Decimal(17),
    )
    assert b.price([OTHER]) == "base:20"  # unassigned buyers get the base list
    base = resolve_price(b.snapshot, [OTHER], SKU, 1, "EUR", NOW)
    assert (base.source, base.assignment_depth, base.assigned_organization_id) == (
        PriceSource.BASE,
        None,
        None,
    )
    assert "base price list" in base.explanation


def test_lists_assigned_elsewhere_do_not_apply() -> None:
    b = Builder()
    b.add("other", {1: "1"}, to=(OTHER,), priority=99)
    b.add("subunit", {1: "2"}, to=(SUBUNIT,), priority=99)  # below the buyer: not inherited upward
    b.add("company", {1: "3"}, to=(COMPANY,))
    assert b.price(CHAIN_UNIT) == "company:3"


def test_breaks_pick_highest_min_quantity_not_above_quantity() -> None:
    b = Builder()
    b.add("list", {1: "10", 10: "9", 100: "8.5"}, to=(UNIT,))
    assert [b.price(CHAIN_UNIT, q) for q in (1, 9, 10, 99, 100, 5000)] == [
        "list:10",
        "list:10",
        "list:9",
        "list:9",
        "list:8.5",
        "list:8.5",
    ]
    res = resolve_price(b.snapshot, CHAIN_UNIT, SKU, 25, "EUR", NOW)
    assert res.break_min_quantity == 10
    assert res.line_total.amount == Decimal("225.00")


def test_list_whose_breaks_start_above_quantity_falls_through() -> None:
    b = Builder()
    b.add("bulk only", {50: "7"}, to=(UNIT,), priority=9)
    b.add("base", {1: "10"}, kind=PriceListKind.BASE)
    assert b.price(CHAIN_UNIT, 49) == "base:10"
    assert b.price(CHAIN_UNIT, 50) == "bulk only:7"


def test_quantity_rules_list_rule_beats_sku_default() -> None:
    b = Builder()
    pl = b.add("list", {1: "10"}, to=(UNIT,))
    b.add("base", {1: "11"}, kind=PriceListKind.BASE)
    b.rule(QuantityRule(minimum=12, maximum=120, increment=6), pl)
    b.rule(QuantityRule(minimum=1, maximum=None, increment=5))
    res = resolve_price(b.snapshot, CHAIN_UNIT, SKU, 18, "EUR", NOW)
    assert res.quantity_rule == QuantityRule(12, 120, 6)
    for qty, code in [
        (6, ErrorCode.QUANTITY_BELOW_MINIMUM),
        (126, ErrorCode.QUANTITY_ABOVE_MAXIMUM),
        (13, ErrorCode.QUANTITY_NOT_MULTIPLE_OF_INCREMENT),
        (0, ErrorCode.INVALID_QUANTITY),
    ]:
        with pytest.raises(PricingError) as err:
            resolve_price(b.snapshot, CHAIN_UNIT, SKU, qty, "EUR", NOW)
        assert (err.value.code, err.value.field) == (code, "quantity")
    # a buyer priced by the base list gets the SKU's default rule
    with pytest.raises(PricingError) as err:
        resolve_price(b.snapshot, [OTHER], SKU, 7, "EUR", NOW)
    assert err.value.code == ErrorCode.QUANTITY_NOT_MULTIPLE_OF_INCREMENT
    assert quantity_rule_for(b.snapshot, CHAIN_UNIT, SKU, "EUR", NOW) == QuantityRule(12, 120, 6)
    assert quantity_rule_for(b.snapshot, [OTHER], SKU, "EUR", NOW) == QuantityRule(1, None, 5)
    assert quantity_rule_for(b.snapshot, [OTHER], uuid.UUID(int=5), "EUR", NOW) == QuantityRule()


@pytest.mark.parametrize(
    ("minimum", "maximum", "increment", "field"),
    [
        (1, None, 0, "increment"),
        (0, None, 1, "minimum"),
        (5, None, 2, "minimum"),
        (4, 2, 2, "maximum"),
        (4, 9, 2, "maximum"),
    ],
)
def test_unsatisfiable_quantity_rules_are_refused(
    minimum: int, maximum: int | None, increment: int, field: str
) -> None:
    with pytest.raises(PricingError) as err:
        validate_quantity_rule(minimum, maximum, increment)
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_QUANTITY_RULE, field)
    assert validate_quantity_rule(6, 60, 3) == QuantityRule(6, 60, 3)


def test_cart_reports_each_line_independently() -> None:
    b = Builder()
    b.add("list", {1: "10", 10: "9"}, to=(UNIT,))
    b.rule(QuantityRule(minimum=2))
    missing = uuid.UUID(int=4242)
    outcomes = resolve_cart(
        b.snapshot,
        CHAIN_UNIT,
        [LineRequest(SKU, 10), LineRequest(missing, 1), LineRequest(SKU, 1), LineRequest(SKU, 3)],
        "eur",
        NOW,
    )
    assert outcomes[0].resolution is not None and outcomes[0].resolution.line_total.amount == Decimal("90.00")
    assert outcomes[1].error is not None
    assert (outcomes[1].error.code, outcomes[1].error.field) == (ErrorCode.NO_PRICE, "lines.1.skuId")
    assert outcomes[2].error is not None
    assert (outcomes[2].error.code, outcomes[2].error.field) == (
        ErrorCode.QUANTITY_BELOW_MINIMUM,
        "lines.2.quantity",
    )
    assert outcomes[3].resolution is not None and str(outcomes[3].resolution.line_total.amount) == "30.00"


# --- every combination of hierarchy, priority, validity and break --------------------------------

VALIDITY = {
    "open": (None, None),
    "current": (NOW - DAY, NOW + DAY),
    "expired": (NOW - 2 * DAY, NOW - DAY),
    "future": (NOW + DAY, NOW + 2 * DAY),
}
QUANTITIES = (1, 10, 100)


def _breaks(base: int) -> dict[int, str]:
    return {1: f"{base}", 10: f"{base - 1}", 100: f"{base - 2}"}


def _unit_price(base: int, qty: int) -> str:
    return str(base - {1: 0, 10: 1, 100: 2}[qty])


@pytest.mark.parametrize(
    ("buyer", "unit_validity", "parent_a_validity", "parent_a_priority", "contract_validity"),
    list(itertools.product(["subunit", "unit", "company"], VALIDITY, VALIDITY, [0, 5], VALIDITY)),
)
def test_every_combination(
    buyer: str, unit_validity: str, parent_a_validity: str, parent_a_priority: int, contract_validity: str
) -> None:
    """Lists: `unit` (on UNIT, priority 0), `company_a` (on COMPANY, priority 0 or 5), `company_b`
    (on COMPANY, priority 3, always valid), a contract on COMPANY, a base list. Expected result
    written from the documented rules, independently of the implementation."""
    b = Builder()
    b.add(
        "unit",
        _breaks(50),
        to=(UNIT,),
        valid_from=VALIDITY[unit_validity][0],
        valid_to=VALIDITY[unit_validity][1],
    )
    b.add(
        "company_a",
        _breaks(60),
        to=(COMPANY,),
        priority=parent_a_priority,
        valid_from=VALIDITY[parent_a_validity][0],
        valid_to=VALIDITY[parent_a_validity][1],
    )
    b.add("company_b", _breaks(70), to=(COMPANY,), priority=3)
    b.add(
        "contract",
        _breaks(40),
        kind=PriceListKind.CONTRACT,
        to=(COMPANY,),
        valid_from=VALIDITY[contract_validity][0],
        valid_to=VALIDITY[contract_validity][1],
    )
    b.add("base", _breaks(90), kind=PriceListKind.BASE, priority=100)
    chain = {"subunit": CHAIN_SUB, "unit": CHAIN_UNIT, "company": [COMPANY]}[buyer]

    def valid(name: str) -> bool:
        return name in ("open", "current")

    if valid(contract_validity):
        expected, base = "contract", 40
    elif buyer != "company" and valid(unit_validity):
        expected, base = "unit", 50
    elif valid(parent_a_validity) and parent_a_priority > 3:
        expected, base = "company_a", 60
    else:
        expected, base = "company_b", 70
    for qty in QUANTITIES:
        assert b.price(chain, qty) == f"{expected}:{_unit_price(base, qty)}"


# --- properties ---------------------------------------------------------------------------------

ORGS = [COMPANY, UNIT, SUBUNIT, OTHER]


@st.composite
def snapshots(draw: st.DrawFn) -> PricingSnapshot:
    b = Builder()
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(list(PriceListKind)))
        start = draw(st.sampled_from([None, NOW - DAY, NOW + DAY]))
        end = draw(st.sampled_from([None, NOW, NOW + 2 * DAY]))
        breaks = draw(
            st.dictionaries(st.integers(1, 50), st.integers(0, 500).map(str), min_size=1, max_size=3)
        )
        to = () if kind == PriceListKind.BASE else tuple(draw(st.sets(st.sampled_from(ORGS), max_size=2)))
        b.add(
            f"l{i}",
            breaks,
            kind=kind,
            to=to,
            priority=draw(st.integers(0, 3)),
            valid_from=start,
            valid_to=end,
            currency=draw(st.sampled_from(["EUR", "USD"])),
        )
    return b.snapshot


@settings(max_examples=300, deadline=None)
@given(snapshots(), st.sampled_from([CHAIN_SUB, CHAIN_UNIT, [COMPANY], [OTHER]]), st.integers(1, 60))
def test_chosen_price_is_never_beaten(snapshot: PricingSnapshot, chain: list[uuid.UUID], qty: int) -> None:
    """Brute force: rank every applicable (list, break) by the documented key; the winner is first."""
    depth = {org: d for d, org in enumerate(chain)}
    tier = {PriceListKind.CONTRACT: 0, PriceListKind.STANDARD: 1, PriceListKind.BASE: 2}
    ranked = []
    for pl in snapshot.price_lists:
        if pl.currency != "EUR" or not pl.valid_at(NOW):
            continue
        rows = [p for p in snapshot.prices if p.price_list_id == pl.id and p.min_quantity <= qty]
        if not rows:
            continue
        orgs = [a.organization_id for a in snapshot.assignments if a.price_list_id == pl.id]
        if pl.kind == PriceListKind.BASE:
            d = 0
        elif any(o in depth for o in orgs):
            d = min(depth[o] for o in orgs if o in depth)
        else:
            continue
        best_row = max(rows, key=lambda r: r.min_quantity)
        start = pl.valid_from.timestamp() if pl.valid_from else float("-inf")
        ranked.append(((tier[pl.kind], d, -pl.priority, -start, str(pl.id)), pl, best_row))
    ranked.sort(key=lambda t: t[0])
    try:
        res = resolve_price(snapshot, chain, SKU, qty, "EUR", NOW)
    except PricingError as exc:
        assert exc.code == ErrorCode.NO_PRICE and not ranked
        return
    assert ranked, "resolved a price where the rules give none"
    _, pl, row = ranked[0]
    assert res.price_list.id == pl.id
    assert res.unit_price.amount == row.unit_amount
    assert res.break_min_quantity == row.min_quantity
    assert res.line_total.amount == (row.unit_amount * qty).quantize(Decimal("0.01"))


@settings(max_examples=100, deadline=None)
@given(snapshots(), st.lists(st.integers(1, 60), min_size=1, max_size=8))
def test_cart_equals_line_by_line(snapshot: PricingSnapshot, quantities: list[int]) -> None:
    lines = [LineRequest(SKU, q) for q in quantities]
    outcomes = resolve_cart(snapshot, CHAIN_SUB, lines, "EUR", NOW)
    for line, outcome in zip(lines, outcomes, strict=True):
        try:
            single = resolve_price(snapshot, CHAIN_SUB, SKU, line.quantity, "EUR", NOW)
        except PricingError as exc:
            assert outcome.error is not None and outcome.error.code == exc.code
        else:
            assert outcome.resolution == single
