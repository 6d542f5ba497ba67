"""`searchProducts(filter: {price: ...})` on the real stack: PostgreSQL seeded with the demo orgs,
catalog and pricing data, NATS, the pricing app with its `svc.pricing` responder really running,
and the catalog app connected to NATS. Expected sets come from `Sku.price` asked of the pricing
subgraph for the same buyer."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import nats
import pytest
from nats.aio.msg import Msg

from devstack.asgi import serve_asgi
from devstack.seed import seed_all
from shared.app_factory import create_subgraph_app
from shared.db import Database, app_database_url
from shared.settings import Settings
from shared.testing import gateway_headers, graphql
from subgraphs.catalog import demo_ids, price_filter
from subgraphs.catalog.schema import schema as catalog_schema
from subgraphs.orgs import seed as orgs_seed
from subgraphs.pricing.app import create_app as create_pricing_app

TENANT = orgs_seed.DEMO_TENANT_ID
NORTHWIND: dict[str, Any] = {"organization_id": orgs_seed.BUYER_ID, "scopes": ["catalog:read"]}
HARBOR: dict[str, Any] = {"organization_id": orgs_seed.BUYER2_ID, "scopes": ["catalog:read"]}

SEARCH = """
query($q: String, $f: ProductSearchFilter, $first: Int, $after: String) {
  searchProducts(query: $q, filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id vendor { id } category { code } skus { id } } }
    facets { categories { category { code } count } vendors { vendor { id } count } }
  }
}
"""
PRICES = """
query($r: [_Any!]!, $q: Int!, $c: String) {
  _entities(representations: $r) {
    ... on Sku { id price(quantity: $q, currency: $c) { unitPrice { amount } } }
  }
}
"""


@pytest.fixture(scope="module")
async def app_db(service_urls: Any) -> AsyncIterator[Database]:
    await seed_all(service_urls.database_url, ["orgs", "catalog", "pricing"])
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=4)
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def catalog_url(app_db: Database) -> AsyncIterator[str]:
    # The real catalog schema with a NATS connection (no relay, no consumers: only the client side).
    app = create_subgraph_app(
        catalog_schema, name="catalog", settings=Settings(), database=app_db, events=True
    )
    async with serve_asgi(app) as url:
        await asyncio.wait_for(app.state.runtime.events_ready.wait(), timeout=15)
        yield url


@pytest.fixture
async def pricing_url(app_db: Database) -> AsyncIterator[str]:
    app = create_pricing_app(Settings(), database=app_db)
    async with serve_asgi(app) as url:
        await asyncio.wait_for(app.state.pricing_responder.ready.wait(), timeout=15)
        yield url


async def _post(url: str, query: str, variables: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
    status, body = await graphql(url, query, variables, headers=gateway_headers(TENANT, **who))
    assert status == 200, body
    return body


async def search_all(url: str, who: dict[str, Any], f: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every page (3 at a time: paging over the filtered set), plus the first page's total and facets."""
    nodes: list[dict[str, Any]] = []
    after = None
    first_page: dict[str, Any] | None = None
    while True:
        body = await _post(url, SEARCH, {"f": f, "first": 100 if f is None else 3, "after": after}, who)
        assert "errors" not in body, body["errors"]
        result = body["data"]["searchProducts"]
        first_page = first_page or result
        nodes.extend(e["node"] for e in result["edges"])
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert first_page is not None
    return {"nodes": nodes, "total": first_page["totalCount"], "facets": first_page["facets"]}


async def sku_prices(
    pricing: str, who: dict[str, Any], sku_ids: list[str], quantity: int = 1, currency: str | None = None
) -> dict[str, Decimal | None]:
    out: dict[str, Decimal | None] = {}
    for start in range(0, len(sku_ids), 200):
        reps = [{"__typename": "Sku", "id": s} for s in sku_ids[start : start + 200]]
        body = await _post(pricing, PRICES, {"r": reps, "q": quantity, "c": currency}, who)
        assert "errors" not in body, body["errors"]
        for e in body["data"]["_entities"]:
            unit = e["price"]["unitPrice"]
            out[e["id"]] = Decimal(unit["amount"]) if unit else None
    return out


async def buyer_view(catalog: str, pricing: str, who: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    """Every product the buyer sees, with its SKUs' prices for this buyer (Sku.price)."""
    everything = await search_all(catalog, who)
    assert len(everything["nodes"]) == everything["total"]
    sku_ids = [s["id"] for n in everything["nodes"] for s in n["skus"]]
    prices = await sku_prices(pricing, who, sku_ids, quantity)
    return {
        n["id"]: {"vendor": n["vendor"]["id"], "prices": [prices[s["id"]] for s in n["skus"]]}
        for n in everything["nodes"]
    }


def expected(view: dict[str, Any], low: Decimal, high: Decimal) -> set[str]:
    return {pid for pid, p in view.items() if any(x is not None and low <= x <= high for x in p["prices"])}


async def test_price_filter_matches_buyer_prices_exactly(catalog_url: str, pricing_url: str) -> None:
    northwind = await buyer_view(catalog_url, pricing_url, NORTHWIND)
    harbor = await buyer_view(catalog_url, pricing_url, HARBOR)
    # A product both see where Northwind's negotiated price is below every Harbor price.
    cheaper = sorted(
        (min(x for x in northwind[pid]["prices"] if x is not None), pid)
        for pid in northwind.keys() & harbor.keys()
        if any(x is not None for x in northwind[pid]["prices"])
        and min(x for x in northwind[pid]["prices"] if x is not None)
        < min(x for x in harbor[pid]["prices"] if x is not None)
    )
    assert cheaper, "the seed gives Northwind negotiated prices below Harbor's"
    high = cheaper[len(cheaper) // 2][0]
    low = (high / 3).quantize(Decimal("0.01"))

    nats_url = Settings().nats_url
    spy = await nats.connect(nats_url)
    requests: list[Msg] = []

    async def seen(msg: Msg) -> None:
        requests.append(msg)

    sub = await spy.subscribe("svc.pricing", cb=seen)
    await spy.flush()
    try:
        results = {}
        for name, who, view in (("northwind", NORTHWIND, northwind), ("harbor", HARBOR, harbor)):
            f = {"price": {"min": str(low), "max": str(high)}}
            got = await search_all(catalog_url, who, f)
            want = expected(view, low, high)
            ids = [n["id"] for n in got["nodes"]]
            assert len(ids) == len(set(ids)), "paging repeats a product"
            assert set(ids) == want, name
            assert got["total"] == len(want)
            vendors: dict[str, int] = {}
            for pid in want:
                vendors[view[pid]["vendor"]] = vendors.get(view[pid]["vendor"], 0) + 1
            assert {v["vendor"]["id"]: v["count"] for v in got["facets"]["vendors"]} == vendors
            assert sum(c["count"] for c in got["facets"]["categories"]) >= len(want)
            results[name] = set(ids)
        assert results["northwind"] != results["harbor"]
        assert cheaper[len(cheaper) // 2][1] in results["northwind"] - results["harbor"]
    finally:
        await sub.unsubscribe()
        await spy.close()
    # Batches, not one request per SKU: every page asks ceil(skus / 500) times.
    skus_nw = sum(len(p["prices"]) for p in northwind.values())
    pages_nw = math.ceil(len(results["northwind"]) / 3) or 1
    skus_hb = sum(len(p["prices"]) for p in harbor.values())
    pages_hb = math.ceil(len(results["harbor"]) / 3) or 1
    per = price_filter.BATCH_LINES
    assert len(requests) == pages_nw * math.ceil(skus_nw / per) + pages_hb * math.ceil(skus_hb / per)


async def test_quantity_and_currency_and_filters_combine(catalog_url: str, pricing_url: str) -> None:
    gloves = str(demo_ids.category_id("gloves"))
    view = await buyer_view(catalog_url, pricing_url, NORTHWIND, quantity=100)
    in_gloves = {n["id"] for n in (await search_all(catalog_url, NORTHWIND, {"categoryId": gloves}))["nodes"]}
    low, high = Decimal("0"), Decimal("5.00")
    f = {"categoryId": gloves, "price": {"max": "5.00", "quantity": 100, "currency": "usd"}}
    got = await search_all(catalog_url, NORTHWIND, f)
    want = expected({k: v for k, v in view.items() if k in in_gloves}, low, high)
    assert {n["id"] for n in got["nodes"]} == want and got["total"] == len(want)
    # A range containing every price: the same products, total and facets as without the filter.
    plain = await search_all(catalog_url, NORTHWIND, {"categoryId": gloves})
    wide = await search_all(
        catalog_url, NORTHWIND, {"categoryId": gloves, "price": {"min": "0", "quantity": 100}}
    )
    priced = expected({k: v for k, v in view.items() if k in in_gloves}, Decimal(0), Decimal("1e12"))
    assert {n["id"] for n in wide["nodes"]} == priced and wide["total"] == len(priced)
    vendors: dict[str, int] = {}
    for pid in priced:
        vendors[view[pid]["vendor"]] = vendors.get(view[pid]["vendor"], 0) + 1
    assert {v["vendor"]["id"]: v["count"] for v in wide["facets"]["vendors"]} == vendors
    if priced == in_gloves:  # the seed prices every glove (other tests may add unpriced ones)
        assert wide["facets"] == plain["facets"] and wide["total"] == plain["total"]
    # Nothing priced in a currency without lists: an empty result, not an error.
    none = await search_all(catalog_url, NORTHWIND, {"price": {"min": "0", "currency": "JPY"}})
    assert none["total"] == 0 and none["nodes"] == []


@pytest.mark.parametrize(
    ("price", "argument"),
    [
        ({"min": "10", "max": "2"}, "filter.price"),
        ({"min": "ten"}, "filter.price.min"),
        ({"max": "1e999999999"}, "filter.price.max"),
        ({"max": "NaN"}, "filter.price.max"),
        ({"min": "-1"}, "filter.price.min"),
        ({"min": "1", "currency": "EURO"}, "filter.price.currency"),
        ({"min": "1", "currency": "XYZ"}, "filter.price.currency"),
        ({"min": "1", "quantity": 0}, "filter.price.quantity"),
    ],
)
async def test_invalid_price_filter_is_a_clear_error(
    catalog_url: str, pricing_url: str, price: dict[str, Any], argument: str
) -> None:
    body = await _post(catalog_url, SEARCH, {"q": "glove", "f": {"price": price}}, NORTHWIND)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["argument"] == argument


async def test_too_broad_a_price_filter_is_refused(
    catalog_url: str, pricing_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(price_filter, "MAX_CANDIDATES", 10)
    body = await _post(catalog_url, SEARCH, {"f": {"price": {"max": "100"}}}, NORTHWIND)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "PRICE_FILTER_TOO_BROAD"
    assert error["extensions"]["maxCandidates"] == 10
    narrow = await _post(
        catalog_url, SEARCH, {"q": "GLV-NIT4-BL-DX", "f": {"price": {"max": "1000"}}}, NORTHWIND
    )
    assert "errors" not in narrow and narrow["data"]["searchProducts"]["totalCount"] >= 1


async def test_pricing_down_is_a_coded_error(catalog_url: str) -> None:
    body = await _post(catalog_url, SEARCH, {"q": "glove", "f": {"price": {"max": "100"}}}, NORTHWIND)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert "pricing" in error["message"]
    # Without the price filter the search does not need pricing.
    plain = await _post(catalog_url, SEARCH, {"q": "glove"}, NORTHWIND)
    assert "errors" not in plain and plain["data"]["searchProducts"]["totalCount"] > 0


def test_price_range_parsing() -> None:
    r = price_filter.parse_price_range(" 1.50 ", "2", None, None)
    assert (r.minimum, r.maximum, r.currency, r.quantity) == (Decimal("1.50"), Decimal(2), None, 1)
    assert r.contains(Decimal("1.50")) and r.contains(Decimal("2.00")) and not r.contains(Decimal("2.01"))
    open_ended = price_filter.parse_price_range(None, None, "eur", 5)
    assert open_ended.currency == "EUR" and open_ended.contains(Decimal("123456.78"))
