"""Catalog domain rules: category trees, typed attributes, products and SKUs, status changes.

Pure functions over plain dataclasses; no GraphQL and no database here (the persistence layer is
`repository.py`, the bulk-import parser `importing.py`). Every rule reports problems as `Issue`s
(field path, message, stable code) so the API can turn them into `userErrors` one to one.

The rules live in small modules re-exported here, so `service` is the one import for callers:
`problems` (Issue, DomainError, Codes), `units` (units of measure, pack sizes, decimals),
`attributes` (typed attributes per category), `categories` (the tree); products, SKUs, statuses,
viewers and search input are defined below.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from subgraphs.catalog.attributes import (
    AttributeDef,
    AttributeScope,
    AttributeType,
    AttributeValues,
    attribute_text,
    coerce_attribute,
    facet_values,
    validate_attribute_schema,
    validate_attributes,
)
from subgraphs.catalog.categories import CategoryNode, CategoryTree, validate_category
from subgraphs.catalog.problems import Codes, DomainError, Issue
from subgraphs.catalog.units import (
    MAX_PACK_QUANTITY,
    PackSize,
    Unit,
    format_decimal,
    parse_decimal,
    parse_pack_size,
    parse_unit,
)

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


# Re-exported rule modules (see the module docstring).
__all__ = [
    "MAX_PACK_QUANTITY",
    "AttributeDef",
    "AttributeScope",
    "AttributeType",
    "AttributeValues",
    "CategoryNode",
    "CategoryTree",
    "Codes",
    "DomainError",
    "Issue",
    "PackSize",
    "Unit",
    "attribute_text",
    "coerce_attribute",
    "facet_values",
    "format_decimal",
    "parse_decimal",
    "parse_pack_size",
    "parse_unit",
    "validate_attribute_schema",
    "validate_attributes",
    "validate_category",
]
