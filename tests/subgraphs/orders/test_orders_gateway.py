"""Through the federation gateway (the composed supergraph in schema/): a demo order with its
lines' SKUs resolved by catalog and its buyer and seller by orgs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

QUERY = """query($id: ID!) { order(id: $id) {
  number state buyer { id name } seller { id name }
  lines { quantity skuCode sku { id code } unitPrice { amount currency } } } }"""


async def test_demo_order_through_the_gateway(
    service_urls: Any, serve_app: Callable[[Any], Awaitable[str]], repo_root: Path
) -> None:
    import graphql
    from sqlalchemy import select

    from devstack.seed import seed_all
    from gateway.engine import Gateway, OperationRequest
    from shared.db import Database
    from shared.gateway_context import Principal, sign_context
    from shared.settings import get_settings
    from subgraphs.catalog.app import create_app as catalog_app
    from subgraphs.orders import seed as orders_seed
    from subgraphs.orders.app import create_app as orders_app
    from subgraphs.orders.models import Order
    from subgraphs.orgs import seed as orgs_seed
    from subgraphs.orgs.app import create_app as orgs_app

    await seed_all(service_urls.database_url, ["orgs", "catalog", "orders"])
    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    db = Database.for_app(settings, pool_size=3, max_overflow=0)
    gateway = None
    try:
        async with db.tenant_session(orgs_seed.DEMO_TENANT_ID) as session:
            order = (
                await session.scalars(
                    select(Order).where(
                        Order.purchase_id == orders_seed.PLANT2_PURCHASE_ID,
                        Order.seller_organization_id == orgs_seed.SUPPLIER_ID,
                    )
                )
            ).one()
        urls = {
            "4101": await serve_app(orgs_app(settings, database=db)),
            "4102": await serve_app(catalog_app(settings, database=db)),
            "4105": await serve_app(orders_app(settings, database=db)),
        }
        sdl = (repo_root / "schema" / "supergraph.graphql").read_text()
        for port, url in urls.items():
            sdl = sdl.replace(f"http://127.0.0.1:{port}/graphql", f"{url}/graphql")
        gateway = Gateway.from_supergraph_sdl(sdl)
        principal = Principal(
            tenant_id=str(orgs_seed.DEMO_TENANT_ID),
            organization_id=str(orgs_seed.BUYER_ID),
            scopes=("orders:read", "catalog:read", "orgs:read"),
        )
        header = sign_context(principal, settings.gateway_secret_bytes, ttl=120)
        result = await gateway.execute(
            OperationRequest(graphql.parse(QUERY), None, {"id": str(order.id)}),
            extra_subgraph_headers={"x-gateway-context": header},
        )
    finally:
        if gateway is not None:
            await gateway.close()
        await db.dispose()
    assert "errors" not in result, result
    got = result["data"]["order"]
    assert got["state"] == "PLACED" and got["buyer"]["id"] == str(orgs_seed.BUYER_PLANT_ID)
    assert got["buyer"]["name"] and got["seller"]["name"] == "Bolt Industrial Supply"
    (line,) = got["lines"]
    assert line["sku"]["code"] == line["skuCode"] == "GLV-WRK01-DX-M"
    assert line["unitPrice"] == {"amount": "6.1200", "currency": "USD"}
