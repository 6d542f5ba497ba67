"""S2B2C profit sharing: the design's example exactly, and no minor unit created or lost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.finance.money import from_minor
from subgraphs.finance.sharing import DEFAULT_RULE, RemainderPolicy, SharingRule, SharingRuleError, split


def test_design_example() -> None:
    shares = split(Decimal("100.00"), "EUR", DEFAULT_RULE)
    assert (shares.platform, shares.supplier, shares.level1, shares.level2) == (
        Decimal("5.00"),
        Decimal("60.00"),
        Decimal("20.00"),
        Decimal("15.00"),
    )
    assert shares.rounding == 0 and shares.total == Decimal("100.00")


def test_largest_remainder_and_rounding_account() -> None:
    third = SharingRule(Decimal("33.3333"), Decimal("33.3334"), Decimal("33.3333"), Decimal(0))
    shares = split(Decimal("0.01"), "EUR", third)
    assert shares.supplier == Decimal("0.01") and shares.total == Decimal("0.01")
    floor = SharingRule(
        Decimal("33.3333"),
        Decimal("33.3334"),
        Decimal("33.3333"),
        Decimal(0),
        RemainderPolicy.ROUNDING_ACCOUNT,
    )
    shares = split(Decimal("10.00"), "EUR", floor)
    assert (shares.platform, shares.supplier, shares.level1, shares.rounding) == (
        Decimal("3.33"),
        Decimal("3.33"),
        Decimal("3.33"),
        Decimal("0.01"),
    )
    assert split(Decimal("1001"), "JPY", DEFAULT_RULE).total == Decimal("1001")


def test_rules_must_add_up() -> None:
    with pytest.raises(SharingRuleError):
        SharingRule(Decimal(5), Decimal(60), Decimal(20), Decimal(14))
    with pytest.raises(SharingRuleError):
        SharingRule(Decimal(-5), Decimal(70), Decimal(20), Decimal(15))


@st.composite
def rules(draw: st.DrawFn) -> SharingRule:
    cuts = sorted(draw(st.lists(st.integers(0, 1_000_000), min_size=3, max_size=3)))
    a, b, c = cuts
    parts = [a, b - a, c - b, 1_000_000 - c]  # in 1/10000 of a percent
    policy = draw(st.sampled_from(list(RemainderPolicy)))
    return SharingRule(*(Decimal(p).scaleb(-4) for p in parts), remainder_policy=policy)


@settings(max_examples=10_000, deadline=None)
@given(st.integers(0, 10**13), rules(), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_parts_always_sum_to_the_price(units: int, rule: SharingRule, currency: str) -> None:
    price = from_minor(units, currency)
    shares = split(price, currency, rule)
    assert shares.total == price
    for part, pct in ((shares.platform, rule.platform_fee), (shares.supplier, rule.supplier)):
        assert abs(part - price * pct / 100) < from_minor(1, currency)
        assert part >= 0
