"""Demo data of the orgs subgraph: one tenant (an industrial MRO marketplace), its organizations,
users and memberships. Idempotent: fixed ids and `ON CONFLICT DO NOTHING`, so seeding twice
changes nothing. Other subgraphs' seeds refer to these ids through `DEMO_*` constants.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from shared.ids import stable_id
from subgraphs.orgs.models import Membership, Organization, Tenant, User

DEMO_TENANT_ID = stable_id("tenant", "acme-mro")
DEMO_TENANT_SLUG = "acme-mro"
# A second tenant, so tenant isolation is visible in the demo data too.
OTHER_TENANT_ID = stable_id("tenant", "globex")

PLATFORM_ID = stable_id("org", "acme-mro", "platform")
SUPPLIER_ID = stable_id("org", "acme-mro", "bolt-industrial")
BUYER_ID = stable_id("org", "acme-mro", "northwind")
BUYER_PLANT_ID = stable_id("org", "acme-mro", "northwind-plant-2")
DISTRIBUTOR_ID = stable_id("org", "acme-mro", "corner-hardware")
OTHER_SUPPLIER_ID = stable_id("org", "globex", "globex-steel")

ADMIN_USER_ID = stable_id("user", "acme-mro", "admin")
SUPPLIER_USER_ID = stable_id("user", "acme-mro", "sam.supplier")
BUYER_USER_ID = stable_id("user", "acme-mro", "bea.buyer")
APPROVER_USER_ID = stable_id("user", "acme-mro", "abe.approver")
OTHER_USER_ID = stable_id("user", "globex", "admin")

TENANTS: list[dict[str, Any]] = [
    {"id": DEMO_TENANT_ID, "slug": DEMO_TENANT_SLUG, "name": "Acme MRO Marketplace"},
    {"id": OTHER_TENANT_ID, "slug": "globex", "name": "Globex Steel Network"},
]

ORGANIZATIONS: list[dict[str, Any]] = [
    {
        "id": PLATFORM_ID,
        "tenant_id": DEMO_TENANT_ID,
        "kind": "PLATFORM",
        "name": "Acme MRO",
        "parent_id": None,
    },
    {"id": SUPPLIER_ID, "tenant_id": DEMO_TENANT_ID, "kind": "SUPPLIER", "name": "Bolt Industrial Supply"},
    {"id": BUYER_ID, "tenant_id": DEMO_TENANT_ID, "kind": "BUYER", "name": "Northwind Fabrication"},
    {
        "id": BUYER_PLANT_ID,
        "tenant_id": DEMO_TENANT_ID,
        "kind": "BUYER",
        "name": "Northwind Fabrication - Plant 2",
        "parent_id": BUYER_ID,
    },
    {
        "id": DISTRIBUTOR_ID,
        "tenant_id": DEMO_TENANT_ID,
        "kind": "DISTRIBUTOR",
        "name": "Corner Hardware Shop",
    },
    {"id": OTHER_SUPPLIER_ID, "tenant_id": OTHER_TENANT_ID, "kind": "SUPPLIER", "name": "Globex Steel"},
]

USERS: list[dict[str, Any]] = [
    {
        "id": ADMIN_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "admin@acme-mro.example",
        "display_name": "Ada Admin",
    },
    {
        "id": SUPPLIER_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "sam@bolt-industrial.example",
        "display_name": "Sam Supplier",
    },
    {
        "id": BUYER_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "bea@northwind.example",
        "display_name": "Bea Buyer",
    },
    {
        "id": APPROVER_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "abe@northwind.example",
        "display_name": "Abe Approver",
    },
    {
        "id": OTHER_USER_ID,
        "tenant_id": OTHER_TENANT_ID,
        "email": "admin@globex.example",
        "display_name": "Gus Globex",
    },
]

MEMBERSHIPS: list[dict[str, Any]] = [
    {"user_id": ADMIN_USER_ID, "organization_id": PLATFORM_ID, "roles": ["platform_admin"]},
    {"user_id": SUPPLIER_USER_ID, "organization_id": SUPPLIER_ID, "roles": ["supplier_admin"]},
    {"user_id": BUYER_USER_ID, "organization_id": BUYER_ID, "roles": ["buyer"]},
    {"user_id": BUYER_USER_ID, "organization_id": BUYER_PLANT_ID, "roles": ["buyer"]},
    {"user_id": APPROVER_USER_ID, "organization_id": BUYER_ID, "roles": ["approver", "buyer"]},
]


def _tenant_of(rows: list[dict[str, Any]], tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return [row for row in rows if row["tenant_id"] == tenant_id]


async def seed(db: Database) -> None:
    users_by_id = {u["id"]: u for u in USERS}
    for tenant in TENANTS:
        tid = tenant["id"]
        async with db.tenant_session(tid) as session:
            await session.execute(insert(Tenant).values(**tenant).on_conflict_do_nothing())
            # Parents before children (the list is ordered so).
            for org in _tenant_of(ORGANIZATIONS, tid):
                await session.execute(
                    insert(Organization).values({"parent_id": None, **org}).on_conflict_do_nothing()
                )
            users = _tenant_of(USERS, tid)
            if users:
                await session.execute(insert(User).values(users).on_conflict_do_nothing())
            memberships = [
                {
                    "id": stable_id("membership", str(m["user_id"]), str(m["organization_id"])),
                    "tenant_id": tid,
                    **m,
                }
                for m in MEMBERSHIPS
                if users_by_id[m["user_id"]]["tenant_id"] == tid
            ]
            if memberships:
                await session.execute(insert(Membership).values(memberships).on_conflict_do_nothing())
