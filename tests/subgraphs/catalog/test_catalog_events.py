"""Catalog events on the real NATS JetStream: product changes leave through the outbox relay, and
the orgs projection learns new organizations from `orgs.organization_created`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import nats
import pytest

from devstack.asgi import serve_asgi
from devstack.seed import seed_all
from shared.db import Database, app_database_url, libpq_url
from shared.events import EventEnvelope, ensure_stream
from shared.settings import Settings
from shared.testing import gateway_headers, graphql
from subgraphs.catalog import demo_ids
from subgraphs.catalog.app import create_app
from subgraphs.orgs import seed as orgs_seed

TENANT = orgs_seed.DEMO_TENANT_ID
ADMIN: dict[str, Any] = {
    "organization_id": orgs_seed.PLATFORM_ID,
    "scopes": ["catalog:admin", "catalog:write"],
}


async def _eventually(probe: Any) -> Any:
    """Poll `probe` until it returns something truthy (15 s at most)."""
    async with asyncio.timeout(15):
        while True:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def running(service_urls: Any) -> AsyncIterator[tuple[str, Any]]:
    await seed_all(service_urls.database_url, ["orgs", "catalog"])
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=3)
    app = create_app(Settings(outbox_relay_enabled=True, outbox_poll_interval=0.05), database=db)
    try:
        async with serve_asgi(app) as url:
            await asyncio.wait_for(app.state.runtime.events_ready.wait(), 30)
            yield url, service_urls
    finally:
        await db.dispose()


async def test_product_created_is_published_to_jetstream(running: tuple[str, Any]) -> None:
    url, urls = running
    create = """mutation($input: ProductCreateInput!) {
      productCreate(input: $input) { product { id } userErrors { code } } }"""
    product = {
        "name": "Event test grinder",
        "categoryId": str(demo_ids.category_id("angle-grinders")),
        "vendorId": str(orgs_seed.SUPPLIER_ID),
        "attributes": [
            {"name": "power_source", "value": "Corded"},
            {"name": "voltage", "value": "230"},
            {"name": "disc_diameter_mm", "value": "125"},
        ],
        "skus": [{"code": "EVT-AG-125", "attributes": [{"name": "kit", "value": "Case"}]}],
    }
    _, body = await graphql(url, create, {"input": product}, headers=gateway_headers(TENANT, **ADMIN))
    pid = body["data"]["productCreate"]["product"]["id"]

    async def published() -> bool:
        conn = await asyncpg.connect(libpq_url(urls.database_url))
        try:
            row = await conn.fetchrow(
                "SELECT published_at FROM catalog.outbox WHERE envelope->>'subject_id' = $1", pid
            )
        finally:
            await conn.close()
        return row is not None and row["published_at"] is not None

    await _eventually(published)
    nc = await nats.connect(urls.nats_url)
    try:
        msg = await nc.jetstream().get_last_msg("CATALOG", f"catalog.{TENANT}.product_created")
    finally:
        await nc.close()
    assert msg.data is not None
    event = EventEnvelope.from_bytes(msg.data)
    assert event.type == "catalog.product_created" and event.subject_id == pid
    assert event.data["skus"][0]["code"] == "EVT-AG-125"


async def test_new_buyer_unit_learned_from_orgs_events(running: tuple[str, Any]) -> None:
    url, urls = running
    unit = uuid.uuid4()
    event = EventEnvelope.new(
        "orgs",
        "organization_created",
        tenant_id=TENANT,
        subject_id=unit,
        data={"id": str(unit), "kind": "BUYER", "parent_id": str(orgs_seed.BUYER_ID), "name": "Plant 7"},
    )
    nc = await nats.connect(urls.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "orgs")
        await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()
    steel = str(demo_ids.product_id("STL-BAR-RO-S235JR-B"))
    query = "query($id: ID!) { product(id: $id) { id } }"

    async def sees_steel() -> bool:
        # Until the event is applied the unit is an unknown buyer (standard catalog only, no steel);
        # once applied it inherits its parent's steel contract.
        _, body = await graphql(
            url,
            query,
            {"id": steel},
            headers=gateway_headers(TENANT, organization_id=unit, scopes=["catalog:read"]),
        )
        return body["data"]["product"] is not None

    await _eventually(sees_steel)
