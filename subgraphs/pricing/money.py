"""Exact money: `Decimal` amounts, ISO 4217 currency codes, and the rounding rules.

Rounding rules (docs/pricing.md repeats them):
- Unit prices carry at most `UNIT_PRICE_PLACES` (4) decimal places. Input with more places is
  refused (`AMOUNT_PRECISION`) instead of being rounded silently: a price is a contract term.
- A line total is `unit price x quantity`, rounded once to the currency's minor unit (2 for EUR,
  0 for JPY, 3 for KWD) with ROUND_HALF_EVEN (banker's rounding, no upward drift over many lines).
- A cart or quote total is the sum of its already-rounded line totals, so it always equals what an
  invoice adding up the printed lines shows.
Floats never enter: amounts come in as strings (GraphQL) or Decimals and leave as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from subgraphs.pricing.errors import ErrorCode, PricingError

UNIT_PRICE_PLACES = 4
# Amounts are stored as NUMERIC(19, 4): 15 integer digits are plenty for unit prices.
MAX_INTEGER_DIGITS = 15

# ISO 4217 minor units of the currencies a B2B tenant is likely to trade in.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "CZK": 2,
    "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0,
    "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3,
    "PHP": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
    "TWD": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip


def normalize_currency(code: str) -> str:
    """Upper-case a currency code and check it is one we know the minor unit of."""
    normalized = code.strip().upper()
    if normalized not in CURRENCY_MINOR_UNITS:
        raise PricingError(ErrorCode.UNSUPPORTED_CURRENCY, f"Unsupported currency code {code!r}.", "currency")
    return normalized


def minor_unit(currency: str) -> int:
    return CURRENCY_MINOR_UNITS[normalize_currency(currency)]


def parse_unit_amount(value: str | Decimal | int, field: str = "amount") -> Decimal:
    """A unit price from user input: finite, >= 0, at most 4 decimal places, at most 15 digits
    before the point. Returned quantized to exactly 4 places."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise PricingError(ErrorCode.INVALID_AMOUNT, f"{value!r} is not a decimal amount.", field) from None
    if not amount.is_finite():
        raise PricingError(ErrorCode.INVALID_AMOUNT, "Amount must be a finite number.", field)
    if amount < 0:
        raise PricingError(ErrorCode.INVALID_AMOUNT, "Amount must not be negative.", field)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -UNIT_PRICE_PLACES:
        raise PricingError(
            ErrorCode.AMOUNT_PRECISION,
            f"Unit prices carry at most {UNIT_PRICE_PLACES} decimal places.",
            field,
        )
    if amount >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise PricingError(ErrorCode.INVALID_AMOUNT, "Amount is too large.", field)
    return quantize_unit_price(amount)


def quantize_unit_price(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES), rounding=ROUND_HALF_EVEN)


def round_to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_EVEN)


def line_total(unit_price: Decimal, quantity: int, currency: str) -> Decimal:
    """`unit_price x quantity`, rounded once, half-even, to the currency's minor unit."""
    return round_to_minor_unit(unit_price * quantity, currency)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise PricingError(ErrorCode.CURRENCY_MISMATCH, "Cannot add amounts in different currencies.")
        return Money(self.amount + other.amount, self.currency)

    @staticmethod
    def zero(currency: str) -> Money:
        return Money(round_to_minor_unit(Decimal(0), currency), normalize_currency(currency))

    def as_string(self) -> str:
        """Plain decimal notation (never exponent form) for GraphQL and events."""
        return format(self.amount, "f")
