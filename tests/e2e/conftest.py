"""The real stack, in-process, for end-to-end tests through the gateway (docs/e2e.md).

One stack per test session (package scope), built the way `make up` builds it:

- a database of its own on the session's PostgreSQL (`service_urls.admin_url`), migrated with
  `devstack.migrate.upgrade_all_async` and loaded with `devstack.seed.seed_all`, dropped at the end: what
  these tests create (a second tenant's catalog, users, keys) never meets other tests' counts;
- every present subgraph (`devstack.launcher.present_subgraphs`) built by its own
  `subgraphs.<name>.app.create_app()` and served by uvicorn on a free loopback port, all sharing one
  random `B2B_GATEWAY_SECRET`; each app is wrapped in a `RequestLog` that records the GraphQL
  requests it receives, so a test can assert that a subgraph was (not) asked;
- the supergraph composed from the running subgraphs' `{ _service { sdl } }`
  (`devstack.launcher.fetch_sdl` + `gateway.supergraph.compose.compose_supergraph`);
- the gateway app (`gateway.http.app.create_app`) with JWT verification against the orgs subgraph's
  JWKS and API keys looked up over HTTP at the orgs subgraph, as `make up` configures it.

One deviation, for the tests of bad tokens only: the gateway reads its key set from a small JWKS
server that republishes the orgs subgraph's keys (fetched live on every request) plus one test key,
so a test can mint an *expired* token that is otherwise well signed (orgs' own tokens live 15 min).
Every other token in these tests comes from the orgs `login` mutation through the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.asgi import serve_asgi
from devstack.launcher import fetch_sdl, present_subgraphs
from devstack.services import ServiceUrls
from tests.gateway.auth.keys import SigningKey, rsa_key
from tests.scratch import environment, scratch_database

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEMO_TENANT_SLUG = "acme-mro"
OTHER_TENANT_SLUG = "globex"


class RequestLog:
    """ASGI middleware around a subgraph app: remembers the body of every `/graphql` request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/graphql":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    raw = b"".join(chunks)
                    try:
                        self.bodies.append(orjson.loads(raw) if raw else {})
                    except orjson.JSONDecodeError:
                        self.bodies.append({"raw": raw.decode(errors="replace")})
            return message

        await self.app(scope, recording_receive, send)

    def reset(self) -> None:
        self.bodies.clear()

    def queries(self) -> list[str]:
        return [str(b.get("query", "")) for b in self.bodies]


@dataclass
class MergedJWKS:
    """Serves the orgs subgraph's JWKS plus test keys (see the module docstring)."""

    orgs_jwks_url: str
    extra: list[SigningKey] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/.well-known/jwks.json", self._jwks)])

    async def _jwks(self, request: Request) -> JSONResponse:
        async with aiohttp.ClientSession() as client, client.get(self.orgs_jwks_url) as response:
            keys = list((await response.json(content_type=None)).get("keys", []))
        return JSONResponse({"keys": keys + [k.jwk() for k in self.extra]})


@dataclass
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    def codes(self) -> list[str | None]:
        return [(e.get("extensions") or {}).get("code") for e in self.errors]


@dataclass
class Stack:
    gateway_url: str  # http://127.0.0.1:PORT/graphql
    subgraph_urls: dict[str, str]  # name -> http://127.0.0.1:PORT/graphql
    logs: dict[str, RequestLog]
    secret: str
    test_key: SigningKey  # published in the gateway's key set
    issuer: str
    audience: str
    http: aiohttp.ClientSession
    _tokens: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    async def post(
        self,
        url: str,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        all_headers = {"content-type": "application/json", "accept": "application/json", **(headers or {})}
        async with self.http.post(url, data=orjson.dumps(payload), headers=all_headers) as response:
            raw = await response.read()
            try:
                body = orjson.loads(raw) if raw else {}
            except orjson.JSONDecodeError:
                body = {"raw": raw.decode(errors="replace")}
            return Reply(response.status, body if isinstance(body, dict) else {"value": body})

    async def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """A request to the gateway, with `Authorization: Bearer <token>` when given."""
        extra = dict(headers or {})
        if token is not None:
            extra["authorization"] = f"Bearer {token}"
        return await self.post(self.gateway_url, query, variables, extra)

    async def login(
        self,
        email: str,
        tenant: str = DEMO_TENANT_SLUG,
        organization_id: uuid.UUID | None = None,
        *,
        password: str | None = None,
        cached: bool = True,
    ) -> str:
        """A JWT from the orgs `login` mutation, through the gateway (cached per user and organization)."""
        from subgraphs.orgs.seed import DEMO_PASSWORD

        org = str(organization_id) if organization_id is not None else None
        cache_key = (email, tenant, org)
        if cached and password is None and cache_key in self._tokens:
            return self._tokens[cache_key]
        reply = await self.query(
            """mutation Login($input: LoginInput!) {
                 login(input: $input) { token scopes userErrors { field message code } }
               }""",
            {
                "input": {
                    "email": email,
                    "password": password or DEMO_PASSWORD,
                    "tenant": tenant,
                    "organizationId": org,
                }
            },
        )
        assert reply.status == 200 and not reply.errors, reply.body
        payload = reply.data["login"]
        assert payload["userErrors"] == [] and payload["token"], payload
        token = str(payload["token"])
        if cached and password is None:
            self._tokens[cache_key] = token
        return token

    def mint(
        self,
        *,
        tenant_id: uuid.UUID | str,
        organization_id: uuid.UUID | str,
        user_id: uuid.UUID | str,
        scopes: list[str],
        roles: list[str] | None = None,
        ttl: float = 300,
        key: SigningKey | None = None,
    ) -> str:
        """A token signed with the test key (or `key`): for expiry and signature tests only."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "tid": str(tenant_id),
            "tenant_id": str(tenant_id),
            "org_id": str(organization_id),
            "roles": roles or [],
            "scope": " ".join(scopes),
            "iat": now - 600 if ttl < 0 else now,
            "exp": int(now + ttl),
        }
        return (key or self.test_key).sign(claims)

    def reset_logs(self) -> None:
        for log in self.logs.values():
            log.reset()


def _subgraph_app(name: str) -> Any:
    import importlib

    module = importlib.import_module(f"subgraphs.{name}.app")
    return module.create_app()


@contextlib.asynccontextmanager
async def _serve_stack(service_urls: ServiceUrls, secret: str) -> AsyncIterator[Stack]:
    """Subgraphs, key set and gateway on free loopback ports (the environment is already set)."""
    from gateway.config import GatewayConfig
    from gateway.engine import Gateway
    from gateway.http.app import create_app
    from gateway.subscriptions.routes import subscription_routes
    from gateway.supergraph.compose import SubgraphSource, compose_supergraph
    from subgraphs.orgs.config import get_orgs_settings

    orgs_settings = get_orgs_settings()
    async with contextlib.AsyncExitStack() as stack:
        logs: dict[str, RequestLog] = {}
        urls: dict[str, str] = {}
        for name, _port in present_subgraphs():
            logs[name] = RequestLog(_subgraph_app(name))
            base = await stack.enter_async_context(serve_asgi(logs[name]))
            urls[name] = f"{base}/graphql"
        assert "orgs" in urls, "the e2e stack needs the orgs subgraph"
        orgs_base = urls["orgs"].removesuffix("/graphql")

        sources = [
            SubgraphSource(name=name, url=url, sdl=await asyncio.to_thread(fetch_sdl, url, secret))
            for name, url in urls.items()
        ]
        supergraph = compose_supergraph(sources)

        test_key = rsa_key(f"e2e-test-{secrets.token_hex(4)}")
        jwks = MergedJWKS(f"{orgs_base}/.well-known/jwks.json", [test_key])
        jwks_base = await stack.enter_async_context(serve_asgi(jwks.app))

        config = GatewayConfig(
            jwks_url=f"{jwks_base}/.well-known/jwks.json",
            jwt_issuer=orgs_settings.jwt_issuer,
            jwt_audience=orgs_settings.jwt_audience,
            jwks_min_refresh_interval=0.5,
            api_key_source="http",
            api_key_url=f"{orgs_base}/internal/api-keys",
            redis_url=service_urls.redis_url,
            graphiql=False,
            subgraph_timeout=20.0,
            trusted_proxies=["127.0.0.1/32"],  # the tests play the load balancer (test_e2e_identity.py)
        )
        gateway = Gateway.from_supergraph_sdl(supergraph, subgraph_timeout=config.subgraph_timeout)
        # With the subscription routes, as `python -m gateway` mounts them (partner ERP tests).
        app = create_app(gateway, config, extra_routes=subscription_routes(gateway, config))
        gateway_base = await stack.enter_async_context(serve_asgi(app))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield Stack(
            gateway_url=f"{gateway_base}/graphql",
            subgraph_urls=urls,
            logs=logs,
            secret=secret,
            test_key=test_key,
            issuer=orgs_settings.jwt_issuer,
            audience=orgs_settings.jwt_audience,
            http=http,
        )


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def stack(service_urls: ServiceUrls) -> AsyncIterator[Stack]:
    from devstack.migrate import upgrade_all_async
    from devstack.seed import seed_all

    async with scratch_database(service_urls.admin_url, "e2e") as db_name:
        url = make_url(service_urls.database_url).set(database=db_name).render_as_string(hide_password=False)
        await upgrade_all_async(url)
        await seed_all(url)
        secret = secrets.token_urlsafe(32)
        # Finance's sweeper every second, so delayed settlements are booked by the process's own
        # background sweep (test_e2e_settlement.py) and not only by a sweep a test runs itself.
        from subgraphs.finance.config import get_finance_settings

        with environment(B2B_GATEWAY_SECRET=secret, DATABASE_URL=url, B2B_FINANCE_SWEEP_INTERVAL="1"):
            get_finance_settings.cache_clear()
            try:
                async with _serve_stack(service_urls, secret) as built:
                    yield built
            finally:
                get_finance_settings.cache_clear()


@pytest.fixture
def e2e(stack: Stack) -> Stack:
    stack.reset_logs()
    return stack
