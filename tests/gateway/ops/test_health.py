"""Liveness vs readiness: a subgraph is alive while its process answers, ready only while its database
and (when it runs events) NATS are reachable; the gateway is alive and ready once its supergraph loaded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import strawberry
from strawberry.federation import Schema

from devstack.asgi import serve_asgi
from devstack.ports import free_port
from devstack.services import ServiceUrls
from shared.app_factory import create_subgraph_app
from shared.db import Database, app_database_url
from shared.settings import Settings
from tests.gateway.ops.stack import serve_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


@strawberry.type
class Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"


@contextlib.asynccontextmanager
async def subgraph(database_url: str, nats_url: str, *, events: bool) -> AsyncIterator[str]:
    db = Database.from_url(database_url, pool_size=1)
    settings = Settings(nats_url=nats_url)
    app = create_subgraph_app(
        Schema(query=Query), name="probe", settings=settings, database=db, events=events
    )
    try:
        async with serve_asgi(app, lifespan="on") as url:
            yield url
    finally:
        await db.dispose()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def wait_ready(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with asyncio.timeout(20):
        while True:
            status, body = await get(http, f"{url}/readyz")
            if status == 200:
                return status, body
            await asyncio.sleep(0.1)


async def test_subgraph_ready_with_database_and_nats(service_urls: ServiceUrls) -> None:
    async with (
        subgraph(str(app_database_url(service_urls.database_url)), service_urls.nats_url, events=True) as url,
        aiohttp.ClientSession() as http,
    ):
        _, body = await wait_ready(http, url)
        assert body["checks"] == {"database": "ok", "nats": "ok"}
        assert (await get(http, f"{url}/livez"))[0] == 200
        async with http.get(f"{url}/metrics") as response:
            assert response.status == 200 and "subgraph_requests_total" in await response.text()


async def test_subgraph_not_ready_without_database(service_urls: ServiceUrls) -> None:
    down = f"postgresql+asyncpg://b2b_app:b2b_app@127.0.0.1:{free_port()}/b2b"
    async with subgraph(down, service_urls.nats_url, events=False) as url, aiohttp.ClientSession() as http:
        status, body = await get(http, f"{url}/readyz")
        assert (status, body["checks"]) == (503, {"database": "down"})
        assert (await get(http, f"{url}/livez"))[0] == 200  # alive: restarting it would not help


async def test_subgraph_not_ready_without_nats(service_urls: ServiceUrls) -> None:
    down = f"nats://127.0.0.1:{free_port()}"
    async with (
        subgraph(str(app_database_url(service_urls.database_url)), down, events=True) as url,
        aiohttp.ClientSession() as http,
    ):
        status, body = await get(http, f"{url}/readyz")
        assert (status, body["checks"]) == (503, {"database": "ok", "nats": "down"})
        assert (await get(http, f"{url}/livez"))[0] == 200


async def test_gateway_live_and_ready() -> None:
    async with serve_stack() as stack, aiohttp.ClientSession() as http:
        assert (await get(http, f"{stack.url}/livez"))[0] == 200
        status, body = await get(http, f"{stack.url}/readyz")
        assert status == 200 and body["status"] == "ready"
