"""S2B2C profit sharing: a sale split between the platform, the supplier and up to two levels of
distributor by percentages, exactly, in minor units.

Rounding never creates or loses a minor unit:

- `LARGEST_REMAINDER` (default): each part gets the floor of its exact share; the minor units
  left over go one each to the parts with the largest fractional remainders (ties in the order
  supplier, platform, level 1, level 2). The parts sum to the price; `rounding` is zero.
- `ROUNDING_ACCOUNT`: each part gets the floor of its share and the left-over minor units go to
  the ledger's ROUNDING account (`rounding`), so no party is ever paid more than its percentage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from subgraphs.finance.money import from_minor, to_minor

HUNDRED = Decimal(100)


class RemainderPolicy(StrEnum):
    LARGEST_REMAINDER = "LARGEST_REMAINDER"
    ROUNDING_ACCOUNT = "ROUNDING_ACCOUNT"


class SharingRuleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SharingRule:
    """Percentages of the sale (exact decimals, each 0..100, together 100)."""

    platform_fee: Decimal
    supplier: Decimal
    level1: Decimal
    level2: Decimal
    remainder_policy: RemainderPolicy = RemainderPolicy.LARGEST_REMAINDER

    def __post_init__(self) -> None:
        parts = (self.platform_fee, self.supplier, self.level1, self.level2)
        for part in parts:
            if not part.is_finite() or part < 0 or part > HUNDRED:
                raise SharingRuleError("each percentage is between 0 and 100")
            if part != part.quantize(Decimal("0.0001")):
                raise SharingRuleError("percentages have at most four decimals")
        if sum(parts) != HUNDRED:
            raise SharingRuleError("the percentages must add up to 100")


# The S2B2C design's example: platform 5 %, supplier 60 %, level-1 20 %, level-2 15 %.
DEFAULT_RULE = SharingRule(Decimal(5), Decimal(60), Decimal(20), Decimal(15))


@dataclass(frozen=True, slots=True)
class Shares:
    platform: Decimal
    supplier: Decimal
    level1: Decimal
    level2: Decimal
    rounding: Decimal

    @property
    def total(self) -> Decimal:
        return self.platform + self.supplier + self.level1 + self.level2 + self.rounding


# Tie order for leftover minor units (index into the parts tuple below).
_TIE_ORDER = (1, 0, 2, 3)  # supplier, platform, level 1, level 2


def split(amount: Decimal, currency: str, rule: SharingRule) -> Shares:
    """Split `amount` (exact, in `currency`'s minor units) by `rule`."""
    units = to_minor(amount, currency)
    if units < 0:
        raise SharingRuleError("cannot split a negative amount")
    percents = (rule.platform_fee, rule.supplier, rule.level1, rule.level2)
    exact = [Decimal(units) * p / HUNDRED for p in percents]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = units - sum(floors)
    rounding = 0
    if rule.remainder_policy is RemainderPolicy.ROUNDING_ACCOUNT:
        rounding = left
    else:
        order = sorted(range(4), key=lambda i: (-(exact[i] - floors[i]), _TIE_ORDER.index(i)))
        for i in order[:left]:
            floors[i] += 1
    platform, supplier, level1, level2 = (from_minor(u, currency) for u in floors)
    return Shares(platform, supplier, level1, level2, from_minor(rounding, currency))


def split_lines(lines: Sequence[tuple[Decimal, SharingRule]], currency: str) -> Shares:
    """Split a sale line by line, each line by its own rule (its product line's, or the tenant's),
    and add the parts up: they sum to the sum of the line amounts, exactly."""
    zero = from_minor(0, currency)
    total = Shares(zero, zero, zero, zero, zero)
    for amount, rule in lines:
        s = split(amount, currency, rule)
        total = Shares(
            total.platform + s.platform,
            total.supplier + s.supplier,
            total.level1 + s.level1,
            total.level2 + s.level2,
            total.rounding + s.rounding,
        )
    return total


def allocate(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """`amount` cut into parts proportional to `weights` (largest remainder in minor units, ties to
    the earlier weight): the parts sum to `amount` exactly. All weights zero: equal parts."""
    units = to_minor(amount, currency)
    if units < 0 or any(w < 0 for w in weights):
        raise SharingRuleError("cannot allocate negative amounts")
    if not weights:
        if units:
            raise SharingRuleError("nothing to allocate to")
        return []
    total = sum(weights, Decimal(0))
    base = list(weights) if total > 0 else [Decimal(1)] * len(weights)
    total = sum(base, Decimal(0))
    exact = [Decimal(units) * w / total for w in base]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = units - sum(floors)
    for i in sorted(range(len(base)), key=lambda i: (-(exact[i] - floors[i]), i))[:left]:
        floors[i] += 1
    return [from_minor(u, currency) for u in floors]
