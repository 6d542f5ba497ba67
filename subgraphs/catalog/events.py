"""Events of the catalog domain.

Published (stream `CATALOG`, subjects `catalog.<tenant>.<event>`), each written to
`catalog.outbox` in the transaction of the change:

- `catalog.product_created`  data: {id, external_ref, name, status, vendor_id, category_id, version,
                                    skus: [{id, code, uom, pack_quantity, content_uom}]}
- `catalog.product_updated`  the same shape, plus `change`: UPDATED | PUBLISHED | ARCHIVED |
                             UNARCHIVED | IMPORTED (what happened; `status` is the new status)

Consumed:

- `orgs.organization_created` (durable `catalog-organizations`): keeps `catalog.organizations`,
  the projection of organization kinds and parents that buyer catalogs and vendor rights use.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, IdempotentConsumer
from subgraphs.catalog.models import SCHEMA, OrganizationRef, Product, Sku

DOMAIN = "catalog"
PRODUCT_CREATED = "product_created"
PRODUCT_UPDATED = "product_updated"


def _product_data(product: Product, skus: list[Sku]) -> dict[str, Any]:
    return {
        "id": str(product.id),
        "external_ref": product.external_ref,
        "name": product.name,
        "status": product.status,
        "vendor_id": str(product.vendor_id),
        "category_id": str(product.category_id),
        "version": product.version,
        "skus": [
            {
                "id": str(s.id),
                "code": s.code,
                "uom": s.uom,
                "pack_quantity": str(s.pack_quantity.normalize()),
                "content_uom": s.content_uom,
            }
            for s in skus
        ],
    }


def product_created(product: Product, skus: list[Sku]) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        PRODUCT_CREATED,
        tenant_id=product.tenant_id,
        subject_id=product.id,
        data=_product_data(product, skus),
    )


def product_updated(product: Product, skus: list[Sku], change: str) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        PRODUCT_UPDATED,
        tenant_id=product.tenant_id,
        subject_id=product.id,
        data={**_product_data(product, skus), "change": change},
    )


class OrganizationProjection(IdempotentConsumer):
    """Records each new organization's kind and parent in `catalog.organizations`."""

    name: ClassVar[str] = "catalog-organizations"
    schema: ClassVar[str] = SCHEMA
    domain: ClassVar[str] = "orgs"
    filter_subject: ClassVar[str] = "orgs.*.organization_created"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        data = event.data
        parent = data.get("parent_id")
        await upsert_organization(
            session,
            tenant_id=event.tenant_id,
            organization_id=uuid.UUID(str(data["id"])),
            kind=str(data["kind"]),
            parent_id=uuid.UUID(str(parent)) if parent else None,
        )


async def upsert_organization(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    kind: str,
    parent_id: uuid.UUID | None,
) -> None:
    stmt = insert(OrganizationRef).values(
        id=organization_id, tenant_id=tenant_id, kind=kind, parent_id=parent_id
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[OrganizationRef.id], set_={"kind": kind, "parent_id": parent_id}
        )
    )
