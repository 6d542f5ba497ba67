"""``python -m bench.profiles.big_response [--n 5] [--cprofile]``: where our gateway's time goes on the
big-response scenario (about 8 MB): the Python subgraphs in-process (answers memoized), the engine's phases
timed one by one (subgraph exchange + JSON parse, merge, shaping, JSON serialization), best of ``n``."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time

import orjson

from bench.federation.subgraphs.server import SubgraphApp, serve
from bench.grafbase import scenarios
from bench.grafbase.subgraphs import build
from devstack.ports import free_port
from gateway.engine import Gateway, OperationRequest


async def _main(n: int, profile: bool) -> None:
    import graphql

    port = free_port()
    server = await serve("127.0.0.1", port, SubgraphApp(schemas=build("big-response")))
    scenario = scenarios.big_response()
    gateway = Gateway.from_supergraph_sdl(scenario.supergraph_sdl(f"http://127.0.0.1:{port}"))
    document = graphql.parse(scenario.query)
    request = OperationRequest(document, None, None)
    try:
        await gateway.execute(request)  # warm: plan cached, subgraph memo filled
        best: dict[str, float] = {}
        profiler = cProfile.Profile() if profile else None
        size = 0
        for _ in range(n):
            t0 = time.perf_counter()
            if profiler:
                profiler.enable()
            response = await gateway.execute(request)
            t1 = time.perf_counter()
            body = orjson.dumps(response)
            t2 = time.perf_counter()
            if profiler:
                profiler.disable()
            size = len(body)
            for name, value in (("execute (fetch+parse+merge+shape)", t1 - t0), ("serialize", t2 - t1),
                                ("total", t2 - t0)):
                best[name] = min(best.get(name, 1e9), value * 1000)
        # the pieces of execute, measured apart on the same data
        plan = gateway.plan(document, None, None)
        raw = server_raw = await _raw(port, scenario.query)
        t0 = time.perf_counter()
        data = orjson.loads(server_raw)["data"]
        t1 = time.perf_counter()
        gateway.shapes.get(plan.root_fields, plan.root_type).shape(data, [])
        t2 = time.perf_counter()
        print(f"response {size / 1e6:.2f} MB (subgraph answer {len(raw) / 1e6:.2f} MB); best of {n}:")
        for name, ms in best.items():
            print(f"  {name:36s} {ms:8.1f} ms")
        print(f"  {'  of which orjson.loads (alone)':36s} {(t1 - t0) * 1000:8.1f} ms")
        print(f"  {'  of which shaping (alone)':36s} {(t2 - t1) * 1000:8.1f} ms")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    finally:
        await gateway.close()
        server.close()
        await server.wait_closed()


async def _raw(port: int, query: str) -> bytes:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.post(
            f"http://127.0.0.1:{port}/subgraph0", data=orjson.dumps({"query": query})) as response:
        return await response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    asyncio.run(_main(args.n, args.cprofile))


if __name__ == "__main__":
    main()
