"""Through the federation gateway: a catalog product's SKUs with stock's `availability` (the
composed supergraph in schema/, the real catalog and stock subgraphs, the demo seeds)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

QUERY = """query($id: ID!) { product(id: $id) {
  skus { id availability { available status } hub: availability(locationId: "%s") { available }
         %s } } }"""


async def test_product_skus_with_availability_through_the_gateway(
    service_urls: Any, serve_app: Callable[[Any], Awaitable[str]], repo_root: Path
) -> None:
    import graphql

    from devstack.seed import seed_all
    from gateway.engine import Gateway, OperationRequest
    from shared.db import Database
    from shared.gateway_context import Principal, sign_context
    from shared.settings import get_settings
    from subgraphs.catalog.app import create_app as catalog_app
    from subgraphs.catalog.demo_data import DEMO_PRODUCTS, SUPPLIER_A
    from subgraphs.catalog.demo_ids import product_id
    from subgraphs.orgs import seed as orgs_seed
    from subgraphs.stock import seed as stock_seed
    from subgraphs.stock.app import create_app as stock_app

    await seed_all(service_urls.database_url, ["orgs", "catalog", "stock"])
    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    db = Database.for_app(settings, pool_size=2, max_overflow=0)
    gateway = None
    product = next(p for p in DEMO_PRODUCTS if p.vendor == SUPPLIER_A)
    results: dict[str, Any] = {}
    try:
        catalog_url = await serve_app(catalog_app(settings, database=db))
        stock_url = await serve_app(stock_app(settings, database=db))
        sdl = (repo_root / "schema" / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4102/graphql", f"{catalog_url}/graphql")
        sdl = sdl.replace("http://127.0.0.1:4103/graphql", f"{stock_url}/graphql")
        gateway = Gateway.from_supergraph_sdl(sdl)
        for who, org, scopes, fields in (
            ("buyer", orgs_seed.BUYER_ID, ("catalog:read",), ""),
            (
                "seller",
                orgs_seed.SUPPLIER_ID,
                ("catalog:read", "stock:read"),
                "stockLevels { onHand location { code } }",
            ),
        ):
            principal = Principal(
                tenant_id=str(orgs_seed.DEMO_TENANT_ID), organization_id=str(org), scopes=scopes
            )
            header = sign_context(principal, settings.gateway_secret_bytes, ttl=120)
            results[who] = await gateway.execute(
                OperationRequest(
                    graphql.parse(QUERY % (stock_seed.HUB_ID, fields)),
                    None,
                    {"id": str(product_id(product.ref))},
                ),
                extra_subgraph_headers={"x-gateway-context": header},
            )
    finally:
        if gateway is not None:
            await gateway.close()
        await db.dispose()
    expected = {r["sku_id"]: r for r in stock_seed.demo_levels() if r["location_id"] == stock_seed.CHICAGO_ID}
    for who in ("buyer", "seller"):
        assert "errors" not in results[who], results[who]
        skus = results[who]["data"]["product"]["skus"]
        assert skus
        for sku in skus:
            assert sku["availability"]["available"] >= 0
            assert sku["availability"]["status"] in ("IN_STOCK", "LOW", "OUT_OF_STOCK")
    for sku in results["seller"]["data"]["product"]["skus"]:
        codes = {lv["location"]["code"] for lv in sku["stockLevels"]}
        if any(str(k) == sku["id"] for k in expected):
            assert "BOLT-CHI" in codes
        assert "FORGE-PIT" not in codes  # another supplier's warehouse
