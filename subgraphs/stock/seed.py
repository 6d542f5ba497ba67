"""Demo data of the stock subgraph, over the orgs seed's organizations and the catalog's demo SKUs.

- Bolt Industrial (supplier-a): warehouses Chicago (priority 10) and Dallas (20).
- Forge Welding (supplier-b): warehouse Pittsburgh (10).
- The platform: an allocatable hub in Memphis (kind platform, priority 50).
- Corner Hardware (distributor): a shop displaying 50 % of the hub's stock, at most 25 units.
- Globex (the other tenant): one warehouse, to make tenant isolation visible.
- A level for every demo SKU at its vendor's main warehouse (on hand from a hash of the code),
  every other supplier-a SKU also in Dallas, every fifth SKU at the hub; every 17th SKU is low
  (3 on hand, threshold 10). Each opening balance is a `receipt` movement, so the movement log
  sums to on_hand from the start.

Idempotent: fixed ids and `ON CONFLICT DO NOTHING`. Seeds write no events.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from shared.db import Database
from shared.ids import stable_id
from subgraphs.catalog.demo_data import DEMO_PRODUCTS, SUPPLIER_A
from subgraphs.catalog.demo_ids import sku_id
from subgraphs.orgs import seed as orgs_seed
from subgraphs.stock.models import Level, Location, Movement

TENANT_ID = orgs_seed.DEMO_TENANT_ID
OTHER_TENANT_ID = orgs_seed.OTHER_TENANT_ID


def location_id(code: str) -> uuid.UUID:
    return stable_id("stock_location", code.lower())


CHICAGO_ID = location_id("bolt-chi")
DALLAS_ID = location_id("bolt-dal")
PITTSBURGH_ID = location_id("forge-pit")
HUB_ID = location_id("acme-hub")
SHOP_ID = location_id("corner-shop")
GLOBEX_ID = location_id("globex-gary")


def _loc(
    id_: uuid.UUID,
    org: uuid.UUID,
    code: str,
    name: str,
    kind: str,
    priority: int,
    region: str,
    postal: str,
    city: str,
    lat: float,
    lon: float,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": id_,
        "organization_id": org,
        "code": code,
        "name": name,
        "kind": kind,
        "priority": priority,
        "country": "US",
        "region": region,
        "postal_code": postal,
        "city": city,
        "latitude": lat,
        "longitude": lon,
        "active": True,
        "source_location_id": None,
        "display_share_percent": None,
        "display_cap": None,
        **extra,
    }


LOCATIONS: list[dict[str, Any]] = [
    _loc(
        CHICAGO_ID,
        orgs_seed.SUPPLIER_ID,
        "BOLT-CHI",
        "Bolt Industrial - Chicago",
        "warehouse",
        10,
        "IL",
        "60607",
        "Chicago",
        41.8757,
        -87.6510,
    ),
    _loc(
        DALLAS_ID,
        orgs_seed.SUPPLIER_ID,
        "BOLT-DAL",
        "Bolt Industrial - Dallas",
        "warehouse",
        20,
        "TX",
        "75201",
        "Dallas",
        32.7876,
        -96.7994,
    ),
    _loc(
        PITTSBURGH_ID,
        orgs_seed.SUPPLIER2_ID,
        "FORGE-PIT",
        "Forge Welding - Pittsburgh",
        "warehouse",
        10,
        "PA",
        "15222",
        "Pittsburgh",
        40.4469,
        -79.9901,
    ),
    _loc(
        HUB_ID,
        orgs_seed.PLATFORM_ID,
        "ACME-HUB",
        "Acme MRO fulfilment hub",
        "platform",
        50,
        "TN",
        "38118",
        "Memphis",
        35.0526,
        -89.9797,
    ),
    _loc(
        SHOP_ID,
        orgs_seed.DISTRIBUTOR_ID,
        "CORNER-SHOP",
        "Corner Hardware shop display",
        "shop",
        100,
        "OH",
        "44113",
        "Cleveland",
        41.4822,
        -81.6970,
        source_location_id=HUB_ID,
        display_share_percent=50,
        display_cap=25,
    ),
]
OTHER_LOCATIONS: list[dict[str, Any]] = [
    _loc(
        GLOBEX_ID,
        orgs_seed.OTHER_SUPPLIER_ID,
        "GLOBEX-GARY",
        "Globex Steel - Gary",
        "warehouse",
        10,
        "IN",
        "46402",
        "Gary",
        41.5934,
        -87.3464,
    ),
]


def _quantity(code: str) -> int:
    return 20 + int(hashlib.sha256(code.encode()).hexdigest()[:6], 16) % 300


def demo_levels() -> list[dict[str, Any]]:
    """(sku, location, on_hand, low_threshold) rows of the demo tenant, deterministic."""
    out: list[dict[str, Any]] = []
    index = 0
    for product in DEMO_PRODUCTS:
        main = CHICAGO_ID if product.vendor == SUPPLIER_A else PITTSBURGH_ID
        for sku in product.skus:
            index += 1
            sid = sku_id(sku.code)
            low = index % 17 == 0
            on_hand = 3 if low else _quantity(sku.code)
            out.append({"sku_id": sid, "location_id": main, "on_hand": on_hand, "low_threshold": 10})
            if product.vendor == SUPPLIER_A and index % 2 == 0 and not low:
                out.append(
                    {"sku_id": sid, "location_id": DALLAS_ID, "on_hand": on_hand // 2, "low_threshold": 5}
                )
            if index % 5 == 0 and not low:
                out.append({"sku_id": sid, "location_id": HUB_ID, "on_hand": 40, "low_threshold": 10})
    return out


async def seed(db: Database) -> None:
    async with db.tenant_session(TENANT_ID) as session:
        await session.execute(
            insert(Location)
            .values([{**row, "tenant_id": TENANT_ID} for row in LOCATIONS])
            .on_conflict_do_nothing()
        )
        levels, movements = [], []
        for row in demo_levels():
            level_id = stable_id("stock_level", str(row["sku_id"]), str(row["location_id"]))
            levels.append(
                {
                    "id": level_id,
                    "tenant_id": TENANT_ID,
                    "sku_id": row["sku_id"],
                    "location_id": row["location_id"],
                    "on_hand": row["on_hand"],
                    "reserved": 0,
                    "committed": 0,
                    "incoming": 0,
                    "safety_stock": 0,
                    "low_threshold": row["low_threshold"],
                    "version": 1,
                }
            )
            movements.append(
                {
                    "id": stable_id("stock_movement", str(level_id), "opening"),
                    "tenant_id": TENANT_ID,
                    "level_id": level_id,
                    "sku_id": row["sku_id"],
                    "location_id": row["location_id"],
                    "kind": "receipt",
                    "delta": row["on_hand"],
                    "on_hand_after": row["on_hand"],
                    "reason": "opening balance (demo seed)",
                    "reference": None,
                    "actor_user_id": None,
                }
            )
        for start in range(0, len(levels), 500):
            inserted = await session.scalars(
                insert(Level).values(levels[start : start + 500]).on_conflict_do_nothing().returning(Level.id)
            )
            new = set(inserted.all())
            fresh = [m for m in movements[start : start + 500] if m["level_id"] in new]
            if fresh:  # a level that already existed keeps its own history
                await session.execute(
                    insert(Movement).values(fresh).on_conflict_do_nothing(index_elements=["id"])
                )
    async with db.tenant_session(OTHER_TENANT_ID) as session:
        await session.execute(
            insert(Location)
            .values([{**row, "tenant_id": OTHER_TENANT_ID} for row in OTHER_LOCATIONS])
            .on_conflict_do_nothing()
        )
