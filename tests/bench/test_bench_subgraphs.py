"""The benchmark's Python subgraphs answer what peer gateways really send them (recorded in the scenario)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from bench.federation import load, scenario
from bench.federation.subgraphs.server import SubgraphApp, serve

pytestmark = pytest.mark.needs_shared("bench-scenario")

PEERS = ("hive-gateway", "apollo-gateway")


@pytest.fixture(scope="module")
def app() -> SubgraphApp:
    return SubgraphApp()


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    products = {p["upc"]: p for p in scenario.subgraph_data("products")["products"]}
    in_stock = {row["upc"]: row["inStock"] for row in scenario.subgraph_data("inventory")["inventory"]}
    reviews_data = scenario.subgraph_data("reviews")
    reviews = {r["id"]: r for r in reviews_data["reviews"]}
    users = {u["id"]: u for u in scenario.subgraph_data("accounts")["users"]}
    by_upc: dict[str, list[str]] = {}
    for review in reviews_data["reviews"]:
        by_upc.setdefault(review["product"]["upc"], []).append(review["id"])
    return {"products": products, "in_stock": in_stock, "reviews": reviews, "users": users, "by_upc": by_upc}


def answer(app: SubgraphApp, subgraph: str, body: dict[str, Any]) -> dict[str, Any]:
    status, payload = app.post(f"/{subgraph}", json.dumps(body).encode())
    assert status == 200
    response: dict[str, Any] = json.loads(payload)
    assert "errors" not in response, response["errors"]
    return response


def check_consistent(subgraph: str, node: Any, tables: dict[str, Any]) -> int:
    """Walk a response; every object that names a product, review or user must agree with the tables."""
    checked = 0
    if isinstance(node, list):
        return sum(check_consistent(subgraph, item, tables) for item in node)
    if not isinstance(node, dict):
        return 0
    if "upc" in node:
        product = tables["products"][node["upc"]]
        for field in ("name", "price", "weight"):
            if field in node:
                assert node[field] == product[field]
        if "inStock" in node:
            assert node["inStock"] == tables["in_stock"][node["upc"]]
        if "shippingEstimate" in node:
            assert node["shippingEstimate"] is None  # the published subgraph ignores the representation
        if "reviews" in node:
            assert [r["id"] for r in node["reviews"]] == tables["by_upc"].get(node["upc"], [])
        checked += 1
    elif "body" in node:
        assert node["body"] == tables["reviews"][node["id"]]["body"]
        checked += 1
    elif node.get("__typename") == "User" or "username" in node or "name" in node:
        if subgraph == "accounts":
            user = tables["users"][node["id"]]
            assert all(node[f] == user[f] for f in ("username", "name") if f in node)
        else:  # reviews: the author is always user 1 (@provides username), entity users have reviews 1, 2
            if "username" in node:
                assert (node["id"], node["username"]) == ("1", "urigo")
            if "reviews" in node:
                assert [r["id"] for r in node["reviews"]] == ["1", "2"]
        checked += 1
    return checked + sum(check_consistent(subgraph, value, tables) for value in node.values())


@pytest.mark.parametrize("peer", PEERS)
def test_answers_every_recorded_request(app: SubgraphApp, tables: dict[str, Any], peer: str) -> None:
    recorded = scenario.reference_subgraph_requests(peer)
    assert len(recorded) == {"hive-gateway": 7, "apollo-gateway": 16}[peer]
    for entry in recorded:
        body = entry["body"]
        data = answer(app, entry["subgraph"], body)["data"]
        checked = 0
        for alias, value in data.items():
            if not alias.endswith("_entities"):
                checked += check_consistent(entry["subgraph"], value, tables)
                continue
            # one entity per representation, in order; check each with the key fields it stands for
            variable = "representations" if alias == "_entities" else alias.replace("__entities",
                                                                                    "_representations")
            representations = body["variables"][variable]
            assert len(value) == len(representations)
            for rep, entity in zip(representations, value, strict=True):
                assert entity is not None
                key = {k: rep[k] for k in ("upc", "id") if k in rep}
                assert all(entity.get(k, v) == v for k, v in key.items())
                merged = {**entity, **key, "__typename": rep["__typename"]}
                checked += check_consistent(entry["subgraph"], merged, tables)
        assert checked > 0


def test_hive_requests_give_the_expected_values(app: SubgraphApp) -> None:
    recorded = scenario.reference_subgraph_requests("hive-gateway")
    users, top, user_reviews, product_reviews, products, inventory, accounts = (
        answer(app, e["subgraph"], e["body"])["data"] for e in recorded)
    assert [u["username"] for u in users["users"]] == ["urigo", "dotansimha", "kamilkisiela", "ardatan",
                                                        "gilgardosh", "laurin"]
    assert [p["name"] for p in top["topProducts"]] == ["Table", "Couch", "Glass", "Chair", "TV"]
    assert all([r["id"] for r in e["reviews"]] == ["1", "2"] for e in user_reviews["_entities"])
    assert [len(e["reviews"]) for e in product_reviews["_entities"]] == [4, 4, 1, 2, 0]
    assert products["_entities"] == [{"__typename": "Product", "name": "Table", "price": 899, "weight": 100}]
    assert [e["inStock"] for e in inventory["_v0__entities"]] == [True, False, False, False, True]
    assert [e["shippingEstimate"] for e in inventory["_v1__entities"]] == [None] * 5
    assert accounts["_entities"] == [{"__typename": "User", "name": "Uri Goldshtein"}]


def test_router_variant_uses_the_representation() -> None:
    app = SubgraphApp(use_requires=True)
    inventory = scenario.reference_subgraph_requests("hive-gateway")[5]
    data = answer(app, "inventory", inventory["body"])["data"]
    assert [e["shippingEstimate"] for e in data["_v1__entities"]] == [50, 0, 10, 50, 0]


def test_memoizes_and_counts(app: SubgraphApp) -> None:
    body = json.dumps({"query": "{ topProducts(first: 2) { upc } }"}).encode()
    before = json.loads(app.counts_json())
    first = app.post("/products", body)
    second = app.post("/products", body)
    assert first == second and first[0] == 200
    after = json.loads(app.counts_json())
    assert after["products"] - before["products"] == 2 and after["total"] - before["total"] == 2
    assert app.post("/nowhere", body)[0] == 404


def test_bad_bodies_get_graphql_errors(app: SubgraphApp) -> None:
    status, payload = app.post("/accounts", b"not json")
    assert status == 200 and "errors" in json.loads(payload)
    status, payload = app.post("/accounts", b'{"query": "{ nope }"}')
    assert "errors" in json.loads(payload)


async def test_http_server_keep_alive_and_counts() -> None:
    server = await serve("127.0.0.1", 0, SubgraphApp())
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):  # one kept-alive connection, several requests
                async with session.post(f"http://127.0.0.1:{port}/accounts",
                                        json={"query": "{ me { id username } }"}) as response:
                    assert response.status == 200
                    assert await response.json() == {"data": {"me": {"id": "1", "username": "urigo"}}}
            async with session.get(f"http://127.0.0.1:{port}/counts") as response:
                assert (await response.json())["accounts"] == 3
            async with session.get(f"http://127.0.0.1:{port}/health") as response:
                assert response.status == 200
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5.0)


async def test_own_load_generator_against_the_subgraphs() -> None:
    """The fallback for a machine without wrk: bounded, closed loop, percentiles; a fraction of a second."""
    server = await serve("127.0.0.1", 0, SubgraphApp())
    port = server.sockets[0].getsockname()[1]
    body = json.dumps({"query": "{ users { id } }"}).encode()
    try:
        result = await load._own_load(f"http://127.0.0.1:{port}/accounts", body, connections=2,
                                      duration_s=0.3, timeout_s=5.0)
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5.0)
    assert result.requests > 0 and result.non2xx == 0 and result.socket_errors == 0
    assert 0 < result.p50_ms <= result.p99_ms and result.rps > 0


def test_supergraph_points_at_the_bench_subgraphs() -> None:
    sdl = scenario.supergraph_sdl("http://127.0.0.1:5555/")
    for name in scenario.SUBGRAPH_NAMES:
        assert f'url: "http://127.0.0.1:5555/{name}"' in sdl
    assert ":4200" not in sdl
