"""Bulk import: CSV or JSON lines, one row per SKU, parsed and validated row by row.

A row names its product by `product_ref` (the product's external reference); rows sharing it
become the SKUs of one product and must agree on the product fields. Columns / keys:

    sku, product_ref, product_name, category (code), vendor (organization id; defaults to the
    importing supplier), brand, description, uom, pack_quantity, content_uom, gtin, status
    (draft|active), media_urls (`|`-separated in CSV, a list in JSON), and attributes: CSV columns
    `attr:<name>`, JSON object `attributes`.

`plan_import` never stops at the first bad row: it returns the products built from every valid
row and one `RowError` per bad row (its 1-based data row number, SKU code, field and code). The
repository then commits the valid rows, idempotent on the SKU code.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from subgraphs.catalog.service import (
    AttributeScope,
    CategoryTree,
    CleanProduct,
    Codes,
    DomainError,
    Issue,
    ProductInput,
    ProductStatus,
    SkuInput,
    normalize_sku_code,
    parse_status,
    validate_product,
)

MAX_IMPORT_ROWS = 20_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
_KNOWN_KEYS = frozenset(
    {
        "sku",
        "sku_name",
        "product_ref",
        "product_name",
        "category",
        "vendor",
        "brand",
        "description",
        "uom",
        "pack_quantity",
        "content_uom",
        "gtin",
        "status",
        "media_urls",
        "attributes",
    }
)


class ImportFormat(StrEnum):
    CSV = "CSV"
    JSONL = "JSONL"


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 1-based data row (the CSV header is not a row; JSONL: the line number)
    sku: str | None
    code: str
    message: str
    field: str | None = None


@dataclass(slots=True)
class ImportRow:
    row: int
    sku: str
    product_ref: str
    product_name: str
    category: str
    vendor: str | None = None
    brand: str | None = None
    description: str | None = None
    sku_name: str | None = None
    uom: str | None = None
    pack_quantity: Any = None
    content_uom: str | None = None
    gtin: str | None = None
    status: str | None = None
    media_urls: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class PlannedProduct:
    """One product of the import: the validated product with the SKUs of its valid rows."""

    product_ref: str
    product: CleanProduct
    status: ProductStatus | None  # None: a new product is a draft, an existing one keeps its status
    rows: dict[str, int]  # SKU code -> row number, to report database-side errors per row


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _row_from_mapping(number: int, raw: Mapping[str, Any], attributes: dict[str, Any]) -> ImportRow:
    media = raw.get("media_urls")
    if isinstance(media, str):
        media_list = [m.strip() for m in media.split("|") if m.strip()]
    elif isinstance(media, list):
        media_list = [str(m).strip() for m in media if str(m).strip()]
    else:
        media_list = []
    return ImportRow(
        row=number,
        sku=normalize_sku_code(_text(raw.get("sku")) or ""),
        product_ref=_text(raw.get("product_ref")) or "",
        product_name=_text(raw.get("product_name")) or "",
        category=(_text(raw.get("category")) or "").lower(),
        vendor=_text(raw.get("vendor")),
        brand=_text(raw.get("brand")),
        description=_text(raw.get("description")),
        sku_name=_text(raw.get("sku_name")),
        uom=_text(raw.get("uom")),
        pack_quantity=raw.get("pack_quantity"),
        content_uom=_text(raw.get("content_uom")),
        gtin=_text(raw.get("gtin")),
        status=_text(raw.get("status")),
        media_urls=media_list,
        attributes=attributes,
    )


def parse_csv(data: str) -> tuple[list[ImportRow], list[RowError]]:
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "sku" not in header:
        return [], [RowError(0, None, Codes.INVALID_IMPORT, "the CSV header needs at least a `sku` column")]
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for number, raw in enumerate(reader, start=1):
        if None in raw:  # more cells than header columns
            errors.append(
                RowError(number, _text(raw.get("sku")), Codes.INVALID_IMPORT, "more cells than columns")
            )
            continue
        clean = {(k or "").strip(): v for k, v in raw.items()}
        if not any(_text(v) for v in clean.values()):
            continue  # blank line
        attributes = {k[5:].strip(): v for k, v in clean.items() if k.startswith("attr:") and _text(v)}
        unknown = [k for k in clean if not k.startswith("attr:") and k not in _KNOWN_KEYS]
        if unknown:
            errors.append(
                RowError(number, _text(clean.get("sku")), Codes.INVALID_IMPORT, f"unknown columns: {unknown}")
            )
            continue
        rows.append(_row_from_mapping(number, clean, attributes))
        if len(rows) > MAX_IMPORT_ROWS:
            return [], [
                RowError(number, None, Codes.INVALID_IMPORT, f"at most {MAX_IMPORT_ROWS} rows per import")
            ]
    return rows, errors


def parse_jsonl(data: str) -> tuple[list[ImportRow], list[RowError]]:
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            errors.append(RowError(number, None, Codes.INVALID_IMPORT, f"not JSON: {e}"))
            continue
        if not isinstance(raw, dict):
            errors.append(RowError(number, None, Codes.INVALID_IMPORT, "each line must be a JSON object"))
            continue
        attributes = raw.get("attributes") or {}
        if not isinstance(attributes, dict):
            errors.append(
                RowError(
                    number, _text(raw.get("sku")), Codes.INVALID_IMPORT, "`attributes` must be an object"
                )
            )
            continue
        unknown = sorted(set(raw) - _KNOWN_KEYS)
        if unknown:
            errors.append(
                RowError(number, _text(raw.get("sku")), Codes.INVALID_IMPORT, f"unknown keys: {unknown}")
            )
            continue
        rows.append(_row_from_mapping(number, raw, attributes))
        if len(rows) > MAX_IMPORT_ROWS:
            return [], [
                RowError(number, None, Codes.INVALID_IMPORT, f"at most {MAX_IMPORT_ROWS} rows per import")
            ]
    return rows, errors


def parse_import(fmt: ImportFormat, data: str) -> tuple[list[ImportRow], list[RowError]]:
    if len(data.encode()) > MAX_IMPORT_BYTES:
        return [], [RowError(0, None, Codes.INVALID_IMPORT, f"an import is at most {MAX_IMPORT_BYTES} bytes")]
    return parse_csv(data) if fmt == ImportFormat.CSV else parse_jsonl(data)


def _row_error(row: ImportRow, issue: Issue) -> RowError:
    return RowError(row.row, row.sku or None, issue.code, issue.message, issue.field)


def _product_key(row: ImportRow, vendor: uuid.UUID, product_attrs: Mapping[str, Any]) -> tuple[Any, ...]:
    """The product-level fields every row of one product must repeat identically (or leave empty
    after the first row)."""
    return (
        row.product_name,
        row.category,
        vendor,
        row.brand,
        row.description,
        tuple(sorted(product_attrs.items())),
    )


def plan_import(
    rows: list[ImportRow], tree: CategoryTree, *, default_vendor: uuid.UUID | None
) -> tuple[list[PlannedProduct], list[RowError]]:
    """Validate rows against the category schemas and group them into products."""
    errors: list[RowError] = []
    groups: dict[str, list[tuple[ImportRow, uuid.UUID, dict[str, Any], dict[str, Any]]]] = {}
    first_key: dict[str, tuple[Any, ...]] = {}
    seen_sku: dict[str, int] = {}
    for row in rows:
        issues: list[Issue] = []
        if not row.sku:
            issues.append(Issue(Codes.REQUIRED, "a SKU code is required", "sku"))
        elif row.sku in seen_sku:
            issues.append(
                Issue(
                    Codes.DUPLICATE_SKU_CODE,
                    f"SKU {row.sku} already appears in row {seen_sku[row.sku]}",
                    "sku",
                )
            )
        if not row.product_ref:
            issues.append(Issue(Codes.REQUIRED, "product_ref is required", "product_ref"))
        category = tree.by_code.get(row.category)
        if category is None:
            issues.append(
                Issue(Codes.CATEGORY_NOT_FOUND, f"no category with code {row.category!r}", "category")
            )
        vendor: uuid.UUID | None = default_vendor
        if row.vendor:
            try:
                vendor = uuid.UUID(row.vendor)
            except ValueError:
                issues.append(
                    Issue(Codes.INVALID_VALUE, f"vendor is not an organization id: {row.vendor!r}", "vendor")
                )
        if vendor is None and not any(i.field == "vendor" for i in issues):
            issues.append(Issue(Codes.REQUIRED, "vendor (organization id) is required", "vendor"))
        try:
            parse_status(row.status)
        except DomainError as e:
            issues += e.issues
        if issues or category is None or vendor is None:
            errors += [_row_error(row, i) for i in issues]
            continue
        # Split attributes by scope using the category schema (unknown names are reported by the
        # product validation below, on the product side).
        schema = tree.effective_schema(category.id)
        sku_names = {d.name for d in schema if d.scope == AttributeScope.SKU}
        sku_attrs = {k: v for k, v in row.attributes.items() if k in sku_names}
        product_attrs = {k: v for k, v in row.attributes.items() if k not in sku_names}
        key = _product_key(row, vendor, product_attrs)
        if row.product_ref in first_key and first_key[row.product_ref] != key:
            errors.append(
                _row_error(
                    row,
                    Issue(
                        Codes.INCONSISTENT_PRODUCT,
                        f"product fields differ from the first row of product {row.product_ref!r}",
                        "product_ref",
                    ),
                )
            )
            continue
        first_key.setdefault(row.product_ref, key)
        seen_sku.setdefault(row.sku, row.row)
        groups.setdefault(row.product_ref, []).append((row, vendor, product_attrs, sku_attrs))

    planned: list[PlannedProduct] = []
    for ref, members in groups.items():
        good: list[tuple[ImportRow, SkuInput]] = []
        head, vendor, product_attrs, _ = members[0]
        category_id = tree.by_code[head.category].id
        # Validate each row's SKU alone so one bad SKU does not sink its siblings.
        product_level_failed = False
        for row, _vendor, _pattrs, sku_attrs in members:
            sku = SkuInput(
                code=row.sku,
                name=row.sku_name,
                attributes=sku_attrs,
                uom=row.uom or "EA",
                pack_quantity=row.pack_quantity,
                content_uom=row.content_uom,
                gtin=row.gtin,
            )
            _, issues = validate_product(
                _product_input(head, category_id, vendor, product_attrs, [sku]), tree
            )
            if issues:
                sku_issues = [i for i in issues if (i.field or "").startswith("skus.")]
                product_issues = [i for i in issues if i not in sku_issues]
                if product_issues:
                    product_level_failed = True
                errors += [_row_error(row, _strip_sku_prefix(i)) for i in issues]
                continue
            good.append((row, sku))
        if product_level_failed or not good:
            continue
        product, issues = validate_product(
            _product_input(head, category_id, vendor, product_attrs, [s for _, s in good]), tree
        )
        if product is None:  # cross-SKU rules (same variant twice): report on every member row
            errors += [_row_error(r, _strip_sku_prefix(i)) for r, _ in good for i in issues]
            continue
        planned.append(
            PlannedProduct(
                ref,
                product,
                parse_status(head.status) if head.status else None,
                {s.code: r.row for r, s in good},
            )
        )
    errors.sort(key=lambda e: e.row)
    return planned, errors


def _strip_sku_prefix(issue: Issue) -> Issue:
    """`skus.0.attributes.size` -> `attributes.size`: a row is one SKU, the index means nothing."""
    if issue.field and issue.field.startswith("skus."):
        parts = issue.field.split(".", 2)
        return Issue(issue.code, issue.message, parts[2] if len(parts) > 2 else "sku")
    return issue


def _product_input(
    head: ImportRow, category_id: uuid.UUID, vendor: uuid.UUID, attrs: dict[str, Any], skus: list[SkuInput]
) -> ProductInput:
    return ProductInput(
        name=head.product_name,
        category_id=category_id,
        vendor_id=vendor,
        brand=head.brand,
        description=head.description,
        attributes=attrs,
        media_urls=head.media_urls,
        external_ref=head.product_ref,
        skus=skus,
    )


__all__ = [
    "ImportFormat",
    "ImportRow",
    "PlannedProduct",
    "RowError",
    "parse_csv",
    "parse_import",
    "parse_jsonl",
    "plan_import",
]
