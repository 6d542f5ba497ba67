"""CPU per scenario query in the engine alone (no HTTP on either side): where the gateway's time goes.

    python -m bench.profiles.engine_cpu [--n 300] [--cprofile]

The four scenario subgraphs run in this process once to record their answers; then the engine runs the
query ``--n`` times against a client that replays them (parsing the recorded bytes each time, as the real
client does), so the figure is the engine's own work: planning (cached), collecting representations,
merging, shaping. The response is checked against the expected one.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import time
from collections.abc import Hashable, Mapping
from typing import Any

import graphql
import orjson

from bench.federation import scenario
from bench.federation.subgraphs.server import SubgraphApp, serve
from gateway.engine import Gateway, OperationRequest
from gateway.execution.http_client import SubgraphClient


class ReplayClient(SubgraphClient):
    def __init__(self, recorded: dict[tuple[str, bytes], bytes]) -> None:
        super().__init__(30.0)
        self.recorded = recorded

    async def post(self, url: str, payload: dict[str, Any], extra_headers: Mapping[str, str] | None = None,
                   *, dedup_key: Hashable | None = None) -> dict[str, Any]:
        result: dict[str, Any] = orjson.loads(self.recorded[(url, orjson.dumps(payload))])
        return result


async def _record(gateway: Gateway, request: OperationRequest) -> dict[tuple[str, bytes], bytes]:
    recorded: dict[tuple[str, bytes], bytes] = {}
    real = gateway.client.post

    async def post(url: str, payload: dict[str, Any], extra_headers: Mapping[str, str] | None = None,
                   *, dedup_key: Hashable | None = None) -> Any:
        result = await real(url, payload, extra_headers, dedup_key=dedup_key)
        recorded[(url, orjson.dumps(payload))] = orjson.dumps(result)
        return result

    gateway.client.post = post  # type: ignore[method-assign]
    await gateway.execute(request)
    await gateway.close()
    return recorded


async def main(n: int, profile: bool, gc_threshold: int) -> None:
    server = await serve("127.0.0.1", 0, SubgraphApp(use_requires=False))
    port = server.sockets[0].getsockname()[1]
    gateway = Gateway.from_supergraph_sdl(scenario.supergraph_sdl(f"http://127.0.0.1:{port}"))
    request = OperationRequest(graphql.parse(scenario.query_text()), None, None)
    recorded = await _record(gateway, request)
    server.close()
    replay = ReplayClient(recorded)
    gateway.client = replay
    gateway.executor.client = replay
    expected = scenario.expected_response()
    assert orjson.loads(orjson.dumps(await gateway.execute(request))) == expected, "wrong response"
    for _ in range(20):
        await gateway.execute(request)
    if gc_threshold:
        gc.collect()
        gc.freeze()  # what the server does once started: the schema and plans leave the collector's view
        gc.set_threshold(gc_threshold, *gc.get_threshold()[1:])
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    batches = []  # the machine is shared: the best of five batches is the engine's own cost
    for _ in range(5):
        start = time.process_time()
        for _ in range(max(1, n // 5)):
            orjson.dumps(await gateway.execute(request))
        batches.append((time.process_time() - start) / max(1, n // 5))
    if profiler:
        profiler.disable()
    per_query = min(batches) * 1000
    print(f"{len(recorded)} subgraph requests/query; engine + orjson.dumps: {per_query:.3f} ms/q (best of 5)")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--gc-threshold", type=int, default=0, help="gc.freeze() and this gen0 threshold")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.cprofile, args.gc_threshold))
