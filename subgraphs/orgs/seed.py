"""Demo data of the orgs subgraph: one tenant (an industrial MRO marketplace), its organizations,
users and memberships. Idempotent: fixed ids and `ON CONFLICT DO NOTHING`, so seeding twice
changes nothing. Other subgraphs' seeds refer to these ids through `DEMO_*` constants (add new
ones at the end of the lists; never rename or reorder: catalog picks suppliers by position).

Every demo user logs in with `DEMO_PASSWORD` (docs/orgs.md; demo only).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from shared.ids import stable_id
from subgraphs.orgs.models import Membership, Organization, Tenant, User
from subgraphs.orgs.passwords import hash_password_async

DEMO_PASSWORD = "demo-password-2026"

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
SUPPLIER2_ID = stable_id("org", "acme-mro", "forge-welding")
BUYER2_ID = stable_id("org", "acme-mro", "harbor-shipyards")
BUYER3_ID = stable_id("org", "acme-mro", "summit-mining")
BUYER_PLANT3_ID = stable_id("org", "acme-mro", "northwind-plant-3")

ADMIN_USER_ID = stable_id("user", "acme-mro", "admin")
SUPPLIER_USER_ID = stable_id("user", "acme-mro", "sam.supplier")
BUYER_USER_ID = stable_id("user", "acme-mro", "bea.buyer")
APPROVER_USER_ID = stable_id("user", "acme-mro", "abe.approver")
OTHER_USER_ID = stable_id("user", "globex", "admin")
BUYER_ADMIN_USER_ID = stable_id("user", "acme-mro", "nora.buyer-admin")
FINANCE_USER_ID = stable_id("user", "acme-mro", "fin.finance")
SUPPLIER_STAFF_USER_ID = stable_id("user", "acme-mro", "stan.staff")
SUPPLIER2_USER_ID = stable_id("user", "acme-mro", "fay.forge")
BUYER2_USER_ID = stable_id("user", "acme-mro", "hal.harbor")
BUYER3_USER_ID = stable_id("user", "acme-mro", "sue.summit")
DISTRIBUTOR_USER_ID = stable_id("user", "acme-mro", "cora.corner")

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
    {"id": SUPPLIER2_ID, "tenant_id": DEMO_TENANT_ID, "kind": "SUPPLIER", "name": "Forge Welding Supply"},
    {"id": BUYER2_ID, "tenant_id": DEMO_TENANT_ID, "kind": "BUYER", "name": "Harbor Shipyards"},
    {"id": BUYER3_ID, "tenant_id": DEMO_TENANT_ID, "kind": "BUYER", "name": "Summit Mining"},
    {
        "id": BUYER_PLANT3_ID,
        "tenant_id": DEMO_TENANT_ID,
        "kind": "BUYER",
        "name": "Northwind Fabrication - Plant 3",
        "parent_id": BUYER_ID,
    },
]

# Business-unit settings (inherited downward: the Northwind plants take USD / NET30 from the parent,
# Plant 3 overrides the payment terms).
ORGANIZATION_SETTINGS: dict[uuid.UUID, dict[str, str]] = {
    PLATFORM_ID: {"currency": "USD", "payment_terms": "NET30"},
    BUYER_ID: {"currency": "USD", "payment_terms": "NET30"},
    BUYER_PLANT3_ID: {"payment_terms": "NET45"},
    BUYER2_ID: {"currency": "EUR", "payment_terms": "NET60"},
    BUYER3_ID: {"currency": "USD", "payment_terms": "PREPAID"},
}

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
    {
        "id": BUYER_ADMIN_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "nora@northwind.example",
        "display_name": "Nora Buyer-Admin",
    },
    {
        "id": FINANCE_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "fin@northwind.example",
        "display_name": "Finn Finance",
    },
    {
        "id": SUPPLIER_STAFF_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "stan@bolt-industrial.example",
        "display_name": "Stan Staff",
    },
    {
        "id": SUPPLIER2_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "fay@forge-welding.example",
        "display_name": "Fay Forge",
    },
    {
        "id": BUYER2_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "hal@harbor-shipyards.example",
        "display_name": "Hal Harbor",
    },
    {
        "id": BUYER3_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "sue@summit-mining.example",
        "display_name": "Sue Summit",
    },
    {
        "id": DISTRIBUTOR_USER_ID,
        "tenant_id": DEMO_TENANT_ID,
        "email": "cora@corner-hardware.example",
        "display_name": "Cora Corner",
    },
]

MEMBERSHIPS: list[dict[str, Any]] = [
    {"user_id": ADMIN_USER_ID, "organization_id": PLATFORM_ID, "roles": ["platform_admin"]},
    {"user_id": SUPPLIER_USER_ID, "organization_id": SUPPLIER_ID, "roles": ["supplier_admin"]},
    {"user_id": BUYER_USER_ID, "organization_id": BUYER_ID, "roles": ["buyer"]},
    {"user_id": BUYER_USER_ID, "organization_id": BUYER_PLANT_ID, "roles": ["buyer"]},
    {"user_id": APPROVER_USER_ID, "organization_id": BUYER_ID, "roles": ["approver", "buyer"]},
    {"user_id": OTHER_USER_ID, "organization_id": OTHER_SUPPLIER_ID, "roles": ["platform_admin"]},
    {"user_id": BUYER_ADMIN_USER_ID, "organization_id": BUYER_ID, "roles": ["buyer_admin"]},
    {"user_id": FINANCE_USER_ID, "organization_id": BUYER_ID, "roles": ["finance"]},
    {"user_id": SUPPLIER_STAFF_USER_ID, "organization_id": SUPPLIER_ID, "roles": ["supplier_staff"]},
    {"user_id": SUPPLIER2_USER_ID, "organization_id": SUPPLIER2_ID, "roles": ["supplier_admin"]},
    {"user_id": BUYER2_USER_ID, "organization_id": BUYER2_ID, "roles": ["buyer_admin"]},
    {"user_id": BUYER3_USER_ID, "organization_id": BUYER3_ID, "roles": ["buyer_admin"]},
    {"user_id": DISTRIBUTOR_USER_ID, "organization_id": DISTRIBUTOR_ID, "roles": ["distributor_admin"]},
]


def _tenant_of(rows: list[dict[str, Any]], tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return [row for row in rows if row["tenant_id"] == tenant_id]


async def seed(db: Database) -> None:
    users_by_id = {u["id"]: u for u in USERS}
    # One argon2 hash for every demo user (same password; seeding stays fast).
    password_hash = await hash_password_async(DEMO_PASSWORD)
    for tenant in TENANTS:
        tid = tenant["id"]
        async with db.tenant_session(tid) as session:
            await session.execute(insert(Tenant).values(**tenant).on_conflict_do_nothing())
            # Parents before children (the list is ordered so).
            for org in _tenant_of(ORGANIZATIONS, tid):
                values = {"parent_id": None, **org, **ORGANIZATION_SETTINGS.get(org["id"], {})}
                await session.execute(insert(Organization).values(values).on_conflict_do_nothing())
            users = _tenant_of(USERS, tid)
            if users:
                await session.execute(
                    insert(User)
                    .values([{**u, "password_hash": password_hash} for u in users])
                    .on_conflict_do_nothing()
                )
                # Demo users seeded before passwords existed get one; a changed password is kept.
                await session.execute(
                    update(User)
                    .where(User.id.in_([u["id"] for u in users]), User.password_hash.is_(None))
                    .values(password_hash=password_hash)
                )
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
