"""Flow control: a flooding tenant fills its own slots, not the gateway; overload sheds with 503.

The noisy-neighbour test puts a shared bottleneck behind the gateway (the subgraph's connection limit:
4 concurrent calls, each taking 100 ms). Tenant A keeps 12 requests in flight; with a limit of 2 per
tenant it can hold only 2 of the 4 calls, so tenant B's p99 stays within 2x of its quiet p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from devstack.services import ServiceUrls
from gateway.auth.api_keys import ApiKeyRecord, RedisKeyTable
from gateway.config import GatewayConfig
from gateway.http.errors import HTTPRequestError
from gateway.safety.flow_control import OPERATION_LIMIT, OVERLOADED, TENANT_LIMIT, FlowControl, FlowSettings
from tests.gateway.ops.stack import Stack, serve_stack

QUERY = {"query": "query Tree { categories { id } }"}
SEARCH = "query Search($text: String) { search(text: $text) { id } }"  # distinct bodies: no deduplication
NOISE = 0.25  # seconds: see the p99 assertion
DELAY = 0.1  # long beside the busy machine's scheduling noise


@contextlib.asynccontextmanager
async def keyed_stack(redis_url: str, **settings: object) -> AsyncIterator[tuple[Stack, str, str]]:
    table = f"test:api-keys:{secrets.token_hex(4)}"
    keys = RedisKeyTable(redis_url, table)
    key_a, key_b = f"a{secrets.token_hex(8)}", f"b{secrets.token_hex(8)}"
    await keys.publish(key_a, ApiKeyRecord("ka", "tenant-a", "oa", frozenset(), frozenset()))
    await keys.publish(key_b, ApiKeyRecord("kb", "tenant-b", "ob", frozenset(), frozenset()))
    config = GatewayConfig(
        subscriptions=False,
        graphiql=False,
        api_key_source="redis",
        api_key_table=table,
        redis_url=redis_url,
        apq=False,
        subgraph_connection_limits={"tree": 4},
        **settings,
    )  # type: ignore[arg-type]
    try:
        async with serve_stack(config) as stack:
            stack.subgraph.delay = DELAY
            yield stack, key_a, key_b
    finally:
        await keys.close()


async def timed(http: aiohttp.ClientSession, stack: Stack, key: str) -> tuple[float, int, dict[str, str]]:
    started = time.perf_counter()
    body = {"query": SEARCH, "variables": {"text": secrets.token_hex(4)}}
    async with http.post(stack.graphql, json=body, headers={"x-api-key": key}) as response:
        await response.read()
        return time.perf_counter() - started, response.status, dict(response.headers)


def median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_flooding_tenant_does_not_starve_another(service_urls: ServiceUrls) -> None:
    async with (
        keyed_stack(service_urls.redis_url, tenant_concurrency=2) as (stack, key_a, key_b),
        aiohttp.ClientSession() as http,
    ):
        for _ in range(5):  # warm: plan cache, API key cache, connections
            assert (await timed(http, stack, key_b))[1] == 200
        quiet = [(await timed(http, stack, key_b))[0] for _ in range(50)]

        stop = asyncio.Event()
        refused: list[dict[str, str]] = []
        served = [0]

        async def flood() -> None:
            while not stop.is_set():
                _, status, headers = await timed(http, stack, key_a)
                if status == 503:
                    refused.append(headers)
                    await asyncio.sleep(0.05)
                else:
                    assert status == 200
                    served[0] += 1

        flooders = [asyncio.create_task(flood()) for _ in range(12)]
        try:
            await asyncio.sleep(0.3)
            busy = []
            for _ in range(50):
                elapsed, status, _ = await timed(http, stack, key_b)
                assert status == 200
                busy.append(elapsed)
        finally:
            stop.set()
            await asyncio.gather(*flooders)
    assert served[0] > 0 and refused and all(h.get("Retry-After") == "1" for h in refused)
    # Without the tenant limit B's median more than triples here (0.12 s -> 0.42 s: A's queued calls
    # ahead of B's at the bottleneck). p99 of 50 requests is their slowest: on a shared machine a single
    # scheduling stall can reach several hundred ms either way, hence the slack on top of "within 2x"
    # (and a little on the median too: the flood's own client runs in this process).
    assert median(busy) <= 2 * median(quiet) + 0.05, (median(quiet), median(busy))
    assert p99(busy) <= 2 * p99(quiet) + NOISE, (p99(quiet), p99(busy))


@pytest.mark.asyncio(loop_scope="session")
async def test_refusals_are_coded_503s_with_retry_after() -> None:
    flow = FlowControl(FlowSettings(tenant_concurrency=1, operation_concurrency=2, shed_loop_lag=0.2))
    with flow.admit("t1", "Op"):
        with pytest.raises(HTTPRequestError) as tenant, flow.admit("t1", "Other"):
            pass
        with flow.admit("t2", "Op"), pytest.raises(HTTPRequestError) as operation, flow.admit("t3", "Op"):
            pass
    assert (tenant.value.status, tenant.value.body["errors"][0]["extensions"]["code"]) == (503, TENANT_LIMIT)
    assert operation.value.body["errors"][0]["extensions"]["code"] == OPERATION_LIMIT
    assert tenant.value.headers == {"Retry-After": "1"}
    assert flow.tenants == {} and flow.operations == {}  # every slot released
    assert flow.monitor is not None
    flow.monitor.lag = 0.5  # as measured when the loop falls behind
    with pytest.raises(HTTPRequestError) as shed, flow.admit("t1", "Op"):
        pass
    assert shed.value.body["errors"][0]["extensions"]["code"] == OVERLOADED
    await flow.close()


@pytest.mark.asyncio(loop_scope="session")
async def test_health_stays_green_while_shedding() -> None:
    config = GatewayConfig(auth=False, subscriptions=False, shed_loop_lag_ms=100)
    async with serve_stack(config) as stack, aiohttp.ClientSession() as http:
        flow = stack.app.state.graphql.safety.flow
        async with http.post(stack.graphql, json=QUERY) as response:
            assert response.status == 200
        flow.monitor.lag = 1.0
        flow.monitor.smoothing = 0.0  # hold the measured lag for the test
        async with http.post(stack.graphql, json=QUERY) as response:
            body = await response.json()
            assert response.status == 503 and response.headers["Retry-After"] == "1"
            assert body["errors"][0]["extensions"]["code"] == OVERLOADED
        for path in ("/livez", "/readyz", "/healthcheck", "/metrics"):
            async with http.get(f"{stack.url}{path}") as response:
                assert response.status == 200, path
