"""Attributes typed per category: definitions (type, scope, required, allowed values), value
coercion to a canonical stored form, validation by scope, and the facet projection."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from subgraphs.catalog.problems import Codes, Issue
from subgraphs.catalog.units import format_decimal, parse_decimal

# --------------------------------------------------------------------------------------------
# Attributes typed per category


class AttributeType(StrEnum):
    STRING = "STRING"
    INT = "INT"
    DECIMAL = "DECIMAL"
    BOOL = "BOOL"
    ENUM = "ENUM"


class AttributeScope(StrEnum):
    """PRODUCT: one value for the whole product (steel grade, drill voltage). SKU: one value per
    variant (glove size, wire diameter); the SKU attributes together must tell variants apart."""

    PRODUCT = "PRODUCT"
    SKU = "SKU"


_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_STRING_ATTRIBUTE = 200


@dataclass(frozen=True, slots=True)
class AttributeDef:
    name: str
    type: AttributeType
    label: str = ""
    required: bool = False
    scope: AttributeScope = AttributeScope.PRODUCT
    allowed_values: tuple[str, ...] = ()
    unit: str | None = None  # display unit of a number (mm, V, W), not a unit of measure

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "label": self.label,
            "required": self.required,
            "scope": self.scope.value,
            "allowed_values": list(self.allowed_values),
            "unit": self.unit,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AttributeDef:
        return cls(
            name=str(raw["name"]),
            type=AttributeType(raw["type"]),
            label=str(raw.get("label") or ""),
            required=bool(raw.get("required", False)),
            scope=AttributeScope(raw.get("scope", AttributeScope.PRODUCT.value)),
            allowed_values=tuple(str(v) for v in raw.get("allowed_values") or ()),
            unit=raw.get("unit"),
        )


def validate_attribute_schema(defs: Sequence[AttributeDef]) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, d in enumerate(defs):
        where = f"attributes.{i}"
        if not _ATTRIBUTE_NAME.match(d.name):
            issues.append(
                Issue(Codes.INVALID_ATTRIBUTE_SCHEMA, f"bad attribute name {d.name!r}", f"{where}.name")
            )
        if d.name in seen:
            issues.append(
                Issue(Codes.INVALID_ATTRIBUTE_SCHEMA, f"attribute {d.name!r} defined twice", f"{where}.name")
            )
        seen.add(d.name)
        if d.type == AttributeType.ENUM and not d.allowed_values:
            issues.append(
                Issue(
                    Codes.INVALID_ATTRIBUTE_SCHEMA, "an enum needs allowed values", f"{where}.allowedValues"
                )
            )
        if d.type != AttributeType.ENUM and d.allowed_values:
            # Allowed values of a number restrict it to a list (e.g. voltage 12/18/20): each must parse.
            for v in d.allowed_values:
                try:
                    coerce_attribute(AttributeDef(d.name, d.type), v)
                except ValueError as e:
                    issues.append(Issue(Codes.INVALID_ATTRIBUTE_SCHEMA, str(e), f"{where}.allowedValues"))
    return issues


def coerce_attribute(d: AttributeDef, raw: Any) -> str | int | bool:
    """Parse one value to its canonical stored form: int for INT, bool for BOOL, canonical decimal
    text for DECIMAL (exact, never a float), the schema's spelling for ENUM. Raises ValueError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError(f"{d.name}: empty value")
    value: str | int | bool
    if d.type == AttributeType.STRING:
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            raise ValueError(f"{d.name}: expected text")
        value = str(raw).strip()
        if len(value) > MAX_STRING_ATTRIBUTE:
            raise ValueError(f"{d.name}: longer than {MAX_STRING_ATTRIBUTE} characters")
    elif d.type == AttributeType.INT:
        if isinstance(raw, bool):
            raise ValueError(f"{d.name}: expected a whole number")
        try:
            number = parse_decimal(raw)
        except ValueError:
            raise ValueError(f"{d.name}: expected a whole number, got {raw!r}") from None
        if number != number.to_integral_value():
            raise ValueError(f"{d.name}: expected a whole number, got {raw!r}")
        value = int(number)
    elif d.type == AttributeType.DECIMAL:
        try:
            value = format_decimal(parse_decimal(raw))
        except ValueError:
            raise ValueError(f"{d.name}: expected a number, got {raw!r}") from None
    elif d.type == AttributeType.BOOL:
        if isinstance(raw, bool):
            value = raw
        else:
            text = str(raw).strip().lower()
            if text in ("true", "yes", "y", "1"):
                value = True
            elif text in ("false", "no", "n", "0"):
                value = False
            else:
                raise ValueError(f"{d.name}: expected true or false, got {raw!r}")
    else:  # ENUM: case-insensitive match, stored in the schema's spelling
        text = str(raw).strip()
        match = next((v for v in d.allowed_values if v.lower() == text.lower()), None)
        if match is None:
            raise ValueError(f"{d.name}: {raw!r} is not one of {', '.join(d.allowed_values)}")
        return match
    if d.allowed_values:
        # Numbers restricted to a list match by value; a decimal keeps the list's spelling
        # (`1.0` stays `1.0`, so filters and facets show what the schema shows).
        spelled = {
            attribute_text(coerce_attribute(AttributeDef(d.name, d.type), v)): v for v in d.allowed_values
        }
        text = attribute_text(value)
        if text not in spelled:
            raise ValueError(f"{d.name}: {raw!r} is not one of {', '.join(d.allowed_values)}")
        if d.type == AttributeType.DECIMAL:
            value = spelled[text]
    return value


def attribute_text(value: str | int | bool) -> str:
    """The text form used by filters and facets (`true`, `18`, `1.2`, `S355JR`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


AttributeValues = dict[str, str | int | bool]


def validate_attributes(
    schema: Sequence[AttributeDef],
    values: Mapping[str, Any],
    scope: AttributeScope,
    *,
    prefix: str = "attributes",
) -> tuple[AttributeValues, list[Issue]]:
    """Check `values` against the attributes of `scope` in `schema`: unknown names, required ones
    missing, values of the wrong type. Returns the canonical values and every issue found."""
    defs = {d.name: d for d in schema if d.scope == scope}
    other_scope = {d.name for d in schema if d.scope != scope}
    clean: AttributeValues = {}
    issues: list[Issue] = []
    for name, raw in values.items():
        d = defs.get(name)
        if d is None:
            where = "the SKU" if scope == AttributeScope.PRODUCT else "the product"
            hint = f" (it belongs on {where})" if name in other_scope else ""
            issues.append(
                Issue(Codes.UNKNOWN_ATTRIBUTE, f"unknown attribute {name!r}{hint}", f"{prefix}.{name}")
            )
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue  # empty means absent; `required` below decides whether that is allowed
        try:
            clean[name] = coerce_attribute(d, raw)
        except ValueError as e:
            issues.append(Issue(Codes.INVALID_ATTRIBUTE_VALUE, str(e), f"{prefix}.{name}"))
    for d in defs.values():
        if d.required and d.name not in clean and not any(i.field == f"{prefix}.{d.name}" for i in issues):
            issues.append(
                Issue(Codes.MISSING_ATTRIBUTE, f"attribute {d.name!r} is required", f"{prefix}.{d.name}")
            )
    return clean, issues


def facet_values(*attribute_sets: Mapping[str, str | int | bool]) -> dict[str, list[str]]:
    """Union of attribute values as text lists (`{"size": ["L", "M"]}`): the searchable, facetable
    projection of a product and its SKUs, stored denormalized on the product."""
    merged: dict[str, set[str]] = {}
    for attrs in attribute_sets:
        for name, value in attrs.items():
            merged.setdefault(name, set()).add(attribute_text(value))
    return {name: sorted(values) for name, values in sorted(merged.items())}
