"""Memory is bounded by bytes, not entries: many distinct large operations (the many-plans query of
bench/grafbase with a unique alias each) keep every query-text cache within its byte budget, and the
process's RSS stops growing once the caches are full."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import aiohttp
import graphql
import orjson
import psutil
import pytest

from bench.federation.subgraphs.server import SubgraphApp, serve
from bench.grafbase import scenarios
from bench.grafbase.subgraphs import build
from devstack.asgi import serve_asgi
from devstack.ports import free_port
from gateway.config import GatewayConfig
from gateway.http.app import GraphQLEndpoint, build_gateway, create_app
from gateway.http.lru import LRUCache
from gateway.sizing import estimate_bytes

BUDGET_MIB = 3.0


@pytest.fixture
async def many_plans() -> AsyncIterator[tuple[str, GraphQLEndpoint, SubgraphApp]]:
    port = free_port()
    subgraphs = SubgraphApp(schemas=build("many-plans"))
    server = await serve("127.0.0.1", port, subgraphs)
    config = GatewayConfig(auth=False, parse_cache_mib=BUDGET_MIB, validation_cache_mib=BUDGET_MIB,
                           plan_cache_mib=BUDGET_MIB, shape_cache_mib=BUDGET_MIB, limits_cache_mib=1)
    gateway = build_gateway(scenarios.many_plans().supergraph_sdl(f"http://127.0.0.1:{port}"), config)
    app = create_app(gateway, config)
    try:
        async with serve_asgi(app, lifespan="on") as url:
            yield f"{url}/graphql", app.state.graphql, subgraphs
    finally:
        server.close()
        await server.wait_closed()


def test_lru_evicts_by_bytes() -> None:
    cache: LRUCache[str, str] = LRUCache(100, max_bytes=250, sizer=lambda _k, v: len(v))
    for key in "abc":
        cache.put(key, "x" * 100)
    assert list(cache) == ["b", "c"] and cache.bytes == 200 and cache.evictions == 1
    cache.get("b")
    cache.put("d", "y" * 100)
    assert list(cache) == ["b", "d"]
    cache.put("huge", "z" * 1000)  # larger than the whole budget: not kept
    assert "huge" not in cache and cache.bytes == 200


def test_estimate_skips_shared_schema_objects() -> None:
    sdl = scenarios.many_plans().supergraph_sdl("http://127.0.0.1:9")
    gateway = build_gateway(sdl, GatewayConfig(auth=False))
    plan = gateway.plan(graphql.parse(scenarios.many_plans_query()), None, None)
    size = estimate_bytes(plan)
    assert 10_000 < size < 4 << 20  # the plan's own objects, not the schema (which is far larger)
    assert estimate_bytes(gateway.api_schema) == 0


@pytest.mark.slow
async def test_distinct_large_operations_stay_within_budget(
        many_plans: tuple[str, GraphQLEndpoint, SubgraphApp]) -> None:
    url, endpoint, subgraphs = many_plans
    node = scenarios.many_plans_expected(scenarios.many_plans().query)["data"]["node"]
    process = psutil.Process()
    rss: dict[int, float] = {}
    total = 90
    async with aiohttp.ClientSession() as session:
        for i in range(total):
            body = orjson.dumps({"query": scenarios.many_plans_query(alias=f"a{i}")})
            async with session.post(url, data=body, headers={"content-type": "application/json"}) as r:
                answer = orjson.loads(await r.read())
            assert answer == {"data": {f"a{i}": node}}, str(answer)[:300]
            subgraphs.memo.clear()  # the stand-in subgraphs' own memo is not the gateway's memory
            for name, cache in endpoint.cache_stats().items():
                assert cache["bytes"] <= cache["max_bytes"], (name, cache)
            if i in (30, total - 1):
                gc.collect()
                rss[i] = process.memory_info().rss / (1 << 20)
    stats = endpoint.cache_stats()
    assert stats["plans"]["evictions"] > 0 and stats["parse"]["evictions"] > 0  # the budgets were reached
    # Without byte budgets each distinct operation kept ~1.7 MiB (60 more: ~100 MiB); generous slack.
    assert rss[total - 1] - rss[30] < 40, rss
