"""The demo seeds line up across domains: every logistics warehouse is a stock location of the
same tenant (same id), so stock's allocations route with the warehouse's costs; and the demo
buyers finance gives credit terms have a credit line in the currency the demo prices are in."""

from __future__ import annotations

from sqlalchemy import text

from subgraphs.logistics import seed as logistics_seed
from subgraphs.orgs import seed as orgs_seed
from subgraphs.stock import seed as stock_seed
from tests.integration.conftest import Saga


def test_the_logistics_seed_names_stocks_locations() -> None:
    assert logistics_seed.MAIN_LOCATION_ID == stock_seed.CHICAGO_ID
    assert logistics_seed.SOUTH_LOCATION_ID == stock_seed.DALLAS_ID
    assert logistics_seed.PITTSBURGH_LOCATION_ID == stock_seed.PITTSBURGH_ID
    assert logistics_seed.HUB_LOCATION_ID == stock_seed.HUB_ID
    assert logistics_seed.GLOBEX_LOCATION_ID == stock_seed.GLOBEX_ID


async def test_every_seeded_warehouse_is_a_stock_location_of_its_tenant(saga: Saga) -> None:
    for tenant in (logistics_seed.TENANT_ID, logistics_seed.OTHER_TENANT_ID):
        async with saga.db.tenant_session(tenant) as session:
            warehouses = set(
                (await session.execute(text("SELECT location_id FROM logistics.warehouses"))).scalars()
            )
            locations = set(
                (
                    await session.execute(
                        text("SELECT id FROM stock.locations WHERE kind IN ('warehouse', 'platform')")
                    )
                ).scalars()
            )
        assert warehouses and warehouses == locations, (tenant, warehouses, locations)


async def test_credit_buyers_have_a_usd_line_for_the_usd_demo_prices(saga: Saga) -> None:
    async with saga.db.tenant_session(orgs_seed.DEMO_TENANT_ID) as session:
        rows = set(
            (await session.execute(text("SELECT organization_id, currency FROM finance.credit_lines"))).all()
        )
    assert (orgs_seed.BUYER_ID, "USD") in rows and (orgs_seed.BUYER3_ID, "USD") in rows
