"""NATS request-reply between domains (shared.rpc) on the real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import orjson
import pytest
import strawberry
from nats.aio.client import Client as NatsClient
from sqlalchemy import text

from devstack.asgi import serve_asgi
from shared.app_factory import create_subgraph_app
from shared.db import Database, app_database_url
from shared.graphql import Info
from shared.rpc import RpcError, RpcRequest, ServiceUnavailable, rpc_call, service_subject
from shared.settings import Settings
from shared.testing import gateway_headers, graphql

TENANT = uuid.uuid4()
DOMAIN = f"rpc{secrets.token_hex(3)}"


async def echo(request: RpcRequest) -> dict[str, Any]:
    async with request.session() as session:
        setting = (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
    return {"tenant": str(request.tenant_id), "db_tenant": setting, "x": request.body.get("x")}


async def refuse(request: RpcRequest) -> dict[str, Any]:
    raise RpcError("OUT_OF_STOCK", "not enough drills")


async def crash(request: RpcRequest) -> dict[str, Any]:
    raise RuntimeError("secret internals")


@strawberry.type
class Query:
    @strawberry.field
    async def asked(self, info: Info) -> str:
        reply = await info.context.call(DOMAIN, "echo", {"x": "from-graphql"})
        return f"{reply['tenant']}/{reply['x']}"


schema = strawberry.federation.Schema(query=Query)


@pytest.fixture
async def running(service_urls) -> AsyncIterator[tuple[str, NatsClient]]:  # type: ignore[no-untyped-def]
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=2)
    app = create_subgraph_app(
        schema,
        name=DOMAIN,
        settings=Settings(),
        database=db,
        rpc={"echo": echo, "refuse": refuse, "crash": crash},
    )
    nc = await nats.connect(service_urls.nats_url)
    try:
        async with serve_asgi(app) as base_url:
            await asyncio.wait_for(app.state.runtime.events_ready.wait(), timeout=20)
            yield base_url, nc
    finally:
        await nc.close()
        await db.dispose()


async def test_call_carries_tenant_into_the_callee_session(running: tuple[str, NatsClient]) -> None:
    _, nc = running
    reply = await rpc_call(nc, DOMAIN, "echo", {"x": 1}, headers=gateway_headers(TENANT))
    assert reply == {"tenant": str(TENANT), "db_tenant": str(TENANT), "x": 1}


async def test_failures_have_codes(running: tuple[str, NatsClient]) -> None:
    _, nc = running
    headers = gateway_headers(TENANT)
    with pytest.raises(RpcError) as refused:
        await rpc_call(nc, DOMAIN, "refuse", headers=headers)
    assert (refused.value.code, refused.value.message) == ("OUT_OF_STOCK", "not enough drills")
    with pytest.raises(RpcError) as crashed:
        await rpc_call(nc, DOMAIN, "crash", headers=headers)
    assert crashed.value.code == "INTERNAL_SERVER_ERROR" and "secret" not in crashed.value.message
    with pytest.raises(RpcError) as unknown:
        await rpc_call(nc, DOMAIN, "nope", headers=headers)
    assert unknown.value.code == "BAD_REQUEST"


async def test_unsigned_or_forged_requests_are_refused(running: tuple[str, NatsClient]) -> None:
    _, nc = running
    with pytest.raises(RpcError, match="UNAUTHENTICATED"):
        await rpc_call(nc, DOMAIN, "echo", headers={})
    with pytest.raises(RpcError) as forged:
        await rpc_call(nc, DOMAIN, "echo", headers=gateway_headers(TENANT, secret=b"forged"))
    assert forged.value.code == "UNAUTHENTICATED"
    raw = await nc.request(service_subject(DOMAIN), orjson.dumps({"op": "echo"}), timeout=2)
    assert orjson.loads(raw.data)["error"]["code"] == "UNAUTHENTICATED"
    no_tenant = await nc.request(
        service_subject(DOMAIN), orjson.dumps({"op": "echo"}), timeout=2, headers=gateway_headers(None)
    )
    assert orjson.loads(no_tenant.data)["error"]["code"] == "UNAUTHENTICATED"


async def test_nobody_answering_is_a_clear_error(running: tuple[str, NatsClient]) -> None:
    _, nc = running
    with pytest.raises(ServiceUnavailable, match="did not answer"):
        await rpc_call(nc, f"{DOMAIN}absent", "echo", headers=gateway_headers(TENANT), reply_within=0.5)


async def test_resolver_asks_another_domain_with_the_forwarded_context(
    running: tuple[str, NatsClient],
) -> None:
    base_url, _ = running
    status, body = await graphql(base_url, "{ asked }", headers=gateway_headers(TENANT))
    assert status == 200, body
    assert body["data"] == {"asked": f"{TENANT}/from-graphql"}
