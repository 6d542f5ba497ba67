"""Units of measure, pack sizes (a BOX of 100 EA, a SPOOL of 25 KG, a BAR of 6 M) and exact
decimal parsing. Pure rules, no GraphQL, no database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from subgraphs.catalog.problems import Codes, DomainError, Issue

# --------------------------------------------------------------------------------------------
# Numbers


def parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def format_decimal(value: Decimal) -> str:
    """Canonical text: no exponent, no trailing zeros (`1.20` -> `1.2`, `1E+1` -> `10`)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# --------------------------------------------------------------------------------------------
# Units of measure and pack sizes


class Unit(StrEnum):
    """Selling units (what one ordered quantity of a SKU is) and content units (what is inside)."""

    EA = "EA"  # each, one piece
    PR = "PR"  # pair (gloves)
    BOX = "BOX"
    PACK = "PACK"
    CASE = "CASE"
    SPOOL = "SPOOL"
    ROLL = "ROLL"
    BAR = "BAR"
    SHEET = "SHEET"
    TUBE = "TUBE"
    KG = "KG"
    G = "G"
    M = "M"
    MM = "MM"
    M2 = "M2"
    L = "L"


# Units that are themselves a quantity of content; selling one of them means exactly one of it.
_MEASURE_UNITS = frozenset({Unit.EA, Unit.PR, Unit.KG, Unit.G, Unit.M, Unit.MM, Unit.M2, Unit.L})
# Containers and formed pieces: one of them holds `pack_quantity` content units.
_CONTAINER_UNITS = frozenset(Unit) - _MEASURE_UNITS
MAX_PACK_QUANTITY = Decimal(1_000_000)


def parse_unit(value: str | None, field_name: str) -> Unit:
    if value is None or not str(value).strip():
        raise DomainError.single(Codes.REQUIRED, "a unit of measure is required", field_name)
    try:
        return Unit(str(value).strip().upper())
    except ValueError:
        known = ", ".join(u.value for u in Unit)
        raise DomainError.single(
            Codes.INVALID_UNIT, f"unknown unit {value!r} (one of {known})", field_name
        ) from None


@dataclass(frozen=True, slots=True)
class PackSize:
    """What one selling unit contains: a box of 100 EA gloves, a 25 KG spool, a 6 M bar."""

    uom: Unit
    quantity: Decimal
    content_uom: Unit

    def describe(self) -> str:
        if self.uom == self.content_uom:
            return self.uom.value
        return f"{self.uom.value} of {format_decimal(self.quantity)} {self.content_uom.value}"


def parse_pack_size(uom: str | None, quantity: Any, content_uom: str | None, *, prefix: str = "") -> PackSize:
    """Validate a selling unit and its content. A measure unit (EA, KG, M...) sold as itself has
    quantity 1 of itself; a container (BOX, SPOOL, BAR...) needs a positive content quantity in a
    measure unit."""
    issues: list[Issue] = []
    unit = content = None
    try:
        unit = parse_unit(uom, f"{prefix}uom")
    except DomainError as e:
        issues += e.issues
    qty = Decimal(1)
    if quantity is not None and str(quantity).strip() != "":
        try:
            qty = parse_decimal(quantity)
        except ValueError:
            issues.append(
                Issue(Codes.INVALID_PACK_SIZE, f"not a number: {quantity!r}", f"{prefix}packQuantity")
            )
    if content_uom is None or not str(content_uom).strip():
        content = unit if unit in _MEASURE_UNITS else Unit.EA
    else:
        try:
            content = parse_unit(content_uom, f"{prefix}contentUom")
        except DomainError as e:
            issues += e.issues
    if unit is not None and content is not None and not issues:
        if content in _CONTAINER_UNITS:
            issues.append(
                Issue(
                    Codes.INVALID_UNIT,
                    "the content unit must be a measure (EA, PR, KG, M...)",
                    f"{prefix}contentUom",
                )
            )
        elif qty <= 0 or qty > MAX_PACK_QUANTITY:
            issues.append(
                Issue(Codes.INVALID_PACK_SIZE, "the pack quantity must be positive", f"{prefix}packQuantity")
            )
        elif unit in _MEASURE_UNITS and (content != unit or qty != 1):
            issues.append(
                Issue(
                    Codes.INVALID_PACK_SIZE,
                    f"{unit.value} is a measure: sold as itself it holds exactly 1 {unit.value}",
                    f"{prefix}packQuantity",
                )
            )
    if issues:
        raise DomainError(issues)
    assert unit is not None and content is not None
    return PackSize(unit, qty, content)
