"""The subgraph app factory: gateway context required, SDL open, error codes, health, GET rules."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import strawberry
from aiodataloader import DataLoader
from sqlalchemy import text

from devstack.asgi import serve_asgi
from shared.app_factory import create_subgraph_app
from shared.context import RequestContext
from shared.db import Database, app_database_url
from shared.errors import BadUserInputError, ForbiddenError, NotFoundError
from shared.gateway_context import HEADER
from shared.graphql import Info
from shared.settings import Settings
from shared.testing import gateway_headers, graphql

TENANT = uuid.uuid4()
CALLS: list[list[int]] = []


def double_loader(ctx: RequestContext) -> DataLoader[int, int]:
    async def load(keys: list[int]) -> list[int]:
        CALLS.append(list(keys))
        return [k * 2 for k in keys]

    return DataLoader(load)


@strawberry.type
class Query:
    @strawberry.field
    def tenant(self, info: Info) -> str | None:
        return str(info.context.tenant_id) if info.context.tenant_id else None

    @strawberry.field
    def scopes(self, info: Info) -> list[str]:
        return list(info.context.require_principal().scopes)

    @strawberry.field
    async def current_setting(self, info: Info) -> str | None:
        async with info.context.session() as s:
            value = (await s.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
        return str(value) if value is not None else None

    @strawberry.field
    async def doubled(self, info: Info, n: int) -> int:
        result: int = await info.context.loaders.get(double_loader).load(n)
        return result

    @strawberry.field
    def not_found(self) -> str:
        raise NotFoundError("no such thing", extensions={"id": "x1"})

    @strawberry.field
    def bad_input(self) -> str:
        raise BadUserInputError("first must be positive")

    @strawberry.field
    def forbidden(self) -> str:
        raise ForbiddenError("missing scope catalog:write")

    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("password=hunter2 at /secret/path.py line 3")

    @strawberry.field
    def fine(self) -> str:
        return "fine"

    @strawberry.field
    def forwardable(self, info: Info) -> bool:
        return HEADER in info.context.gateway_headers


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> bool:
        return True


schema = strawberry.federation.Schema(query=Query, mutation=Mutation)


@pytest.fixture
async def app_db(service_urls) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=2)
    yield db
    await db.dispose()


@pytest.fixture
async def base_url(app_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    settings = Settings()
    app = create_subgraph_app(schema, name="factorytest", settings=settings, database=app_db, events=False)
    return await serve_app(app)


async def test_healthz(base_url: str) -> None:
    async with aiohttp.ClientSession() as client, client.get(f"{base_url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "subgraph": "factorytest", "database": "ok"}


async def test_no_context_is_401(base_url: str) -> None:
    status, body = await graphql(base_url, "{ fine }")
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body


async def test_forged_or_expired_context_is_401(base_url: str) -> None:
    forged = gateway_headers(TENANT, secret=b"not-the-gateway")
    status, body = await graphql(base_url, "{ fine }", headers=forged)
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    expired = gateway_headers(TENANT, ttl=-60)
    status, body = await graphql(base_url, "{ fine }", headers=expired)
    assert status == 401 and "expired" in body["errors"][0]["message"]
    status, _ = await graphql(base_url, "{ fine }", headers={HEADER: "v1.garbage.garbage"})
    assert status == 401


async def test_sdl_is_open_without_context(base_url: str) -> None:
    status, body = await graphql(base_url, "{ _service { sdl } }")
    assert status == 200
    assert "type Query" in body["data"]["_service"]["sdl"]
    # ...but only the SDL: anything else alongside it needs a context.
    status, _ = await graphql(base_url, "{ _service { sdl } fine }")
    assert status == 401
    status, _ = await graphql(base_url, "query A { _service { sdl } } query B { fine }")
    assert status == 401


async def test_context_gives_principal_tenant_and_tenant_session(base_url: str) -> None:
    headers = gateway_headers(TENANT, scopes=["orders:write"])
    status, body = await graphql(base_url, "{ tenant scopes currentSetting forwardable }", headers=headers)
    assert status == 200, body
    assert body["data"] == {
        "tenant": str(TENANT),
        "scopes": ["orders:write"],
        "currentSetting": str(TENANT),
        "forwardable": True,
    }


async def test_dataloader_batches_within_a_request(base_url: str) -> None:
    CALLS.clear()
    headers = gateway_headers(TENANT)
    status, body = await graphql(
        base_url, "{ a: doubled(n: 1) b: doubled(n: 2) c: doubled(n: 1) }", headers=headers
    )
    assert status == 200 and body["data"] == {"a": 2, "b": 4, "c": 2}
    assert CALLS == [[1, 2]]  # one batch, deduplicated
    await graphql(base_url, "{ doubled(n: 1) }", headers=headers)
    assert CALLS == [[1, 2], [1]]  # a new request gets a new loader (no cross-request cache)


async def test_error_codes(base_url: str) -> None:
    headers = gateway_headers(TENANT)
    status, body = await graphql(base_url, "{ notFound }", headers=headers)
    assert status == 200
    error = body["errors"][0]
    assert error["extensions"] == {"code": "NOT_FOUND", "id": "x1"}
    assert error["path"] == ["notFound"] and error["message"] == "no such thing"
    _, body = await graphql(base_url, "{ badInput }", headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    _, body = await graphql(base_url, "{ forbidden }", headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, body = await graphql(base_url, "{ scopes }", headers=gateway_headers(None))
    assert body == {"data": {"scopes": []}}  # a principal without tenant (anonymous gateway call)
    _, body = await graphql(base_url, "{ currentSetting }", headers=gateway_headers(None))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # no tenant, no session


async def test_unexpected_exception_leaks_nothing(base_url: str) -> None:
    status, body = await graphql(base_url, "{ boom fine }", headers=gateway_headers(TENANT))
    assert status == 200
    assert body["data"] is None or body["data"].get("fine") in (None, "fine")
    error = body["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in str(body) and "Traceback" not in str(body)


async def test_request_errors(base_url: str) -> None:
    headers = gateway_headers(TENANT)
    _, body = await graphql(base_url, "{ fine", headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    _, body = await graphql(base_url, "{ nope }", headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    _, body = await graphql(base_url, "query($n: Int!) { doubled(n: $n) }", {"n": "x"}, headers=headers)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_get_allows_queries_only(base_url: str) -> None:
    headers = gateway_headers(TENANT)
    async with aiohttp.ClientSession(headers=headers) as client:
        async with client.get(f"{base_url}/graphql", params={"query": "{ fine }"}) as response:
            assert response.status == 200
            assert (await response.json())["data"] == {"fine": "fine"}
        async with client.get(f"{base_url}/graphql", params={"query": "mutation { touch }"}) as response:
            assert response.status == 405
        async with client.post(f"{base_url}/graphql", json={"query": "mutation { touch }"}) as response:
            assert response.status == 200
            assert (await response.json())["data"] == {"touch": True}


async def test_graphql_response_media_type(base_url: str) -> None:
    headers = {**gateway_headers(TENANT), "accept": "application/graphql-response+json"}
    async with aiohttp.ClientSession(headers=headers) as client:
        async with client.post(f"{base_url}/graphql", json={"query": "{ fine }"}) as response:
            assert response.status == 200
            assert response.headers["content-type"].startswith("application/graphql-response+json")
        async with client.post(f"{base_url}/graphql", json={"query": "{ nope }"}) as response:
            assert response.status == 400


async def test_debug_mode_without_gateway_context(app_db: Database, serve_app) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(require_gateway_context=False)
    url = await serve_app(
        create_subgraph_app(schema, name="dbg", settings=settings, database=app_db, events=False)
    )
    status, body = await graphql(url, "{ tenant }", headers={"x-tenant-id": str(TENANT)})
    assert status == 200 and body["data"] == {"tenant": str(TENANT)}


async def test_lifespan_runs_event_consumers(app_db: Database, service_urls) -> None:  # type: ignore[no-untyped-def]
    import secrets

    import asyncpg
    import nats
    from sqlalchemy.engine import make_url

    from shared.events import EventEnvelope, IdempotentConsumer, ensure_stream

    domain = f"lifespan{secrets.token_hex(3)}"
    seen: list[uuid.UUID] = []
    handled = asyncio.Event()

    class Recorder(IdempotentConsumer):
        name = f"recorder-{domain}"
        schema = "orgs"  # any migrated schema with a processed_events table
        filter_subject = f"{domain}.>"

        async def handle(self, session: Any, event: EventEnvelope) -> None:
            seen.append(event.id)
            handled.set()

    Recorder.domain = domain
    nc = await nats.connect(service_urls.nats_url)
    js = nc.jetstream()
    stream = await ensure_stream(js, domain)
    event = EventEnvelope.new(domain, "happened", tenant_id=TENANT, subject_id="s1")
    try:
        await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
        async with contextlib.AsyncExitStack() as app_running:
            # The app (and its consumer) stops at the end of this block, before the stream is deleted.
            app = create_subgraph_app(
                schema,
                name="consumertest",
                settings=Settings(),
                database=app_db,
                consumers=[Recorder],
                events=True,
            )
            await app_running.enter_async_context(serve_asgi(app))
            await asyncio.wait_for(handled.wait(), timeout=30)
    finally:
        await js.delete_stream(stream)
        await nc.close()
    assert seen == [event.id]
    conn = await asyncpg.connect(
        make_url(service_urls.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        rows = await conn.fetch("SELECT consumer FROM orgs.processed_events WHERE event_id = $1", event.id)
    finally:
        await conn.close()
    assert [r["consumer"] for r in rows] == [Recorder.name]
