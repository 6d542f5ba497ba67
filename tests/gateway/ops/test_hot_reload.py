"""Hot reload: supergraph swaps under load drop no request; a broken supergraph is refused.

2,000 requests (20 at a time) run while the supergraph is swapped 5 times between two copies of the
tree subgraph; every request answers 200 with data, the last swap's subgraph serves afterwards, and a
supergraph that does not build leaves the current one serving. Subscriptions are not moved by a reload
(docs/operations.md), so this test has none.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from devstack.asgi import serve_asgi
from gateway.config import GatewayConfig
from tests.gateway.ops.stack import serve_stack
from tests.gateway.ops.tree_subgraph import TreeSubgraph, supergraph_sdl

pytestmark = pytest.mark.asyncio(loop_scope="session")
QUERY = {"query": "query Tree { categories { id children { id } } }"}


async def test_swaps_under_load_drop_nothing_and_a_broken_supergraph_is_refused() -> None:
    other = TreeSubgraph()
    async with serve_stack() as stack, serve_asgi(other.app) as other_url, aiohttp.ClientSession() as http:
        reloader = stack.app.state.reloader
        sdls = [supergraph_sdl(f"{other_url}/graphql"), supergraph_sdl(f"{stack.subgraph_url}/graphql")]
        statuses: list[int] = []
        bodies_ok = [0]

        async def client(count: int) -> None:
            for _ in range(count):
                async with http.post(stack.graphql, json=QUERY) as response:
                    statuses.append(response.status)
                    body = await response.json()
                    if body.get("data", {}).get("categories") and "errors" not in body:
                        bodies_ok[0] += 1

        async def swaps() -> None:
            for i in range(5):
                await asyncio.sleep(0.15)
                assert await reloader.reload(sdls[i % 2])

        await asyncio.gather(*(client(100) for _ in range(20)), swaps())
        assert len(statuses) == 2000 and set(statuses) == {200} and bodies_ok[0] == 2000
        assert reloader.reloads == 5
        served_by_other = len(other.requests)
        assert served_by_other > 0  # the swaps took effect

        assert not await reloader.reload("type Query { broken")  # refused
        assert not await reloader.reload(supergraph_sdl("http://x/graphql").replace("@join__graph", "@nope"))
        assert reloader.failures == 2
        async with http.post(stack.graphql, json=QUERY) as response:
            assert response.status == 200 and "errors" not in await response.json()
        assert len(other.requests) == served_by_other + 1  # the last good one (other) still serves
        async with http.get(f"{stack.url}/metrics") as response:
            assert 'gateway_supergraph_reloads_total{result="failed"}' in await response.text()


async def test_sighup_and_file_changes_reload(tmp_path: Path) -> None:
    first, second = TreeSubgraph(), TreeSubgraph()
    async with serve_asgi(first.app) as first_url, serve_asgi(second.app) as second_url:
        path = tmp_path / "supergraph.graphql"
        path.write_text(supergraph_sdl(f"{first_url}/graphql"))
        config = GatewayConfig(auth=False, subscriptions=False, supergraph=path, supergraph_poll_interval=0.1)
        async with serve_stack(config, sdl=path.read_text()) as stack, aiohttp.ClientSession() as http:
            async with http.post(stack.graphql, json=QUERY) as response:
                assert response.status == 200
            assert len(first.requests) == 1
            path.write_text(supergraph_sdl(f"{second_url}/graphql"))
            async with asyncio.timeout(10):
                while True:
                    if stack.app.state.reloader.reloads >= 1:
                        break
                    await asyncio.sleep(0.05)
            async with http.post(stack.graphql, json=QUERY) as response:
                assert response.status == 200
            assert len(second.requests) == 1
