"""Deterministic ids of the catalog demo data (stable API: other seeds refer to these ids).

Every id is `uuid5(CATALOG_NAMESPACE, "<kind>:<natural key>")`, so any seed (pricing, stock,
orders) can compute the id of a demo SKU or product from its code without reading the catalog
database, and re-running a seed never creates duplicates:

    from subgraphs.catalog.demo_ids import sku_id, product_id
    sku_id("GLV-NIT-100-M")          # the SKU whose code is GLV-NIT-100-M
    product_id("GLV-NIT-100")        # the product whose external reference is GLV-NIT-100

The natural keys are the SKU code (upper case) and the product reference as they appear in
`subgraphs/catalog/demo_data.py` (`DEMO_PRODUCTS[i].ref`, `.skus[j].code`); `demo_sku_codes()`
lists them all. These formulas and the namespace never change; demo rows may be added.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would change every demo id.
CATALOG_NAMESPACE = uuid.UUID("6f1c8a52-3b7e-5d21-9a4c-0c2f7e1d9b30")


def _id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(CATALOG_NAMESPACE, f"{kind}:{key}")


def sku_id(code: str) -> uuid.UUID:
    """Id of the demo SKU with this code (case-insensitive)."""
    return _id("sku", code.strip().upper())


def product_id(ref: str) -> uuid.UUID:
    """Id of the demo product with this external reference (its SKU code stem, e.g. `GLV-NIT-100`)."""
    return _id("product", ref.strip().upper())


def category_id(code: str) -> uuid.UUID:
    """Id of the demo category with this code (`gloves`, `drills`, `welding-wire`...)."""
    return _id("category", code.strip().lower())


def publication_id(code: str) -> uuid.UUID:
    """Id of the demo buyer catalog (publication) with this code."""
    return _id("publication", code.strip().lower())


def demo_sku_codes() -> list[str]:
    """Every demo SKU code, in demo data order."""
    from subgraphs.catalog.demo_data import DEMO_PRODUCTS

    return [sku.code for product in DEMO_PRODUCTS for sku in product.skus]


def demo_product_refs() -> list[str]:
    from subgraphs.catalog.demo_data import DEMO_PRODUCTS

    return [product.ref for product in DEMO_PRODUCTS]
