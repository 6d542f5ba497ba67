"""Through the federation gateway: a catalog product's SKUs priced by the pricing subgraph for the
buyer in the signed context (the composed supergraph in schema/, the real catalog subgraph)."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gateway.engine") is None
    or importlib.util.find_spec("subgraphs.catalog.app") is None,
    reason="needs the gateway engine and the catalog subgraph",
)

QUERY = """query($id: ID!) { product(id: $id) {
  priceRange { min { amount currency } max { amount } }
  skus { id code price(quantity: 20) { unitPrice { amount } source priceListName userErrors { code } }
         quantityRule { minimum increment } } } }"""


async def test_product_skus_priced_through_the_gateway(
    service_urls: Any, serve_app: Callable[[Any], Awaitable[str]], repo_root: Path
) -> None:
    import graphql

    from devstack.seed import seed_all
    from gateway.engine import Gateway, OperationRequest
    from shared.db import Database
    from shared.gateway_context import Principal, sign_context
    from shared.settings import get_settings
    from subgraphs.catalog.app import create_app as catalog_app
    from subgraphs.catalog.demo_data import DEMO_PRODUCTS
    from subgraphs.catalog.demo_ids import product_id, sku_id
    from subgraphs.orgs import seed as orgs_seed
    from subgraphs.pricing.app import create_app as pricing_app

    await seed_all(service_urls.database_url, ["orgs", "catalog", "pricing"])
    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    db = Database.for_app(settings, pool_size=2, max_overflow=0)
    gateway = None
    try:
        catalog_url = await serve_app(catalog_app(settings, database=db))
        pricing_url = await serve_app(pricing_app(settings, database=db))
        sdl = (repo_root / "schema" / "supergraph.graphql").read_text()
        sdl = sdl.replace("http://127.0.0.1:4102/graphql", f"{catalog_url}/graphql")
        sdl = sdl.replace("http://127.0.0.1:4104/graphql", f"{pricing_url}/graphql")
        gateway = Gateway.from_supergraph_sdl(sdl)
        principal = Principal(
            tenant_id=str(orgs_seed.DEMO_TENANT_ID),
            organization_id=str(orgs_seed.BUYER_PLANT_ID),
            scopes=("catalog:read",),
        )
        header = sign_context(principal, settings.gateway_secret_bytes, ttl=120)
        gloves = next(p for p in DEMO_PRODUCTS if p.category == "disposable-gloves")
        result = await gateway.execute(
            OperationRequest(graphql.parse(QUERY), None, {"id": str(product_id(gloves.ref))}),
            extra_subgraph_headers={"x-gateway-context": header},
        )
    finally:
        if gateway is not None:
            await gateway.close()
        await db.dispose()
    assert "errors" not in result, result
    product = result["data"]["product"]
    assert product["priceRange"]["min"]["currency"] == "USD"
    demo_skus = {str(sku_id(s.code)) for s in gloves.skus}
    priced = [s for s in product["skus"] if s["id"] in demo_skus]
    assert priced, product
    for sku in priced:
        assert sku["price"]["priceListName"] == "Northwind Plant 2 gloves", sku
        assert sku["price"]["source"] == "PRICE_LIST" and sku["price"]["userErrors"] == []
        assert sku["quantityRule"] == {"minimum": 10, "increment": 10}
