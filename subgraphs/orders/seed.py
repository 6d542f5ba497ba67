"""Demo data of the orders subgraph, over the orgs seed's organizations.

- `orders.org_units`: the orgs seed's organization tree (the events would bring the same).
- Settings of the demo tenant: payment approved on placement (the default, written out).
- Northwind's approval rule: orders over 5,000.00 USD need the `approver` role (inherited by
  the Northwind plants).

Idempotent: fixed ids and `ON CONFLICT DO NOTHING`. No demo orders (they would need the stock
side of the saga to be meaningful; the e2e stack places them through the API).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from shared.ids import stable_id
from subgraphs.orders.models import ApprovalRule, OrderSettings, OrgUnit
from subgraphs.orgs import seed as orgs_seed

TENANT_ID = orgs_seed.DEMO_TENANT_ID
NORTHWIND_RULE_ID = stable_id("approval_rule", "acme-mro", "northwind-over-5000")


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
