"""Demo data of the catalog: the MRO categories, 200+ products with ~1000 SKUs, buyer catalogs.

Idempotent: every id is deterministic (`demo_ids`), rows that exist are left alone. Loads into the
orgs seed's demo tenant; vendors and buyers are the orgs seed's organizations (read from its
constants, not its tables): `supplier-a` is the tenant's first supplier, `supplier-b` its second
(or the first again while there is only one); the steel contract catalog goes to the first buyer.
The catalog's organization projection is filled from the same constants, as the
`orgs.organization_created` events would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from subgraphs.catalog import demo_ids, repository
from subgraphs.catalog.demo_data import (
    DEMO_CATEGORIES,
    DEMO_PRODUCTS,
    DEMO_PUBLICATIONS,
    SUPPLIER_A,
    SUPPLIER_B,
)
from subgraphs.catalog.models import Category, OrganizationRef, Product
from subgraphs.catalog.service import ProductInput, SkuInput, validate_product


def demo_organizations() -> tuple[uuid.UUID, list[dict[str, Any]]]:
    """(demo tenant id, its organizations as dicts with id, kind, parent_id) from the orgs seed."""
    from subgraphs.orgs import seed as orgs_seed

    tenant: uuid.UUID = orgs_seed.DEMO_TENANT_ID
    orgs = [
        {"id": o["id"], "kind": o["kind"], "parent_id": o.get("parent_id")}
        for o in orgs_seed.ORGANIZATIONS
        if o["tenant_id"] == tenant
    ]
    return tenant, orgs


def vendor_map(orgs: list[dict[str, Any]]) -> dict[str, uuid.UUID]:
    suppliers = [o["id"] for o in orgs if o["kind"] == "SUPPLIER"]
    if not suppliers:
        raise RuntimeError("the orgs seed has no supplier in the demo tenant")
    return {SUPPLIER_A: suppliers[0], SUPPLIER_B: suppliers[1] if len(suppliers) > 1 else suppliers[0]}


def buyer_map(orgs: list[dict[str, Any]]) -> dict[str, uuid.UUID]:
    buyers = [o["id"] for o in orgs if o["kind"] == "BUYER" and not o.get("parent_id")]
    return {"buyer-construction": buyers[0]} if buyers else {}


async def seed_tenant(
    db: Database,
    tenant_id: uuid.UUID,
    *,
    vendors: dict[str, uuid.UUID],
    buyers: dict[str, uuid.UUID],
    organizations: Sequence[dict[str, Any]] = (),
    products: int | None = None,
) -> int:
    """Load the demo catalog into `tenant_id`; returns the number of products created now.
    `products` limits how many demo products are loaded (tests)."""
    created = 0
    async with db.tenant_session(tenant_id) as session:
        for org in organizations:
            await session.execute(
                insert(OrganizationRef)
                .values(id=org["id"], tenant_id=tenant_id, kind=org["kind"], parent_id=org.get("parent_id"))
                .on_conflict_do_nothing()
            )
        for position, cat in enumerate(DEMO_CATEGORIES):
            await session.execute(
                insert(Category)
                .values(
                    id=demo_ids.category_id(cat.code),
                    tenant_id=tenant_id,
                    parent_id=demo_ids.category_id(cat.parent) if cat.parent else None,
                    code=cat.code,
                    name=cat.name,
                    position=position,
                    attribute_schema=[a.to_json() for a in cat.attributes],
                )
                .on_conflict_do_nothing()
            )
        tree = await repository.load_tree(session)
        wanted = DEMO_PRODUCTS if products is None else DEMO_PRODUCTS[:products]
        existing = set(
            (
                await session.scalars(
                    select(Product.id).where(Product.id.in_([demo_ids.product_id(p.ref) for p in wanted]))
                )
            ).all()
        )
        for demo in wanted:
            pid = demo_ids.product_id(demo.ref)
            if pid in existing:
                continue
            clean, issues = validate_product(
                ProductInput(
                    name=demo.name,
                    category_id=demo_ids.category_id(demo.category),
                    vendor_id=vendors[demo.vendor],
                    brand=demo.brand,
                    description=demo.description,
                    attributes=dict(demo.attributes),
                    media_urls=list(demo.media_urls),
                    external_ref=demo.ref,
                    skus=[
                        SkuInput(s.code, s.name, dict(s.attributes), s.uom, s.pack_quantity, s.content_uom)
                        for s in demo.skus
                    ],
                ),
                tree,
            )
            if clean is None:
                raise RuntimeError(f"demo product {demo.ref} is invalid: {issues}")
            await repository.create_product(
                session,
                tenant_id,
                clean,
                status=demo.status,
                product_id=pid,
                sku_ids={s.code.upper(): demo_ids.sku_id(s.code) for s in demo.skus},
            )
            created += 1
        for pub in DEMO_PUBLICATIONS:
            await repository.upsert_publication(
                session,
                tenant_id,
                publication_id=demo_ids.publication_id(pub.code),
                code=pub.code,
                name=pub.name,
                all_buyers=pub.all_buyers,
                category_ids=[demo_ids.category_id(c) for c in pub.categories],
                buyer_ids=[buyers[b] for b in pub.buyers if b in buyers],
            )
    return created


async def seed(db: Database) -> None:
    tenant_id, orgs = demo_organizations()
    await seed_tenant(db, tenant_id, vendors=vendor_map(orgs), buyers=buyer_map(orgs), organizations=orgs)
