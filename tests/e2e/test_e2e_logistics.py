"""Logistics through the real stack: the saga's events on JetStream (published here as orders and
stock would) -> routed into two parcels -> labelled and dispatched through the gateway with the
supplier's token -> signed carrier tracking -> delivered (carrier, then the buyer); Globex sees none
of it. (The order's and the invoice's states following need the orders and finance subgraphs.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import nats
import orjson

from shared.events import EventEnvelope, ensure_stream
from subgraphs.logistics import seed as logistics_seed
from subgraphs.logistics import webhooks
from subgraphs.orgs import seed as orgs
from tests.e2e.conftest import OTHER_TENANT_SLUG, Stack

SHIPMENTS = """query($o: ID!) { shipments(orderId: $o) { totalCount edges { node {
  id tenantId status locationId trackingNumber carrier { code } lines { lineId quantity } } } } }"""
ACT = """mutation($id: ID!) { %s(input: {shipmentId: $id}) {
  shipment { id status trackingNumber } userErrors { field code message } } }"""


def _ok(reply: Any, *path: str) -> Any:
    assert reply.status == 200 and not reply.errors, reply.body
    value = reply.data
    for key in path:
        value = value[key]
    return value


async def _publish(js: Any, event: EventEnvelope) -> None:
    await ensure_stream(js, event.domain)
    await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})


async def test_order_ships_in_two_parcels_and_is_delivered(e2e: Stack, service_urls: Any) -> None:
    tenant = orgs.DEMO_TENANT_ID
    order_id, reservation = uuid.uuid4(), uuid.uuid4()
    items = [(logistics_seed.MAIN_LOCATION_ID, 4), (logistics_seed.SOUTH_LOCATION_ID, 2)]
    lines = [{"line_id": str(uuid.uuid4()), "sku_id": str(uuid.uuid4()), "quantity": q} for _, q in items]
    allocations = [dict(line, location_id=str(loc)) for line, (loc, _) in zip(lines, items, strict=True)]
    placed = {
        "order_id": str(order_id),
        "purchase_id": str(uuid.uuid4()),
        "number": "SO-E2E-1",
        "buyer_organization_id": str(orgs.BUYER_ID),
        "seller_organization_id": str(orgs.SUPPLIER_ID),
        "placed_by": str(orgs.BUYER_USER_ID),
        "currency": "USD",
        "total": "120.00",
        "delivery": {
            "country": "DE",
            "region": None,
            "postal_code": "20095",
            "city": "Hamburg",
            "latitude": None,
            "longitude": None,
        },
        "lines": lines,
        "reserve_for_seconds": None,
    }
    nc = await nats.connect(service_urls.nats_url)
    try:
        js = nc.jetstream()
        await _publish(
            js, EventEnvelope.new("orders", "placed", tenant_id=tenant, subject_id=order_id, data=placed)
        )
        await _publish(
            js,
            EventEnvelope.new(
                "stock",
                "reserved",
                tenant_id=tenant,
                subject_id=reservation,
                data={
                    "reservation_id": str(reservation),
                    "order_id": str(order_id),
                    "expires_at": "2030-01-01T00:00:00Z",
                    "allocations": allocations,
                },
            ),
        )
        await _publish(
            js,
            EventEnvelope.new(
                "orders",
                "confirmed",
                tenant_id=tenant,
                subject_id=order_id,
                data={
                    "order_id": str(order_id),
                    "from": "reserved",
                    "to": "confirmed",
                    "reason": None,
                    "actor": None,
                    "reservation_id": str(reservation),
                },
            ),
        )
        supplier = await e2e.login("sam@bolt-industrial.example")
        buyer = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_ID)

        deadline = time.monotonic() + 30
        while True:
            found = _ok(await e2e.query(SHIPMENTS, {"o": str(order_id)}, token=supplier), "shipments")
            if found["totalCount"] == 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert found["totalCount"] == 2, found
        parcels = {e["node"]["locationId"]: e["node"] for e in found["edges"]}
        assert set(parcels) == {str(loc) for loc, _ in items}
        assert all(p["tenantId"] == str(tenant) and p["status"] == "CREATED" for p in parcels.values())
        main, south = (
            parcels[str(logistics_seed.MAIN_LOCATION_ID)],
            parcels[str(logistics_seed.SOUTH_LOCATION_ID)],
        )
        assert main["carrier"]["code"] == "SBX-STANDARD"  # default weights: 5.90 + 1.5 < 9.90 + 0.2

        # The buyer may not work the warehouse.
        refused = await e2e.query(ACT % "shipmentCreateLabel", {"id": main["id"]}, token=buyer)
        assert refused.errors, refused.body
        tracking: dict[str, str] = {}
        for parcel in (main, south):
            labelled = _ok(
                await e2e.query(ACT % "shipmentCreateLabel", {"id": parcel["id"]}, token=supplier),
                "shipmentCreateLabel",
            )
            assert labelled["userErrors"] == [] and labelled["shipment"]["status"] == "LABELLED"
            tracking[parcel["id"]] = labelled["shipment"]["trackingNumber"]
            dispatched = _ok(
                await e2e.query(ACT % "shipmentDispatch", {"id": parcel["id"]}, token=supplier),
                "shipmentDispatch",
            )
            assert dispatched["shipment"]["status"] == "DISPATCHED"

        # The carrier's signed tracking, straight to the logistics subgraph.
        base = e2e.subgraph_urls["logistics"].removesuffix("/graphql")
        carrier = logistics_seed.STANDARD_CARRIER_ID
        secret = "demo-webhook-secret-sbx-standard"
        async with aiohttp.ClientSession() as client:
            for status in ("IN_TRANSIT", "DELIVERED"):
                body = orjson.dumps(
                    {
                        "event_id": uuid.uuid4().hex,
                        "tracking_number": tracking[main["id"]],
                        "status": status,
                        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                    }
                )
                ts = str(int(time.time()))
                async with client.post(
                    f"{base}/webhooks/carriers/{tenant}/{carrier}",
                    data=body,
                    headers={
                        "content-type": "application/json",
                        webhooks.TIMESTAMP_HEADER: ts,
                        webhooks.SIGNATURE_HEADER: webhooks.sign(secret, ts, body),
                    },
                ) as response:
                    assert response.status == 200, await response.text()
                await asyncio.sleep(1.1)  # the next scan is newer (seconds resolution)
        confirmed = _ok(
            await e2e.query(ACT % "shipmentConfirmDelivery", {"id": south["id"]}, token=buyer),
            "shipmentConfirmDelivery",
        )
        assert confirmed["userErrors"] == [] and confirmed["shipment"]["status"] == "DELIVERED"
        final = _ok(await e2e.query(SHIPMENTS, {"o": str(order_id)}, token=supplier), "shipments")
        assert {e["node"]["status"] for e in final["edges"]} == {"DELIVERED"}

        # The events orders (and, through it, finance) follows.
        sub = await js.pull_subscribe(f"logistics.{tenant}.*", stream="LOGISTICS")
        seen: list[EventEnvelope] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            e.type == "logistics.shipment_delivered" and e.data["all_shipments_delivered"] for e in seen
        ):
            try:
                for msg in await sub.fetch(50, timeout=0.5):
                    event = EventEnvelope.from_bytes(msg.data)
                    if event.data.get("order_id") == str(order_id):
                        seen.append(event)
                    await msg.ack()
            except TimeoutError:
                pass
        await sub.unsubscribe()
        shipped = [e.data["all_lines_shipped"] for e in seen if e.type == "logistics.shipment_shipped"]
        delivered = [
            e.data["all_shipments_delivered"] for e in seen if e.type == "logistics.shipment_delivered"
        ]
        assert shipped == [False, True] and delivered == [False, True], [e.type for e in seen]

        # Another tenant sees none of it.
        globex = await e2e.login("admin@globex.example", OTHER_TENANT_SLUG)
        theirs = _ok(await e2e.query(SHIPMENTS, {"o": str(order_id)}, token=globex), "shipments")
        assert theirs["totalCount"] == 0
        one = await e2e.query(
            "query($id: ID!) { shipment(id: $id) { id } }", {"id": main["id"]}, token=globex
        )
        assert _ok(one, "shipment") is None
    finally:
        await nc.close()
