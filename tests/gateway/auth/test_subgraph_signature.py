"""A subgraph built with shared.app_factory cannot be bypassed: called directly it answers 401; through the
gateway (which signs x-gateway-context for every subgraph request) it sees the caller's principal."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import graphql
import pytest_asyncio
import strawberry
from strawberry.federation import Schema
from strawberry.types import Info

from devstack.asgi import serve_asgi
from gateway.auth.layer import GatewayAuth
from gateway.auth.principal import Principal
from gateway.config import GatewayConfig
from gateway.engine import Gateway, OperationRequest
from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from shared.app_factory import create_subgraph_app
from shared.gateway_context import HEADER, sign_context
from shared.gateway_context import Principal as ContextPrincipal
from shared.settings import Settings

SECRET = "subgraph-signature-test-secret"
TENANT = str(uuid.uuid4())


@strawberry.type
class Query:
    @strawberry.field
    def whoami(self, info: Info) -> str | None:
        principal = info.context.principal
        return None if principal is None else f"{principal.tenant_id}/{principal.user_id}"


SCHEMA = Schema(query=Query)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def probe_url() -> AsyncIterator[str]:
    settings = Settings(gateway_secret=SECRET, outbox_relay_enabled=False)
    app = create_subgraph_app(SCHEMA, name="probe", settings=settings, events=False)
    async with serve_asgi(app, lifespan="on") as url:
        yield f"{url}/graphql"


async def _post(url: str, query: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"query": query}, headers=headers or {}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_direct_call_without_signature_is_401(probe_url: str) -> None:
    status, body = await _post(probe_url, "{ whoami }")
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_forged_expired_and_foreign_signatures_are_401(probe_url: str) -> None:
    principal = ContextPrincipal(tenant_id=TENANT, user_id="u1")
    forged = sign_context(principal, b"not-the-secret")
    expired = sign_context(principal, SECRET.encode(), ttl=1, now=time.time() - 120)
    for header in (forged, expired, "v1.garbage.garbage", "x"):
        status, _ = await _post(probe_url, "{ whoami }", {HEADER: header})
        assert status == 401


async def test_signed_call_is_served(probe_url: str) -> None:
    header = sign_context(ContextPrincipal(tenant_id=TENANT, user_id="u1"), SECRET.encode())
    status, body = await _post(probe_url, "{ whoami }", {HEADER: header})
    assert (status, body) == (200, {"data": {"whoami": f"{TENANT}/u1"}})


async def test_through_the_gateway_the_subgraph_sees_the_principal(probe_url: str) -> None:
    sdl = compose_supergraph([SubgraphSource("probe", probe_url, SCHEMA.as_str())])
    gateway = Gateway.from_supergraph_sdl(sdl, subgraph_timeout=5.0)
    # A static header configured for subgraphs cannot replace the signed context.
    gateway.client.headers[HEADER] = "v1.static.header"
    gateway.auth = GatewayAuth.from_config(
        gateway.api_schema, gateway.supergraph_schema, GatewayConfig(), secret=SECRET.encode()
    )
    try:
        principal = Principal(tenant_id=TENANT, user_id="u7", method="jwt")
        request = OperationRequest(graphql.parse("{ whoami }"), None, None, principal=principal)
        assert await gateway.execute(request) == {"data": {"whoami": f"{TENANT}/u7"}}
    finally:
        await gateway.close()
        await gateway.auth.close()
