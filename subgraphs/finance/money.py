"""Exact money in minor units: every amount the ledger holds is a Decimal quantized to its
currency's minor unit (cents for EUR, none for JPY). Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor units where they differ from 2.
_EXPONENTS: dict[str, int] = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3}


# NUMERIC(19, 4) holds 15 digits before the point.
MAX_AMOUNT = Decimal(10) ** 15


class MoneyError(ValueError):
    """An amount that is not a valid money value in its currency."""


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Whole minor units; refuses an amount finer than the currency allows."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-exponent(currency)).quantize(quantum(currency))


def normalize(amount: Decimal, currency: str) -> Decimal:
    """`amount` at the currency's scale (2.5 -> 2.50); refuses finer amounts."""
    return from_minor(to_minor(amount, currency), currency)


def round_to_minor(amount: Decimal, currency: str) -> Decimal:
    """Banker's rounding to the minor unit (for order totals given with more decimals)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_EVEN)


def parse_amount(text: str | Decimal, currency: str, *, allow_zero: bool = False) -> Decimal:
    """A positive (or zero) decimal string in `currency`, exact."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise MoneyError("currency must be a three-letter ISO 4217 code")
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise MoneyError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise MoneyError("amount must be finite")
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError("amount must be positive")
    if value >= MAX_AMOUNT:
        raise MoneyError("amount too large")
    return normalize(value, currency.upper())


def text(amount: Decimal, currency: str) -> str:
    """The amount as the decimal string events and GraphQL carry, at the currency's scale
    (NUMERIC(19, 4) reads back as 500.0000; this says 500.00)."""
    return format(normalize(amount, currency), "f")
