"""The gateway with its real Redis stopped mid-run, then started again (docs/operations.md "Degraded modes").

While Redis is down: queries keep being answered with no added connect timeout per request, the rate
limit is counted in the process (the same budget, per process), persisted queries work from the local
LRU (a new registration stays local). Once Redis is back the shared budget and the shared APQ store
are used again, without restarting the gateway.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from devstack.ports import free_port
from devstack.services import start_redis
from gateway.config import GatewayConfig
from tests.gateway.ops.stack import Stack, serve_stack

BUDGET = 20  # requests per minute per caller (all requests here come from 127.0.0.1, anonymous)
QUERY = "{ categories { id name } }"


def _pq(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}


async def _post(session: aiohttp.ClientSession, stack: Stack, body: dict[str, Any]) -> tuple[int, Any, float]:
    started = time.perf_counter()
    async with session.post(stack.graphql, json=body, headers={"accept": "application/json"}) as response:
        return response.status, await response.json(content_type=None), time.perf_counter() - started


async def _spend(session: aiohttp.ClientSession, stack: Stack, count: int) -> list[int]:
    return [(await _post(session, stack, {"query": QUERY}))[0] for _ in range(count)]


async def test_gateway_serves_through_a_redis_outage_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    redis_proc, redis_url = start_redis(tmp_path, port)
    config = GatewayConfig(auth=False, subscriptions=False, redis_url=redis_url,
                           rate_limit_per_minute=BUDGET, apq=True)
    client: aioredis.Redis[bytes] = aioredis.from_url(redis_url)
    try:
        async with serve_stack(config) as stack, aiohttp.ClientSession() as session:
            # Redis up: the shared budget, the shared APQ store.
            known = "{ categories { id } }"
            status, _, _ = await _post(session, stack, {"query": known, "extensions": _pq(known)})
            assert status == 200
            statuses = await _spend(session, stack, BUDGET)
            assert statuses[: BUDGET - 1] == [200] * (BUDGET - 1) and statuses[-1] == 429
            assert await client.keys("gateway:rl:*") and await client.keys("*" + _pq(known)["persistedQuery"]
                                                                          ["sha256Hash"])
            await client.aclose()  # type: ignore[attr-defined]

            redis_proc.stop()
            # Down: answered, quickly, with the budget counted here (a fresh local bucket).
            hit = await _post(session, stack, {"extensions": _pq(known)})  # from the local LRU
            assert hit[0] == 200 and hit[1]["data"]["categories"], hit
            fresh = "{ categories { name } }"
            registered = await _post(session, stack, {"query": fresh, "extensions": _pq(fresh)})
            assert registered[0] == 200  # registration kept locally
            assert (await _post(session, stack, {"extensions": _pq(fresh)}))[0] == 200
            statuses, slowest = [], 0.0
            for _ in range(BUDGET - 2):  # with the three above: one over the budget
                status, answer, took = await _post(session, stack, {"query": QUERY})
                statuses.append(status)
                slowest = max(slowest, took)
                if status == 200:
                    assert answer["data"]["categories"]
            assert statuses[:-1] == [200] * (BUDGET - 3) and statuses[-1] == 429, statuses
            assert slowest < 2.0  # no Redis connect timeout paid per request (generous on a loaded machine)
            metrics = await (await session.get(f"{stack.url}/metrics")).text()
            assert "redis" in metrics

            # Back: the same port, an empty Redis; after the retry interval the shared store is used again.
            redis_proc, _ = start_redis(tmp_path, port)
            client = aioredis.from_url(redis_url)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                status, _, _ = await _post(session, stack, {"query": QUERY})
                if await client.keys("gateway:rl:*"):
                    break
                await asyncio.sleep(0.2)
            assert await client.keys("gateway:rl:*"), "the rate limit did not return to Redis"
            again = "{ categories { id parent { id } } }"
            assert (await _post(session, stack, {"query": again, "extensions": _pq(again)}))[0] == 200
            assert await client.keys("*" + _pq(again)["persistedQuery"]["sha256Hash"])
    finally:
        await client.aclose()  # type: ignore[attr-defined]
        redis_proc.stop()


@pytest.mark.parametrize("fail_open", [False])
async def test_fail_closed_answers_503_while_redis_is_down(tmp_path: Path, fail_open: bool) -> None:
    config = GatewayConfig(auth=False, subscriptions=False, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                           rate_limit_per_minute=BUDGET, rate_limit_fail_open=fail_open)
    async with serve_stack(config) as stack, aiohttp.ClientSession() as session:
        status, answer, _ = await _post(session, stack, {"query": QUERY})
        assert status == 503, answer
