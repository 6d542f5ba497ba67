"""Demo data of finance (idempotent: fixed keys, `ON CONFLICT DO NOTHING`):

- `finance.org_units`: the orgs seed's organization tree (the orgs events would bring the same);
- Northwind (BUYER_ID) buys on NET 30 with 50,000.00 credit lines in EUR and in USD (the demo
  catalog's prices are USD), its plants inherit both;
  it buys through the Corner Hardware shop (level-1 distributor);
- Harbor Shipyards (BUYER2_ID) is PREPAID; Summit Mining (BUYER3_ID) buys ON_FULFILMENT with
  5,000.00 lines in EUR and USD;
- the S2B2C design's sharing rule (5 / 60 / 20 / 15) and a settlement delay of 7 days.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from subgraphs.finance.models import (
    BuyerProfile,
    CreditLine,
    KnownTenant,
    OrgUnit,
    SharingRuleRow,
    TenantFinance,
)
from subgraphs.orgs import seed as orgs_seed


async def _insert(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(model).values(rows).on_conflict_do_nothing())


def _org_units(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant_id,
            "id": org["id"],
            "parent_id": org.get("parent_id"),
            "kind": org.get("kind"),
            "name": org.get("name"),
        }
        for org in orgs_seed.ORGANIZATIONS
        if org.get("tenant_id") == tenant_id
    ]


async def seed(db: Database) -> None:
    tenant = orgs_seed.DEMO_TENANT_ID
    async with db.session() as session:
        await _insert(session, KnownTenant, [{"tenant_id": tenant}, {"tenant_id": orgs_seed.OTHER_TENANT_ID}])
    async with db.tenant_session(tenant) as session:
        await _insert(session, OrgUnit, _org_units(tenant))
        await _insert(
            session,
            BuyerProfile,
            [
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER_ID,
                    "terms": "NET_30",
                    "level1_distributor_id": orgs_seed.DISTRIBUTOR_ID,
                },
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER2_ID,
                    "terms": "PREPAID",
                    "level1_distributor_id": None,
                },
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER3_ID,
                    "terms": "ON_FULFILMENT",
                    "level1_distributor_id": None,
                },
            ],
        )
        await _insert(
            session,
            CreditLine,
            [
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER_ID,
                    "currency": "EUR",
                    "credit_limit": Decimal("50000.00"),
                },
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER3_ID,
                    "currency": "EUR",
                    "credit_limit": Decimal("5000.00"),
                },
                # USD: the currency of the demo prices (lines are not converted between currencies).
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER_ID,
                    "currency": "USD",
                    "credit_limit": Decimal("50000.00"),
                },
                {
                    "tenant_id": tenant,
                    "organization_id": orgs_seed.BUYER3_ID,
                    "currency": "USD",
                    "credit_limit": Decimal("5000.00"),
                },
            ],
        )
        await _insert(
            session,
            SharingRuleRow,
            [
                {
                    "tenant_id": tenant,
                    "platform_fee": Decimal(5),
                    "supplier": Decimal(60),
                    "level1": Decimal(20),
                    "level2": Decimal(15),
                    "remainder_policy": "LARGEST_REMAINDER",
                }
            ],
        )
        await _insert(
            session, TenantFinance, [{"tenant_id": tenant, "settlement_delay_seconds": 7 * 24 * 3600}]
        )
    async with db.tenant_session(orgs_seed.OTHER_TENANT_ID) as session:
        await _insert(session, OrgUnit, _org_units(orgs_seed.OTHER_TENANT_ID))
