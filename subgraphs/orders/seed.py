"""Demo data of the orders subgraph, over the orgs seed's organizations.

- `orders.org_units`: the orgs seed's organization tree (the events would bring the same).
- Settings of the demo tenant: payment approved on placement (the default, written out).
- Northwind's approval rule: orders over 5,000.00 USD need the `approver` role (inherited by
  the Northwind plants).

- Two demo purchases of Northwind (catalog demo SKUs, snapshot prices written out): Plant 2's
  work gloves and welding electrodes (two sellers: two orders, `placed`, so stock reserves them
  when the stack runs), and Northwind's 30 cordless drills (over 5,000 USD: `pending_approval`,
  in the approver's queue).

Idempotent: fixed ids and `ON CONFLICT DO NOTHING` (a demo purchase is made once, by its id).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.ids import stable_id
from subgraphs.catalog.demo_ids import category_id, sku_id
from subgraphs.orders import service
from subgraphs.orders.models import ApprovalRule, OrderSettings, OrgUnit, Purchase
from subgraphs.orgs import seed as orgs_seed

TENANT_ID = orgs_seed.DEMO_TENANT_ID
NORTHWIND_RULE_ID = stable_id("approval_rule", "acme-mro", "northwind-over-5000")
PLANT2_PURCHASE_ID = stable_id("purchase", "acme-mro", "northwind-plant-2-gloves-electrodes")
DRILLS_PURCHASE_ID = stable_id("purchase", "acme-mro", "northwind-drills")


def _line(code: str, category: str, name: str, seller: uuid.UUID, qty: int, unit: str) -> service.NewLine:
    price = Decimal(unit)
    return service.NewLine(
        sku_id=sku_id(code),
        quantity=qty,
        unit_price=price,
        line_total=(price * qty).quantize(Decimal("0.01")),
        seller_organization_id=seller,
        sku_code=code,
        product_name=name,
        category_id=category_id(category),
        price_source="PRICE_LIST",
    )


DEMO_PURCHASES: tuple[tuple[uuid.UUID, service.Placement], ...] = (
    (
        PLANT2_PURCHASE_ID,
        service.Placement(
            buyer_organization_id=orgs_seed.BUYER_PLANT_ID,
            placed_by=orgs_seed.BUYER_USER_ID,
            currency="USD",
            lines=[
                _line("GLV-WRK01-DX-M", "work-gloves", "Work gloves", orgs_seed.SUPPLIER_ID, 20, "6.1200"),
                _line(
                    "WLD-ELC-E6013-25K-AL-20",
                    "electrodes",
                    "E6013 electrodes",
                    orgs_seed.SUPPLIER2_ID,
                    4,
                    "30.4000",
                ),
            ],
            delivery={"country": "US", "city": "Austin", "postal_code": "78701"},
            po_number="NW-P2-0001",
            purchase_id=PLANT2_PURCHASE_ID,
        ),
    ),
    (
        DRILLS_PURCHASE_ID,
        service.Placement(
            buyer_organization_id=orgs_seed.BUYER_ID,
            placed_by=orgs_seed.BUYER_USER_ID,
            currency="USD",
            lines=[
                _line(
                    "PT-DRL-VO12-DRI30-B", "drills", "Cordless drill", orgs_seed.SUPPLIER_ID, 30, "179.5500"
                )
            ],
            po_number="NW-0042",
            purchase_id=DRILLS_PURCHASE_ID,
        ),
    ),
)


async def _demo_purchases(session: AsyncSession) -> None:
    for purchase_id, placement in DEMO_PURCHASES:
        if await session.get(Purchase, purchase_id) is None:
            await service.create_purchase(session, TENANT_ID, placement, actor="seed")


def _org_units(tenant_id: object) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant_id,
            "id": org["id"],
            "parent_id": org.get("parent_id"),
            "kind": org.get("kind"),
            "name": org.get("name"),
        }
        for org in orgs_seed.ORGANIZATIONS
        if org["tenant_id"] == tenant_id
    ]


async def seed(db: Database) -> None:
    for tenant in (orgs_seed.DEMO_TENANT_ID, orgs_seed.OTHER_TENANT_ID):
        rows = _org_units(tenant)
        async with db.tenant_session(tenant) as session:
            if rows:
                await session.execute(insert(OrgUnit).values(rows).on_conflict_do_nothing())
    async with db.tenant_session(TENANT_ID) as session:
        await session.execute(
            insert(OrderSettings)
            .values(tenant_id=TENANT_ID, approve_payment_on_placement=True, reserve_for_seconds=None)
            .on_conflict_do_nothing()
        )
        await session.execute(
            insert(ApprovalRule)
            .values(
                id=NORTHWIND_RULE_ID,
                tenant_id=TENANT_ID,
                organization_id=orgs_seed.BUYER_ID,
                name="Orders over 5,000 USD",
                min_total=Decimal("5000.00"),
                currency="USD",
                tiers=["approver"],
                position=0,
                active=True,
            )
            .on_conflict_do_nothing()
        )
    # After the rule: the drills purchase must meet it.
    async with db.tenant_session(TENANT_ID) as session:
        await _demo_purchases(session)
