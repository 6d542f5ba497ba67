"""Faults under load: one subgraph stopped, another slowed past its timeout, a third healthy.

A bounded load loop (a fixed number of requests, a few in parallel) asks all three at once. Every
answer has the healthy subgraph's data and coded errors for the others; none waits much longer than
the slow subgraph's own timeout; both breakers open. Once the subgraphs are back, the breakers'
half-open probes close them again and the data returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.asgi import serve_asgi
from devstack.ports import free_port
from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.http.app import create_app
from gateway.resilience.breaker import BreakerState, CircuitBreaker
from gateway.resilience.retry import RetryBudget
from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from tests.gateway.core.subgraph_kit import KitSubgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key"])\n'
SLOW_TIMEOUT = 0.5
MARGIN = 1.5  # loose: a busy CI machine
QUERY = {"query": "query All { healthy stopped slow }"}


def kit(name: str) -> KitSubgraph:
    return KitSubgraph(name, LINK + f"type Query {{ {name}: String }}", root={"Query": {name: lambda: name}})


def breaker_states(text: str) -> dict[str, float]:
    states = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gateway_circuit_breaker_state":
                states[sample.labels["subgraph"]] = sample.value
    return states


async def fetch(http: aiohttp.ClientSession, url: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    async with http.post(url, json=QUERY) as response:
        assert response.status == 200
        body = await response.json()
    return time.perf_counter() - started, body


@contextlib.asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[None]:
    async with serve_asgi(app, port=port):
        yield


@pytest.mark.asyncio(loop_scope="session")
async def test_stopped_and_slow_subgraphs_under_load() -> None:
    healthy, stopped, slow = kit("healthy"), kit("stopped"), kit("slow")
    ports = {name: free_port() for name in ("healthy", "stopped", "slow")}
    urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
    sources = [SubgraphSource(k.name, urls[k.name], k.sdl) for k in (healthy, stopped, slow)]
    config = GatewayConfig(
        auth=False,
        subscriptions=False,
        subgraph_timeouts={"slow": SLOW_TIMEOUT},
        breaker_failure_threshold=3,
        breaker_window=10,
        breaker_open_seconds=1.0,
        subgraph_retries=1,
    )
    gateway = Gateway.from_supergraph_sdl(compose_supergraph(sources), subgraph_timeout=5.0)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(serving(healthy.app, ports["healthy"]))
        await stack.enter_async_context(serving(slow.app, ports["slow"]))
        base = await stack.enter_async_context(serve_asgi(create_app(gateway, config), lifespan="on"))
        http = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)))
        graphql_url = f"{base}/graphql"
        slow.delay = 3.0  # "stopped" is not served at all: connection refused

        results = []
        for _ in range(8):  # bounded: 8 rounds of 6 parallel requests
            results += await asyncio.gather(*(fetch(http, graphql_url) for _ in range(6)))
        for elapsed, body in results:
            assert body["data"]["healthy"] == "healthy"
            assert body["data"]["stopped"] is None and body["data"]["slow"] is None
            codes = {e["extensions"]["serviceName"]: e["extensions"]["code"] for e in body["errors"]}
            assert codes["stopped"] in ("SUBREQUEST_HTTP_ERROR", "SUBGRAPH_UNAVAILABLE"), codes
            assert codes["slow"] in ("GATEWAY_TIMEOUT", "SUBGRAPH_UNAVAILABLE"), codes
            assert elapsed < SLOW_TIMEOUT + MARGIN, elapsed
        later = {e["extensions"]["code"] for _, body in results[-6:] for e in body["errors"]}
        assert later == {"SUBGRAPH_UNAVAILABLE"}  # both breakers open: failing fast
        async with http.get(f"{base}/metrics") as response:
            states = breaker_states(await response.text())
        assert states["stopped"] == states["slow"] == BreakerState.OPEN and states["healthy"] == 0
        assert len(slow.requests) < len(results)  # the open breaker spared the slow subgraph

        # Back: the stopped subgraph restarts on its port, the slow one answers at once again.
        await stack.enter_async_context(serving(stopped.app, ports["stopped"]))
        slow.delay = 0.0
        async with asyncio.timeout(15):
            while True:
                _, body = await fetch(http, graphql_url)
                if body["data"] == {"healthy": "healthy", "stopped": "stopped", "slow": "slow"}:
                    break
                await asyncio.sleep(0.2)
        assert "errors" not in body
        async with http.get(f"{base}/metrics") as response:
            states = breaker_states(await response.text())
        assert states["stopped"] == states["slow"] == BreakerState.CLOSED


def test_breaker_opens_probes_and_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker("s", failure_threshold=3, window=10, open_seconds=5, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    now[0] = 11.0  # the old failures left the window
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 16.5
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # one probe at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 22.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_retry_budget_bounds_retries() -> None:
    now = [0.0]
    budget = RetryBudget(0.1, min_per_second=0.0, capacity=2.0, clock=lambda: now[0])
    assert budget.withdraw() and budget.withdraw() and not budget.withdraw()
    for _ in range(11):  # 0.1 each: one retry earned (and a little)
        budget.deposit()
    assert budget.withdraw() and not budget.withdraw()
