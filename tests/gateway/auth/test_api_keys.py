"""API keys for partner ERPs, on a real Redis: looked up by hash, revocation effective within 5 seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.asgi import serve_asgi
from gateway.auth.api_keys import ApiKeyRecord, RedisKeyTable, hash_api_key
from shared.gateway_context import HEADER, verify_context
from tests.conftest import ServiceUrls
from tests.gateway.auth import market
from tests.gateway.auth.conftest import Client, ServeGateway

QUERY = '{ organization(id: "oa1") { name creditLimit } }'
RECORD = ApiKeyRecord(
    key_id="erp-1",
    tenant_id="ta",
    organization_id="oa1",
    roles=frozenset({"erp"}),
    scopes=frozenset({"finance:read"}),
)


async def _refused_within(client: Client, key: str, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds + 1:
        status, body = await client.post(QUERY, headers={"x-api-key": key})
        if status == 401:
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError("the revoked key still works")


async def test_redis_key_table(service_urls: ServiceUrls, serve_gateway: ServeGateway) -> None:
    table_name = f"test-api-keys-{time.time_ns()}"
    table = RedisKeyTable(service_urls.redis_url, table_name)
    key = "erp-secret-key-1"
    await table.publish(key, RECORD)
    try:
        async with serve_gateway(
            api_key_source="redis", api_key_table=table_name, redis_url=service_urls.redis_url
        ) as c:
            status, body = await c.post(QUERY, headers={"x-api-key": key})
            assert (status, body) == (
                200,
                {"data": {"organization": {"name": "Acme Tools", "creditLimit": "10000.00"}}},
            )
            assert (await c.post(QUERY, headers={"x-api-key": "unknown-key"}))[0] == 401
            both = {"x-api-key": key, "authorization": "Bearer x.y.z"}
            assert (await c.post(QUERY, headers=both))[0] == 401
            await table.revoke(key)
            assert await _refused_within(c, key, 5.0) <= 5.0
    finally:
        await table.redis.delete(table_name)
        await table.close()


async def test_expired_key(service_urls: ServiceUrls, serve_gateway: ServeGateway) -> None:
    table_name = f"test-api-keys-{time.time_ns()}"
    table = RedisKeyTable(service_urls.redis_url, table_name)
    await table.publish(
        "old-key", ApiKeyRecord("erp-2", "ta", None, frozenset(), frozenset(), expires_at=1.0)
    )
    try:
        async with serve_gateway(
            api_key_source="redis", api_key_table=table_name, redis_url=service_urls.redis_url
        ) as c:
            assert (await c.post(QUERY, headers={"x-api-key": "old-key"}))[0] == 401
    finally:
        await table.redis.delete(table_name)
        await table.close()


class KeyService:
    """The orgs subgraph's side of the HTTP lookup contract (GET ?hash=, signed gateway context)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.app = Starlette(routes=[Route("/internal/api-keys", self.lookup)])

    async def lookup(self, request: Request) -> Response:
        verify_context(request.headers.get(HEADER, ""), market.SECRET)  # raises: 500 for the test
        self.calls += 1
        record = self.records.get(request.query_params.get("hash", ""))
        return JSONResponse(record) if record is not None else Response(status_code=404)


@pytest_asyncio.fixture(loop_scope="session")
async def key_service() -> AsyncIterator[tuple[KeyService, str]]:
    service = KeyService()
    async with serve_asgi(service.app) as url:
        yield service, f"{url}/internal/api-keys"


async def test_http_lookup_cached_in_redis(
    service_urls: ServiceUrls, serve_gateway: ServeGateway, key_service: tuple[KeyService, str]
) -> None:
    service, url = key_service
    key = f"erp-http-key-{time.time_ns()}"
    service.records[hash_api_key(key)] = RECORD.to_json()
    async with serve_gateway(
        api_key_source="http", api_key_url=url, api_key_cache_ttl=3.0, redis_url=service_urls.redis_url
    ) as c:
        for _ in range(3):
            status, body = await c.post(QUERY, headers={"x-api-key": key})
            assert status == 200 and body["data"]["organization"]["creditLimit"] == "10000.00"
        assert service.calls == 1  # the answer is cached in Redis
        del service.records[hash_api_key(key)]
        assert await _refused_within(c, key, 5.0) <= 5.0
