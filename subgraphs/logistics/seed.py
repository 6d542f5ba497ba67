"""Demo data of the logistics subgraph.

- Acme MRO (demo tenant): the stock seed's shipping locations, with the same ids (so stock's
  allocations route with costs): Bolt Industrial's Chicago (`MAIN_LOCATION_ID`) and Dallas
  (`SOUTH_LOCATION_ID`) warehouses, Forge Welding's Pittsburgh warehouse and the platform's
  Memphis hub; two sandbox carriers (a cheap standard one and a better, dearer express one) and
  the default routing rules.
- Globex (the second tenant): its stock warehouse (Gary) and one sandbox carrier, to make
  isolation visible.

Orders and shipments are not seeded: they come from the order saga's events. Webhook secrets are
fixed demo values (`demo-webhook-secret-<code>`), never to be used outside the dev stack.
Idempotent: fixed ids and `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from shared.ids import stable_id
from subgraphs.logistics import routing
from subgraphs.logistics.models import Carrier, JobTenant, TenantSettings, Warehouse
from subgraphs.orgs import seed as orgs_seed

TENANT_ID = orgs_seed.DEMO_TENANT_ID
OTHER_TENANT_ID = orgs_seed.OTHER_TENANT_ID


def _stock_location(code: str) -> uuid.UUID:
    """The id the stock seed gives its location `code` (`subgraphs.stock.seed.location_id`; the
    import contracts keep logistics from importing stock, tests/integration checks they match)."""
    return stable_id("stock_location", code.lower())


MAIN_LOCATION_ID = _stock_location("bolt-chi")
SOUTH_LOCATION_ID = _stock_location("bolt-dal")
PITTSBURGH_LOCATION_ID = _stock_location("forge-pit")
HUB_LOCATION_ID = _stock_location("acme-hub")
GLOBEX_LOCATION_ID = _stock_location("globex-gary")
STANDARD_CARRIER_ID = stable_id("carrier", "acme-mro", "sbx-standard")
EXPRESS_CARRIER_ID = stable_id("carrier", "acme-mro", "sbx-express")
GLOBEX_CARRIER_ID = stable_id("carrier", "globex", "sbx-standard")


def _warehouse(tenant: uuid.UUID, location: uuid.UUID, name: str, country: str, cost: str) -> dict[str, Any]:
    return {
        "id": stable_id("warehouse", str(tenant), str(location)),
        "tenant_id": tenant,
        "location_id": location,
        "name": name,
        "country": country,
        "region": None,
        "cost_per_parcel": Decimal(cost),
        "currency": "EUR",
    }


def _carrier(
    tenant: uuid.UUID, carrier_id: uuid.UUID, code: str, name: str, quality: str, price: str
) -> dict[str, Any]:
    return {
        "id": carrier_id,
        "tenant_id": tenant,
        "code": code,
        "name": name,
        "kind": "SANDBOX",
        "quality": Decimal(quality),
        "price_per_parcel": Decimal(price),
        "currency": "EUR",
        "countries": [],
        "webhook_secret": f"demo-webhook-secret-{code.lower()}",
        "active": True,
    }


def _settings(tenant: uuid.UUID) -> dict[str, Any]:
    return {
        "id": stable_id("logistics_settings", str(tenant)),
        "tenant_id": tenant,
        "routing_weights": routing.Weights().to_json(),
        "wave_size": 50,
        "wave_interval_seconds": 900,
        "stale_after_seconds": 72 * 3600,
    }


async def seed(db: Database) -> None:
    async with db.session() as session:
        for tenant in (TENANT_ID, OTHER_TENANT_ID):
            await session.execute(insert(JobTenant).values(tenant_id=tenant).on_conflict_do_nothing())
    async with db.tenant_session(TENANT_ID) as session:
        await session.execute(insert(TenantSettings).values([_settings(TENANT_ID)]).on_conflict_do_nothing())
        await session.execute(
            insert(Warehouse)
            .values(
                [
                    _warehouse(TENANT_ID, MAIN_LOCATION_ID, "Bolt Industrial - Chicago", "US", "4.5000"),
                    _warehouse(TENANT_ID, SOUTH_LOCATION_ID, "Bolt Industrial - Dallas", "US", "6.0000"),
                    _warehouse(TENANT_ID, PITTSBURGH_LOCATION_ID, "Forge Welding - Pittsburgh", "US", "5"),
                    _warehouse(TENANT_ID, HUB_LOCATION_ID, "Acme MRO fulfilment hub", "US", "3.5000"),
                ]
            )
            .on_conflict_do_nothing()
        )
        await session.execute(
            insert(Carrier)
            .values(
                [
                    _carrier(
                        TENANT_ID, STANDARD_CARRIER_ID, "SBX-STANDARD", "Sandbox Standard", "0.85", "5.9000"
                    ),
                    _carrier(
                        TENANT_ID, EXPRESS_CARRIER_ID, "SBX-EXPRESS", "Sandbox Express", "0.98", "9.9000"
                    ),
                ]
            )
            .on_conflict_do_nothing()
        )
    async with db.tenant_session(OTHER_TENANT_ID) as session:
        await session.execute(
            insert(TenantSettings).values([_settings(OTHER_TENANT_ID)]).on_conflict_do_nothing()
        )
        await session.execute(
            insert(Warehouse)
            .values([_warehouse(OTHER_TENANT_ID, GLOBEX_LOCATION_ID, "Globex Steel - Gary", "US", "3.0000")])
            .on_conflict_do_nothing()
        )
        await session.execute(
            insert(Carrier)
            .values(
                [_carrier(OTHER_TENANT_ID, GLOBEX_CARRIER_ID, "SBX-STANDARD", "Sandbox Standard", "0.8", "4")]
            )
            .on_conflict_do_nothing()
        )
