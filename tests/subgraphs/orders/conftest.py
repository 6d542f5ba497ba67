"""Fixtures of the orders tests: the real stack of the buying flow on PostgreSQL and NATS.

`world` (module): the demo seed (orgs, catalog, pricing, orders), the pricing app with its
`svc.pricing` responder, the catalog app with its `svc.catalog` responder, and the orders app with
its relay and consumers, all in-process; plus a NATS client for publishing stock's events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from devstack.asgi import serve_asgi
from devstack.seed import seed_all
from shared.db import Database, app_database_url
from shared.events import EventEnvelope, ensure_stream
from shared.settings import Settings
from shared.testing import gateway_headers, graphql
from subgraphs.orgs import seed as orgs_seed

TENANT = orgs_seed.DEMO_TENANT_ID
BUYER_SCOPES = ("orders:read", "orders:place", "catalog:read", "pricing:read")


@dataclass
class World:
    url: str
    db: Database
    nc: NatsClient
    js: JetStreamContext

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        org: uuid.UUID | None,
        scopes: tuple[str, ...] = BUYER_SCOPES,
        roles: tuple[str, ...] = (),
        tenant: uuid.UUID = TENANT,
        user: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        headers = gateway_headers(
            tenant, organization_id=org, scopes=scopes, roles=roles, user_id=user or uuid.uuid4()
        )
        status, body = await graphql(self.url, query, variables, headers=headers)
        assert status == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def publish(
        self, domain: str, event: str, tenant: uuid.UUID, subject_id: object, data: dict[str, Any]
    ) -> EventEnvelope:
        envelope = EventEnvelope.new(domain, event, tenant_id=tenant, subject_id=str(subject_id), data=data)
        await ensure_stream(self.js, domain)
        await self.js.publish(
            envelope.subject, envelope.to_bytes(), headers={"Nats-Msg-Id": str(envelope.id)}
        )
        return envelope

    async def republish(self, envelope: EventEnvelope, *, new_msg_id: bool = True) -> None:
        """The same event again: a redelivery-like copy (new Nats-Msg-Id, same event id)."""
        msg_id = str(uuid.uuid4()) if new_msg_id else str(envelope.id)
        await self.js.publish(envelope.subject, envelope.to_bytes(), headers={"Nats-Msg-Id": msg_id})


@pytest.fixture(scope="module")
async def world(service_urls: Any) -> AsyncIterator[World]:
    from subgraphs.catalog.app import create_app as create_catalog_app
    from subgraphs.orders.app import create_app as create_orders_app
    from subgraphs.pricing.app import create_app as create_pricing_app

    await seed_all(service_urls.database_url, ["orgs", "catalog", "pricing", "orders"])
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=6)
    pricing = create_pricing_app(Settings(), database=db)
    catalog = create_catalog_app(Settings(), database=db)
    orders = create_orders_app(Settings(), database=db)
    nc = await nats.connect(service_urls.nats_url)
    try:
        async with serve_asgi(pricing), serve_asgi(catalog), serve_asgi(orders) as url:
            await asyncio.wait_for(pricing.state.pricing_responder.ready.wait(), timeout=20)
            await asyncio.wait_for(catalog.state.runtime.events_ready.wait(), timeout=20)
            await asyncio.wait_for(orders.state.runtime.events_ready.wait(), timeout=20)
            yield World(url, db, nc, nc.jetstream())
    finally:
        await nc.close()
        await db.dispose()


async def wait_for(check: Any, *, within: float = 15.0) -> Any:
    """Poll `await check()` until it returns something truthy (loose bound: busy CI machine)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)
