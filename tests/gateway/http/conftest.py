"""Fixtures of the HTTP-layer tests: a gateway in front of the catalog subgraph, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from gateway.config import GatewayConfig
from tests.gateway.http.servers import GatewayServer, serve_gateway


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway_server() -> AsyncIterator[GatewayServer]:
    # CSRF prevention (on by default) refuses header-less GETs; these tests and the graphql-http audit
    # exercise plain GraphQL-over-HTTP GETs. CSRF is tested in tests/gateway/safety (docs/safety.md).
    config = GatewayConfig(parse_cache_size=50, validation_cache_size=50, max_body_bytes=64 * 1024,
                           csrf_prevention=False)
    async with serve_gateway(config) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session
