"""The grafbase scenarios of bench/ answer what they should through our gateway, on small data: the Python
subgraphs on loopback, our gateway in-process, each response equal to the expected one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import graphql
import orjson

from bench.federation.subgraphs.server import SubgraphApp, serve
from bench.grafbase import scenarios
from bench.grafbase.run import workload
from bench.grafbase.subgraphs import build
from devstack.asgi import serve_asgi
from devstack.ports import free_port
from gateway.config import GatewayConfig
from gateway.http.app import build_gateway, create_app


@asynccontextmanager
async def _stack(name: str, supergraph: Callable[[str], str]) -> AsyncIterator[tuple[str, str, SubgraphApp]]:
    port = free_port()
    subgraphs = SubgraphApp(schemas=build(name))
    server = await serve("127.0.0.1", port, subgraphs)
    base = f"http://127.0.0.1:{port}"
    config = GatewayConfig(auth=False)
    app = create_app(build_gateway(supergraph(base), config), config)
    try:
        async with serve_asgi(app, lifespan="on") as url:
            yield f"{url}/graphql", base, subgraphs
    finally:
        server.close()
        await server.wait_closed()


async def _post(url: str, body: bytes) -> Any:
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers={"content-type": "application/json"}) as response:
        assert response.status == 200
        return orjson.loads(await response.read())


def test_many_plans_query_has_the_suites_shape() -> None:
    query = scenarios.many_plans_query()
    assert len(query) == 24131  # four levels of four children, 256 leaves of four fields, like the suite's
    data = scenarios.many_plans_expected(query)["data"]["node"]
    assert len(orjson.dumps({"data": {"node": data}})) == 18783


async def test_many_plans_through_our_gateway() -> None:
    sdl = scenarios.many_plans().supergraph_sdl
    async with _stack("many-plans", sdl) as (url, base, sg):
        for i, alias in enumerate([None, "a1"]):  # warm and a distinct document (plan-cache miss)
            work = workload("many-plans" if alias is None else "many-plans-no-cache", 2, base)
            answer = await _post(url, work.body(i + 1 if alias else 0))
            assert answer == work.expected(i + 1 if alias else 0)
        assert sum(sg.counts.values()) > 0


async def test_big_response_through_our_gateway_on_small_data() -> None:
    scale = 4  # every list a quarter of the suite's: ~130 KB instead of ~8 MB
    scenario = scenarios.big_response(scale)
    # every field is subgraph0's: its own answer is the expected response (as the benchmark takes it)
    expected = graphql.graphql_sync(build("big-response")["subgraph0"], scenario.query)
    assert not expected.errors
    async with _stack("big-response", scenario.supergraph_sdl) as (url, _base, _sg):
        answer = await _post(url, orjson.dumps({"query": scenario.query}))
        assert answer == {"data": orjson.loads(orjson.dumps(expected.data))}
        assert answer["data"]["nodes"][0]["lists"][0]["nodes"][0]["nodes"][0]["floats"] is not None
