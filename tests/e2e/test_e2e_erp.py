"""Issue 13: a partner ERP follows its orders live through the gateway with an API key and a real
GraphQL client (gql over graphql-transport-ws, the reference client of examples/erp_client.py):
three placements arrive as three events with federated fields filled (SKU names from catalog,
availability from stock), and after a disconnect it resumes from its persisted cursor and receives
exactly the two orders placed meanwhile, in order."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest

from devstack.services import ServiceUrls
from examples.erp_client import CursorFile, follow
from subgraphs.orgs import seed as orgs
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.slow

WAIT = 60.0
SEARCH = """query($q: String!) { searchProducts(query: $q, first: 5) { edges { node {
  skus { id code price(quantity: 1) { unitPrice { amount } userErrors { code } } } } } } }"""
PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  orders { id number } userErrors { field code message } } }"""
EVENTS = """subscription($types: [OrderEventType!]) { orderEvents(types: $types) {
  id type orderId
  order { id number buyer { id } lines { quantity sku { id code name availability { status } } } } } }"""


async def _api_key(e2e: Stack) -> str:
    admin = await e2e.login("admin@acme-mro.example")
    created = await e2e.query(
        """mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) {
             key userErrors { field code message } } }""",
        {
            "input": {
                "organizationId": str(orgs.BUYER_ID),
                "name": f"Northwind ERP {uuid.uuid4().hex[:6]}",
                "scopes": ["orders:read", "catalog:read"],
            }
        },
        token=admin,
    )
    assert created.status == 200 and created.data["apiKeyCreate"]["userErrors"] == [], created.body
    return str(created.data["apiKeyCreate"]["key"])


async def _priced_sku(e2e: Stack, token: str) -> tuple[str, str]:
    reply = await e2e.query(SEARCH, {"q": "cordless drill"}, token=token)
    assert reply.status == 200 and not reply.errors, reply.body
    skus = [
        s
        for p in reply.data["searchProducts"]["edges"]
        for s in p["node"]["skus"]
        if s["price"] and not s["price"]["userErrors"]
    ]
    assert skus, reply.body
    return str(skus[0]["id"]), str(skus[0]["code"])


async def _place(e2e: Stack, token: str, sku: str) -> str:
    reply = await e2e.query(
        PLACE,
        {"i": {"idempotencyKey": f"erp-{uuid.uuid4()}", "lines": [{"skuId": sku, "quantity": 1}]}},
        token=token,
    )
    assert reply.status == 200 and not reply.errors, reply.body
    payload = reply.data["placeOrder"]
    assert payload["userErrors"] == [], payload
    (order,) = payload["orders"]
    return str(order["id"])


class Collector:
    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], str | None]] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: dict[str, Any], cursor: str | None) -> None:
        self.events.append((event, cursor))
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()


async def _consumers(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        return int((await nc.jetstream().stream_info("ORDERS")).state.consumer_count)
    finally:
        await nc.close()


async def _subscribed(task: asyncio.Task[int], nats_url: str, before: int) -> None:
    """Wait until the subscription's ordered consumer exists on ORDERS (client -> gateway -> orders
    subgraph -> JetStream), so what is placed next is live for it."""
    async with asyncio.timeout(WAIT):
        while await _consumers(nats_url) <= before:
            if task.done():
                await task  # it ended early: raise its error
                raise AssertionError("the subscription ended before it started")
            await asyncio.sleep(0.2)


async def test_erp_follows_orders_and_resumes_from_its_cursor(
    e2e: Stack, service_urls: ServiceUrls, tmp_path: Path
) -> None:
    key = await _api_key(e2e)
    before = await _consumers(service_urls.nats_url)
    buyer = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_ID)
    sku, code = await _priced_sku(e2e, buyer)
    url = e2e.gateway_url.replace("http://", "ws://")
    cursors = CursorFile(tmp_path / "cursor")
    variables = {"types": ["PLACED"]}

    first = Collector()
    task = asyncio.create_task(follow(url, key, cursors, first, query=EVENTS, variables=variables, limit=3))
    try:
        await _subscribed(task, service_urls.nats_url, before)
        placed = [await _place(e2e, buyer, sku) for _ in range(3)]
        await first.wait_for(3)
        assert await asyncio.wait_for(task, WAIT) == 3
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    assert [event["orderId"] for event, _ in first.events] == placed
    for event, cursor in first.events:
        assert event["type"] == "PLACED" and cursor is not None
        order = event["order"]
        assert order["id"] == event["orderId"] and order["buyer"]["id"] == str(orgs.BUYER_ID)
        (line,) = order["lines"]
        # Federated: the SKU's name from catalog, its availability from stock, through the planner.
        assert line["sku"]["id"] == sku and line["sku"]["code"] == code
        assert line["sku"]["name"], line
        assert line["sku"]["availability"]["status"], line
    cursors_seen = [int(c) for _, c in first.events if c is not None]
    assert cursors_seen == sorted(cursors_seen) and cursors.load() == str(cursors_seen[-1])

    # Disconnected: two more orders; the ERP comes back with its cursor file and gets exactly those.
    later = [await _place(e2e, buyer, sku) for _ in range(2)]
    second = Collector()
    task = asyncio.create_task(follow(url, key, cursors, second, query=EVENTS, variables=variables, limit=2))
    try:
        await second.wait_for(2)
        assert await asyncio.wait_for(task, WAIT) == 2
        await asyncio.sleep(1.0)  # nothing else is pending for this subscription
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    assert [event["orderId"] for event, _ in second.events] == later
    assert all(event["order"]["lines"][0]["sku"]["name"] for event, _ in second.events)
    resumed = [int(c) for _, c in second.events if c is not None]
    assert resumed[0] > cursors_seen[-1] and resumed == sorted(resumed)
