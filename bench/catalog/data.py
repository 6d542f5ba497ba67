"""Synthetic catalog for the search benchmark: the demo MRO catalog multiplied into N SKUs.

Each copy ("series") of a demo product gets a generated brand and series number, so names, brands
and SKU codes differ between copies while the category, attribute and text distribution stays the
demo's (realistic MRO wording, typed attributes, several SKUs per product). Deterministic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from subgraphs.catalog.demo_data import DEMO_CATEGORIES, DEMO_PRODUCTS
from subgraphs.catalog.demo_ids import category_id
from subgraphs.catalog.service import facet_values

BENCH_NAMESPACE = uuid.UUID("1b7f0c3e-8d55-5e0a-b7a1-6c2d9e4f3a10")
_SYLLABLES = ("nor", "vel", "tek", "ar", "cor", "dex", "ion", "ma", "stra", "pro", "lux", "fer", "gri", "ton")


def brand_name(i: int) -> str:
    a, b = _SYLLABLES[i % len(_SYLLABLES)], _SYLLABLES[(i // len(_SYLLABLES)) % len(_SYLLABLES)]
    return (a + b).capitalize() + ("" if i < len(_SYLLABLES) ** 2 else str(i))


@dataclass(frozen=True, slots=True)
class BenchRows:
    categories: list[tuple[Any, ...]]
    products: list[tuple[Any, ...]]
    skus: list[tuple[Any, ...]]


CATEGORY_COLUMNS = ("id", "tenant_id", "parent_id", "code", "name", "position", "attribute_schema")
PRODUCT_COLUMNS = (
    "id",
    "tenant_id",
    "category_id",
    "vendor_id",
    "name",
    "brand",
    "description",
    "status",
    "attributes",
    "media_urls",
    "external_ref",
    "version",
    "sku_codes",
    "facet_tags",
)
SKU_COLUMNS = (
    "id",
    "tenant_id",
    "product_id",
    "code",
    "name",
    "attributes",
    "uom",
    "pack_quantity",
    "content_uom",
)


def _series() -> Iterator[int]:
    n = 0
    while True:
        yield n
        n += 1


def build(tenant_id: uuid.UUID, vendors: list[uuid.UUID], sku_target: int) -> BenchRows:
    categories = [
        (
            category_id(c.code),
            tenant_id,
            category_id(c.parent) if c.parent else None,
            c.code,
            c.name,
            i,
            orjson.dumps([a.to_json() for a in c.attributes]).decode(),
        )
        for i, c in enumerate(DEMO_CATEGORIES)
    ]
    products: list[tuple[Any, ...]] = []
    skus: list[tuple[Any, ...]] = []
    for series in _series():
        for k, demo in enumerate(DEMO_PRODUCTS):
            if len(skus) >= sku_target:
                return BenchRows(categories, products, skus)
            brand = brand_name(series) if series else demo.brand
            ref = f"{demo.ref}-S{series:04d}"
            pid = uuid.uuid5(BENCH_NAMESPACE, f"product:{ref}")
            name = demo.name.replace(demo.brand, brand) + (f" series {series}" if series else "")
            codes = [f"{s.code}-S{series:04d}" for s in demo.skus]
            facets = facet_values(demo.attributes, *(s.attributes for s in demo.skus))
            products.append(
                (
                    pid,
                    tenant_id,
                    category_id(demo.category),
                    vendors[(series + k) % len(vendors)],
                    name[:200],
                    brand,
                    demo.description,
                    demo.status.value,
                    orjson.dumps(demo.attributes).decode(),
                    list(demo.media_urls),
                    ref,
                    1,
                    " ".join(codes),
                    sorted(f"{n}={v}" for n, vs in facets.items() for v in vs),
                )
            )
            for code, s in zip(codes, demo.skus, strict=True):
                skus.append(
                    (
                        uuid.uuid5(BENCH_NAMESPACE, f"sku:{code}"),
                        tenant_id,
                        pid,
                        code,
                        s.name.replace(demo.brand, brand)[:200],
                        orjson.dumps(s.attributes).decode(),
                        s.uom,
                        Decimal(s.pack_quantity),
                        s.content_uom,
                    )
                )
    raise AssertionError("unreachable")
