"""Fixtures of the webhook tests, all real and on loopback: PostgreSQL (the orgs tables), the orgs
subgraph (the registry API), two feed subgraphs with a subscription, the gateway's planner/executor
and subscription runner, the dispatcher with short retries, and receivers that verify signatures
with examples/webhook_verify.py."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from devstack.asgi import serve_asgi
from examples.webhook_verify import InvalidWebhook, verify
from gateway.auth.layer import GatewayAuth
from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.subscriptions.routes import operation_runner
from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from gateway.webhooks.config import WebhookSettings
from gateway.webhooks.dispatcher import WebhookDispatcher
from gateway.webhooks.store import WebhookStore
from shared.db import Database, app_database_url
from shared.settings import Settings
from shared.testing import gateway_headers, graphql
from subgraphs.orgs.config import get_orgs_settings
from subgraphs.orgs.models import Organization, Tenant
from tests.gateway.webhooks import feed as feeds

FAST = WebhookSettings(
    retry_base=0.05,
    retry_max_delay=0.4,
    retry_window=3600,
    request_timeout=3,
    poll_interval=0.05,
    lease_seconds=3,
    resubscribe_delay=0.1,
    refused_retry_delay=0.5,
    allow_loopback=True,
)
SUBSCRIPTION = """
subscription Hooks {
  orderEvents { type order { id number tenantId balance } }
}"""
CREATE = """
mutation($input: WebhookEndpointCreateInput!) {
  webhookEndpointCreate(input: $input) {
    endpoint { id url eventTypes scopes } secret userErrors { field code message }
  }
}"""


@dataclass
class Receiver:
    """A loopback webhook receiver: fails with 500 while `failing`, verifies every request,
    handles each Webhook-Id once."""

    secret: str = ""
    failing: bool = False
    url: str = ""
    requests: list[tuple[dict[str, str], bytes, float]] = field(default_factory=list)
    handled: dict[str, dict[str, Any]] = field(default_factory=dict)  # Webhook-Id -> event
    order: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers.items())
        self.requests.append((headers, body, time.time()))
        if self.failing:
            return Response(status_code=500)
        try:
            event = verify(self.secret, headers, body)
        except InvalidWebhook as exc:
            self.rejected.append(str(exc))
            return Response(str(exc), status_code=400)
        delivery = headers["webhook-id"]
        if delivery not in self.handled:  # idempotent: a duplicate is acknowledged, not handled again
            self.handled[delivery] = event
            self.order.append(delivery)
        return Response(status_code=204)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [self.handled[d] for d in self.order]


@dataclass
class Org:
    tenant: uuid.UUID
    organization: uuid.UUID

    def headers(self, scopes: tuple[str, ...] = ("orgs:admin", "orders:read")) -> dict[str, str]:
        return gateway_headers(
            self.tenant, organization_id=self.organization, scopes=scopes, user_id=uuid.uuid4()
        )


@dataclass
class Stack:
    db: Database
    orgs_url: str
    feed: feeds.Feed
    store: WebhookStore
    make_dispatcher: Callable[..., WebhookDispatcher]
    serve_receiver: Callable[[Receiver], contextlib.AbstractAsyncContextManager[str]]
    sdl: str = ""
    database_url: str = ""

    async def gql(
        self, org: Org, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        status, body = await graphql(self.orgs_url, query, variables, headers=org.headers(**kw))
        assert status == 200 and "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def org(self) -> Org:
        tenant, organization = uuid.uuid4(), uuid.uuid4()
        async with self.db.tenant_session(tenant) as s:
            s.add(Tenant(id=tenant, slug=f"t-{tenant.hex[:12]}", name="Webhook tenant"))
            await s.flush()
            s.add(Organization(id=organization, tenant_id=tenant, kind="SUPPLIER", name="ERP Co"))
        return Org(tenant, organization)

    async def endpoint(self, org: Org, receiver: Receiver, **extra: Any) -> str:
        data = await self.gql(
            org,
            CREATE,
            {
                "input": {
                    "url": receiver.url,
                    "subscription": SUBSCRIPTION,
                    "scopes": ["orders:read"],
                    **extra,
                }
            },
        )
        payload = data["webhookEndpointCreate"]
        assert payload["userErrors"] == [], payload["userErrors"]
        receiver.secret = payload["secret"]
        return str(payload["endpoint"]["id"])


@pytest.fixture
async def stack(
    service_urls: Any, serve_app: Callable[[Any], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    from subgraphs.orgs.app import create_app as create_orgs_app

    monkeypatch.setenv("B2B_ORGS_WEBHOOK_ALLOW_LOOPBACK", "true")
    get_orgs_settings.cache_clear()
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=6)
    feed = feeds.Feed()
    dispatchers: list[WebhookDispatcher] = []
    try:
        orgs_url = await serve_app(
            create_orgs_app(Settings(outbox_relay_enabled=False), database=db)  # type: ignore[call-arg]
        )
        async with (
            serve_asgi(feeds.make_events(feed)) as events_url,
            serve_asgi(feeds.make_ledger(feed)) as ledger_url,
        ):
            sdl = compose_supergraph(
                [
                    SubgraphSource("events", f"{events_url}/graphql", feeds.EVENTS_SCHEMA.as_str()),
                    SubgraphSource("ledger", f"{ledger_url}/graphql", feeds.LEDGER_SCHEMA.as_str()),
                ]
            )
            config = GatewayConfig(graphiql=False)
            store = WebhookStore(db)
            async with store.transaction() as session:  # earlier tests' endpoints: not this test's business
                await session.execute(text("UPDATE orgs.webhook_endpoints SET enabled = false"))

            def make_dispatcher(settings: WebhookSettings = FAST) -> WebhookDispatcher:
                gateway = Gateway.from_supergraph_sdl(sdl, subgraph_timeout=5.0)
                gateway.auth = GatewayAuth.from_config(gateway.api_schema, gateway.supergraph_schema, config)
                dispatcher = WebhookDispatcher(operation_runner(gateway, config), store, settings)
                dispatchers.append(dispatcher)
                return dispatcher

            @contextlib.asynccontextmanager
            async def serve_receiver(receiver: Receiver) -> AsyncIterator[str]:
                app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
                async with serve_asgi(app) as url:
                    receiver.url = f"{url}/hook"
                    yield receiver.url

            yield Stack(
                db,
                orgs_url,
                feed,
                store,
                make_dispatcher,
                serve_receiver,
                sdl,
                str(service_urls.database_url),
            )
            for dispatcher in dispatchers:
                await dispatcher.stop()
                await dispatcher.runner.gateway.close()
    finally:
        get_orgs_settings.cache_clear()
        await db.dispose()
