"""Through the federation gateway (the composed supergraph in schema/): catalog search with facets
and buyer catalogs, as a buyer's front end would see them."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gateway.engine") is None, reason="needs the gateway engine"
)

SEARCH = """query($q: String, $f: ProductSearchFilter) {
  searchProducts(query: $q, filter: $f, first: 5) {
    totalCount
    edges { node { id name vendor { id } skus { code pack { label } } } }
    facets { categories { category { code } count } attributes { name values { value count } } }
  }
}"""
PRODUCT = "query($id: ID!) { product(id: $id) { id name category { path { code } } } }"


async def test_search_and_buyer_catalogs_through_the_gateway(
    service_urls: Any, serve_app: Callable[[Any], Awaitable[str]], repo_root: Path
) -> None:
    import graphql

    from devstack.seed import seed_all
    from gateway.engine import Gateway, OperationRequest
    from shared.db import Database
    from shared.gateway_context import Principal, sign_context
    from shared.settings import get_settings
    from subgraphs.catalog.app import create_app
    from subgraphs.catalog.demo_ids import category_id, product_id
    from subgraphs.orgs import seed as orgs_seed

    await seed_all(service_urls.database_url, ["orgs", "catalog"])
    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    db = Database.for_app(settings, pool_size=2, max_overflow=0)
    gateway = None

    async def run(query: str, variables: dict[str, Any], organization: Any) -> dict[str, Any]:
        assert gateway is not None
        principal = Principal(
            tenant_id=str(orgs_seed.DEMO_TENANT_ID),
            organization_id=str(organization),
            scopes=("catalog:read",),
        )
        header = sign_context(principal, settings.gateway_secret_bytes, ttl=120)
        result = await gateway.execute(
            OperationRequest(graphql.parse(query), None, variables),
            extra_subgraph_headers={"x-gateway-context": header},
        )
        assert "errors" not in result, result
        data: dict[str, Any] = result["data"]
        return data

    try:
        catalog_url = await serve_app(create_app(settings, database=db))
        sdl = (repo_root / "schema" / "supergraph.graphql").read_text()
        gateway = Gateway.from_supergraph_sdl(
            sdl.replace("http://127.0.0.1:4102/graphql", f"{catalog_url}/graphql")
        )
        gloves = await run(SEARCH, {"q": "nitrile gloves"}, orgs_seed.BUYER_ID)
        steel_for_buyer = await run(
            SEARCH, {"q": "bar", "f": {"categoryId": str(category_id("steel"))}}, orgs_seed.BUYER_ID
        )
        steel_for_shop = await run(
            SEARCH, {"q": "bar", "f": {"categoryId": str(category_id("steel"))}}, orgs_seed.DISTRIBUTOR_ID
        )
        bar = str(product_id("STL-BAR-RO-S235JR-B"))
        bar_for_unit = await run(PRODUCT, {"id": bar}, orgs_seed.BUYER_PLANT_ID)
        bar_for_shop = await run(PRODUCT, {"id": bar}, orgs_seed.DISTRIBUTOR_ID)
    finally:
        if gateway is not None:
            await gateway.close()
        await db.dispose()

    result = gloves["searchProducts"]
    assert result["totalCount"] > 0 and "nitrile" in result["edges"][0]["node"]["name"].lower()
    labels = {s["pack"]["label"] for e in result["edges"] for s in e["node"]["skus"]}
    assert labels and labels <= {"BOX of 100 EA", "CASE of 1000 EA", "PACK of 12 PR"}, labels
    sizes = next(a for a in result["facets"]["attributes"] if a["name"] == "size")
    assert {v["value"] for v in sizes["values"]} >= {"S", "M", "L", "XL"}
    assert steel_for_buyer["searchProducts"]["totalCount"] > 0
    assert steel_for_shop["searchProducts"]["totalCount"] == 0
    assert [c["code"] for c in bar_for_unit["product"]["category"]["path"]] == ["steel", "steel-bars"]
    assert bar_for_shop["product"] is None
