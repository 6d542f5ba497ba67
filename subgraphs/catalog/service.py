"""Catalog domain rules: category trees, typed attributes, products and SKUs, status changes.

Pure functions over plain dataclasses; no GraphQL and no database here (the persistence layer is
`repository.py`, the bulk-import parser `importing.py`). Every rule reports problems as `Issue`s
(field path, message, stable code) so the API can turn them into `userErrors` one to one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

# --------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True, slots=True)
class Issue:
    """One business-rule violation. `field` is a path into the input (`skus.1.code`), or None."""

    code: str
    message: str
    field: str | None = None

    def under(self, prefix: str) -> Issue:
        """The same issue, its field nested under `prefix` (e.g. a SKU's issue inside a product)."""
        return Issue(self.code, self.message, f"{prefix}.{self.field}" if self.field else prefix)


class DomainError(Exception):
    """Raised by rules that stop an operation; carries every issue found, not just the first."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{i.code}: {i.message}" for i in self.issues))

    @classmethod
    def single(cls, code: str, message: str, field: str | None = None) -> DomainError:
        return cls([Issue(code, message, field)])


class Codes:
    """Stable error codes (they are part of the API: clients branch on them)."""

    REQUIRED = "REQUIRED"
    INVALID_VALUE = "INVALID_VALUE"
    TOO_LONG = "TOO_LONG"
    INVALID_SKU_CODE = "INVALID_SKU_CODE"
    DUPLICATE_SKU_CODE = "DUPLICATE_SKU_CODE"
    SKU_BELONGS_TO_OTHER_PRODUCT = "SKU_BELONGS_TO_OTHER_PRODUCT"
    UNKNOWN_ATTRIBUTE = "UNKNOWN_ATTRIBUTE"
    MISSING_ATTRIBUTE = "MISSING_ATTRIBUTE"
    INVALID_ATTRIBUTE_VALUE = "INVALID_ATTRIBUTE_VALUE"
    INVALID_ATTRIBUTE_SCHEMA = "INVALID_ATTRIBUTE_SCHEMA"
    DUPLICATE_VARIANT = "DUPLICATE_VARIANT"
    INVALID_UNIT = "INVALID_UNIT"
    INVALID_PACK_SIZE = "INVALID_PACK_SIZE"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    NOT_PUBLISHABLE = "NOT_PUBLISHABLE"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    INVALID_MEDIA_URL = "INVALID_MEDIA_URL"
    INVALID_IMPORT = "INVALID_IMPORT"
    INCONSISTENT_PRODUCT = "INCONSISTENT_PRODUCT"


# --------------------------------------------------------------------------------------------
# Status


class ProductStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


# draft -> active -> archived; a draft may be archived unpublished; an archived product may be
# brought back to draft (to edit and republish), never straight back to active.
_TRANSITIONS: dict[ProductStatus, frozenset[ProductStatus]] = {
    ProductStatus.DRAFT: frozenset({ProductStatus.ACTIVE, ProductStatus.ARCHIVED}),
    ProductStatus.ACTIVE: frozenset({ProductStatus.ARCHIVED}),
    ProductStatus.ARCHIVED: frozenset({ProductStatus.DRAFT}),
}


def can_transition(current: ProductStatus, target: ProductStatus) -> bool:
    return target == current or target in _TRANSITIONS[current]


def check_transition(current: ProductStatus, target: ProductStatus) -> None:
    if not can_transition(current, target):
        raise DomainError.single(
            Codes.INVALID_STATUS_TRANSITION,
            f"a {current.value.lower()} product cannot become {target.value.lower()}",
            "status",
        )


def parse_status(value: str | None, *, default: ProductStatus = ProductStatus.DRAFT) -> ProductStatus:
    if value is None or not str(value).strip():
        return default
    try:
        return ProductStatus(str(value).strip().upper())
    except ValueError:
        raise DomainError.single(
            Codes.INVALID_VALUE, f"unknown status {value!r} (draft, active or archived)", "status"
        ) from None


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


# --------------------------------------------------------------------------------------------
# Category tree


@dataclass(frozen=True, slots=True)
class CategoryNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    attributes: tuple[AttributeDef, ...] = ()


_CATEGORY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CategoryTree:
    """An in-memory view of one tenant's categories (hundreds of rows: cheap to load whole)."""

    def __init__(self, nodes: Iterable[CategoryNode]) -> None:
        self.nodes: dict[uuid.UUID, CategoryNode] = {n.id: n for n in nodes}
        self.children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
        for n in self.nodes.values():
            self.children.setdefault(n.parent_id, []).append(n.id)
        self.by_code = {n.code: n for n in self.nodes.values()}

    def get(self, category_id: uuid.UUID) -> CategoryNode:
        node = self.nodes.get(category_id)
        if node is None:
            raise DomainError.single(Codes.CATEGORY_NOT_FOUND, f"no category {category_id}", "categoryId")
        return node

    def ancestors(self, category_id: uuid.UUID) -> list[CategoryNode]:
        """From the root down to the parent of `category_id`."""
        chain: list[CategoryNode] = []
        seen = {category_id}
        parent = self.get(category_id).parent_id
        while parent is not None and parent not in seen and parent in self.nodes:
            seen.add(parent)
            chain.append(self.nodes[parent])
            parent = self.nodes[parent].parent_id
        return list(reversed(chain))

    def path(self, category_id: uuid.UUID) -> list[CategoryNode]:
        return [*self.ancestors(category_id), self.get(category_id)]

    def subtree_ids(self, root: uuid.UUID) -> list[uuid.UUID]:
        """`root` and every category below it (breadth first)."""
        self.get(root)
        out: list[uuid.UUID] = []
        queue = [root]
        seen: set[uuid.UUID] = set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            out.append(current)
            queue.extend(self.children.get(current, []))
        return out

    def would_create_cycle(self, category_id: uuid.UUID, new_parent_id: uuid.UUID | None) -> bool:
        """Moving `category_id` under `new_parent_id` loops when the new parent is the category
        itself or one of its descendants."""
        if new_parent_id is None:
            return False
        if category_id not in self.nodes:
            return False  # a new category cannot be anybody's ancestor yet
        return new_parent_id in set(self.subtree_ids(category_id))

    def effective_schema(self, category_id: uuid.UUID) -> list[AttributeDef]:
        """Attributes inherited from the ancestors plus the category's own; a deeper definition of
        the same name overrides (a subcategory may narrow `size` to fewer allowed values)."""
        merged: dict[str, AttributeDef] = {}
        for node in self.path(category_id):
            for d in node.attributes:
                merged[d.name] = d
        return list(merged.values())

    def roots(self) -> list[CategoryNode]:
        return [self.nodes[i] for i in self.children.get(None, [])]


def validate_category(
    tree: CategoryTree,
    *,
    category_id: uuid.UUID,
    code: str,
    name: str,
    parent_id: uuid.UUID | None,
    attributes: Sequence[AttributeDef],
) -> list[Issue]:
    issues: list[Issue] = []
    if not _CATEGORY_CODE.match(code):
        issues.append(
            Issue(Codes.INVALID_VALUE, "a category code is lowercase letters, digits and '-'", "code")
        )
    other = tree.by_code.get(code)
    if other is not None and other.id != category_id:
        issues.append(Issue(Codes.INVALID_VALUE, f"category code {code!r} is taken", "code"))
    if not name.strip():
        issues.append(Issue(Codes.REQUIRED, "a category needs a name", "name"))
    if parent_id is not None and parent_id not in tree.nodes:
        issues.append(Issue(Codes.CATEGORY_NOT_FOUND, f"no parent category {parent_id}", "parentId"))
    elif tree.would_create_cycle(category_id, parent_id):
        issues.append(
            Issue(
                Codes.CATEGORY_CYCLE, "a category cannot be moved under itself or its descendants", "parentId"
            )
        )
    issues += validate_attribute_schema(attributes)
    return issues


# --------------------------------------------------------------------------------------------
# Products and SKUs

_SKU_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{1,63}$")
MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MAX_SKUS_PER_PRODUCT = 500
MAX_MEDIA = 20


def normalize_sku_code(code: str) -> str:
    return code.strip().upper()


def check_sku_code(code: str, field_name: str = "code") -> list[Issue]:
    if not code:
        return [Issue(Codes.REQUIRED, "a SKU code is required", field_name)]
    if not _SKU_CODE.match(code):
        return [
            Issue(
                Codes.INVALID_SKU_CODE,
                "a SKU code is 2-64 letters, digits and . _ / - (starting with a letter or digit)",
                field_name,
            )
        ]
    return []


@dataclass(slots=True)
class SkuInput:
    code: str
    name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    uom: str | None = "EA"
    pack_quantity: Any = None
    content_uom: str | None = None
    gtin: str | None = None


@dataclass(slots=True)
class ProductInput:
    name: str
    category_id: uuid.UUID
    vendor_id: uuid.UUID
    brand: str | None = None
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    media_urls: list[str] = field(default_factory=list)
    external_ref: str | None = None
    skus: list[SkuInput] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CleanSku:
    code: str
    name: str
    attributes: AttributeValues
    pack: PackSize
    gtin: str | None


@dataclass(frozen=True, slots=True)
class CleanProduct:
    name: str
    category_id: uuid.UUID
    vendor_id: uuid.UUID
    brand: str | None
    description: str
    attributes: AttributeValues
    media_urls: tuple[str, ...]
    external_ref: str | None
    skus: tuple[CleanSku, ...]

    @property
    def facets(self) -> dict[str, list[str]]:
        return facet_values(self.attributes, *(s.attributes for s in self.skus))


_GTIN = re.compile(r"^\d{8}$|^\d{12,14}$")


def gtin_check_digit_ok(gtin: str) -> bool:
    digits = [int(c) for c in gtin]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_sku(
    sku: SkuInput, schema: Sequence[AttributeDef], *, product_name: str
) -> tuple[CleanSku | None, list[Issue]]:
    issues: list[Issue] = []
    code = normalize_sku_code(sku.code or "")
    issues += check_sku_code(code)
    name = (sku.name or "").strip() or product_name
    if len(name) > MAX_NAME:
        issues.append(Issue(Codes.TOO_LONG, f"a name is at most {MAX_NAME} characters", "name"))
    attrs, attr_issues = validate_attributes(schema, sku.attributes, AttributeScope.SKU)
    issues += attr_issues
    pack: PackSize | None = None
    try:
        pack = parse_pack_size(sku.uom, sku.pack_quantity, sku.content_uom)
    except DomainError as e:
        issues += e.issues
    gtin = (sku.gtin or "").strip() or None
    if gtin is not None and not (_GTIN.match(gtin) and gtin_check_digit_ok(gtin)):
        issues.append(
            Issue(Codes.INVALID_VALUE, "a GTIN is 8, 12, 13 or 14 digits with a valid check digit", "gtin")
        )
    if issues or pack is None:
        return None, issues
    return CleanSku(code, name, attrs, pack, gtin), []


def validate_product(
    data: ProductInput, tree: CategoryTree, *, require_skus: bool = True
) -> tuple[CleanProduct | None, list[Issue]]:
    """Everything about one product that can be checked without the database: names, category and
    its attribute schema, every SKU, variants distinct, codes unique inside the input. Uniqueness
    of codes across the tenant is the repository's (and the unique index's) job."""
    issues: list[Issue] = []
    name = (data.name or "").strip()
    if not name:
        issues.append(Issue(Codes.REQUIRED, "a product needs a name", "name"))
    elif len(name) > MAX_NAME:
        issues.append(Issue(Codes.TOO_LONG, f"a name is at most {MAX_NAME} characters", "name"))
    description = (data.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        issues.append(
            Issue(Codes.TOO_LONG, f"a description is at most {MAX_DESCRIPTION} characters", "description")
        )
    brand = (data.brand or "").strip() or None
    if brand is not None and len(brand) > 100:
        issues.append(Issue(Codes.TOO_LONG, "a brand is at most 100 characters", "brand"))
    schema: list[AttributeDef] = []
    if data.category_id not in tree.nodes:
        issues.append(Issue(Codes.CATEGORY_NOT_FOUND, f"no category {data.category_id}", "categoryId"))
    else:
        schema = tree.effective_schema(data.category_id)
    attrs, attr_issues = validate_attributes(schema, data.attributes, AttributeScope.PRODUCT)
    if data.category_id in tree.nodes:
        issues += attr_issues
    media: list[str] = []
    for i, url in enumerate(data.media_urls):
        url = url.strip()
        if not re.match(r"^https?://[^\s]+$", url) or len(url) > 2000:
            issues.append(Issue(Codes.INVALID_MEDIA_URL, f"not an http(s) URL: {url!r}", f"mediaUrls.{i}"))
        media.append(url)
    if len(media) > MAX_MEDIA:
        issues.append(Issue(Codes.INVALID_VALUE, f"at most {MAX_MEDIA} media URLs", "mediaUrls"))
    external_ref = (data.external_ref or "").strip() or None
    if require_skus and not data.skus:
        issues.append(Issue(Codes.REQUIRED, "a product needs at least one SKU", "skus"))
    if len(data.skus) > MAX_SKUS_PER_PRODUCT:
        issues.append(Issue(Codes.INVALID_VALUE, f"at most {MAX_SKUS_PER_PRODUCT} SKUs per product", "skus"))
    skus: list[CleanSku] = []
    seen_codes: dict[str, int] = {}
    seen_variants: dict[tuple[tuple[str, str], ...], int] = {}
    for i, sku in enumerate(data.skus):
        clean, sku_issues = validate_sku(sku, schema, product_name=name)
        issues += [issue.under(f"skus.{i}") for issue in sku_issues]
        if clean is None:
            continue
        if clean.code in seen_codes:
            issues.append(
                Issue(
                    Codes.DUPLICATE_SKU_CODE,
                    f"SKU code {clean.code} repeats skus.{seen_codes[clean.code]}",
                    f"skus.{i}.code",
                )
            )
        seen_codes.setdefault(clean.code, i)
        variant = (
            *sorted((k, attribute_text(v)) for k, v in clean.attributes.items()),
            ("__pack", clean.pack.describe()),
        )
        if variant in seen_variants:
            issues.append(
                Issue(
                    Codes.DUPLICATE_VARIANT,
                    f"same variant attributes and pack size as skus.{seen_variants[variant]}",
                    f"skus.{i}.attributes",
                )
            )
        seen_variants.setdefault(variant, i)
        skus.append(clean)
    if issues:
        return None, issues
    return (
        CleanProduct(
            name=name,
            category_id=data.category_id,
            vendor_id=data.vendor_id,
            brand=brand,
            description=description,
            attributes=attrs,
            media_urls=tuple(media),
            external_ref=external_ref,
            skus=tuple(skus),
        ),
        [],
    )


def check_publishable(sku_count: int) -> None:
    """A product goes live only when it can be ordered: at least one SKU (attributes, required
    ones included, were validated on the way in)."""
    if sku_count == 0:
        raise DomainError.single(
            Codes.NOT_PUBLISHABLE, "a product needs at least one SKU to be published", "skus"
        )


def check_version(expected: int | None, actual: int) -> None:
    """Optimistic concurrency: an update names the version it read; another writer got there first
    when it differs."""
    if expected is not None and expected != actual:
        raise DomainError.single(
            Codes.VERSION_CONFLICT,
            f"the product changed since version {expected} (now {actual}); reload and retry",
            "version",
        )


# --------------------------------------------------------------------------------------------
# Who sees what


class ViewerKind(StrEnum):
    ADMIN = "ADMIN"  # platform staff / catalog admins: the whole tenant catalog, every status
    VENDOR = "VENDOR"  # a supplier: its own products, every status, plus the live catalog rules below
    BUYER = "BUYER"  # buyers and distributor shops: active products of their publications
    NONE = "NONE"  # no organization: nothing


@dataclass(frozen=True, slots=True)
class Viewer:
    kind: ViewerKind
    organization_ids: tuple[uuid.UUID, ...] = ()  # the principal's organization first, then ancestors


def viewer_for(
    *, organization_kind: str | None, organization_ids: Sequence[uuid.UUID], scopes: Iterable[str]
) -> Viewer:
    """Map a principal to a catalog viewer. `catalog:admin` (or a PLATFORM organization) sees the
    whole tenant; a SUPPLIER sees what it sells; everybody else is a buyer."""
    scope_set = set(scopes)
    kind = (organization_kind or "").upper()
    ids = tuple(organization_ids)
    if "catalog:admin" in scope_set or kind == "PLATFORM":
        return Viewer(ViewerKind.ADMIN, ids)
    if not ids:
        return Viewer(ViewerKind.NONE)
    if kind == "SUPPLIER":
        return Viewer(ViewerKind.VENDOR, ids)
    return Viewer(ViewerKind.BUYER, ids)


# --------------------------------------------------------------------------------------------
# Search input


_TOKEN = re.compile(r"[0-9A-Za-zÀ-ÿ]+")
MAX_QUERY_TOKENS = 8


def query_tokens(query: str | None) -> list[str]:
    """Words of a search box query, lowercased, punctuation dropped (so nothing reaches
    `to_tsquery` that could be read as an operator)."""
    if not query:
        return []
    return [t.lower() for t in _TOKEN.findall(query)][:MAX_QUERY_TOKENS]


def sku_prefix(query: str | None) -> str | None:
    """The query read as the beginning of a SKU code (`glv-nit` -> `GLV-NIT`), or None when it
    cannot be one (spaces, too short)."""
    if not query:
        return None
    text = normalize_sku_code(query)
    if len(text) < 2 or not re.match(r"^[A-Z0-9][A-Z0-9._/-]*$", text):
        return None
    return text
