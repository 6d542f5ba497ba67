"""Money rules: exact decimals, refused precision, half-even rounding to the minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.money import Money, line_total, normalize_currency, parse_unit_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", "12.0000"), ("0.1", "0.1000"), ("3.14159", None), ("1e2", "100.0000"), ("0", "0.0000")],
)
def test_parse_unit_amount(raw: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(PricingError) as err:
            parse_unit_amount(raw)
        assert err.value.code == ErrorCode.AMOUNT_PRECISION
    else:
        assert str(parse_unit_amount(raw)) == expected


@pytest.mark.parametrize("raw", ["abc", "NaN", "Infinity", "-1", "1e20", ""])
def test_parse_unit_amount_refuses_garbage(raw: str) -> None:
    with pytest.raises(PricingError) as err:
        parse_unit_amount(raw, "input.amount")
    assert err.value.code == ErrorCode.INVALID_AMOUNT
    assert err.value.field == "input.amount"


def test_currency_codes() -> None:
    assert normalize_currency(" eur ") == "EUR"
    with pytest.raises(PricingError) as err:
        normalize_currency("XXX")
    assert err.value.code == ErrorCode.UNSUPPORTED_CURRENCY


@pytest.mark.parametrize(
    ("unit", "qty", "currency", "expected"),
    [
        ("0.0050", 1, "USD", "0.00"),  # half-even: 0.005 -> 0.00
        ("0.0150", 1, "USD", "0.02"),  # half-even: 0.015 -> 0.02
        ("0.1250", 3, "USD", "0.38"),  # 0.375 -> 0.38
        ("0.1250", 1, "USD", "0.12"),  # 0.125 -> 0.12 (even)
        ("99.5000", 1, "JPY", "100"),  # 99.5 -> 100 (even)
        ("98.5000", 1, "JPY", "98"),  # 98.5 -> 98 (even)
        ("1.2345", 1, "KWD", "1.234"),  # 1.2345 -> 1.234 (even)
        ("1.2355", 1, "KWD", "1.236"),
    ],
)
def test_line_total_half_even(unit: str, qty: int, currency: str, expected: str) -> None:
    assert str(line_total(Decimal(unit), qty, currency)) == expected


@given(
    st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    st.integers(min_value=1, max_value=10**5),
)
def test_line_total_is_within_half_a_cent(unit: Decimal, qty: int) -> None:
    total = line_total(unit, qty, "EUR")
    assert total.as_tuple().exponent == -2
    assert abs(total - unit * qty) <= Decimal("0.005")


def test_money_addition_refuses_mixed_currencies() -> None:
    assert (Money(Decimal("1.00"), "EUR") + Money(Decimal("2.50"), "EUR")).as_string() == "3.50"
    with pytest.raises(PricingError):
        Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    assert Money(Decimal("1E+2"), "EUR").as_string() == "100"
