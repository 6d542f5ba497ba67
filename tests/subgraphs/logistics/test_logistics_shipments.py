"""Shipments per order per warehouse, driven by the saga's events on the real JetStream: an order
with lines in two warehouses ships in two parcels; `all_lines_shipped` is false after the first
dispatch and true after the second; each parcel carries exactly stock's allocation there."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from shared.events import EventEnvelope
from tests.subgraphs.logistics.helpers import World, eventually, order_spec, publish_order

LABEL = """
mutation($id: ID!) { shipmentCreateLabel(input: {shipmentId: $id}) {
  shipment { id status trackingNumber } userErrors { field code message } } }"""
DISPATCH = """
mutation($id: ID!) { shipmentDispatch(input: {shipmentId: $id}) {
  shipment { id status dispatchedAt } userErrors { field code message } } }"""


async def _logistics_events(w: World, order_id: uuid.UUID, count: int) -> list[EventEnvelope]:
    assert w.nc is not None
    js = w.nc.jetstream()

    async def probe() -> list[EventEnvelope]:
        sub = await js.pull_subscribe(f"logistics.{w.tenant}.*", stream="LOGISTICS")
        out: list[EventEnvelope] = []
        try:
            while True:
                try:
                    msgs = await sub.fetch(100, timeout=0.5)
                except TimeoutError:
                    break
                for m in msgs:
                    out.append(EventEnvelope.from_bytes(m.data))
                    await m.ack()
        finally:
            await sub.unsubscribe()
        return [e for e in out if e.data.get("order_id") == str(order_id)]

    return list(await eventually(probe, lambda evs: len(evs) >= count, 20.0))


async def test_two_warehouses_two_parcels_partial_then_shipped(world: World) -> None:
    w = world
    gloves, drills, wire = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    spec = order_spec(w, [(gloves, 10, w.main), (drills, 2, w.south), (wire, 5, w.main)])
    await publish_order(w, spec)
    shipments = await w.wait_shipments(spec.id, 2)
    assert len(shipments) == 2
    by_location = {s.location_id: s for s in shipments}
    assert set(by_location) == {w.main, w.south}
    # Every parcel ships exactly what stock allocated at its location.
    for location, shipment in by_location.items():
        expected = sorted(
            (a["line_id"], a["quantity"]) for a in spec.allocations if a["location_id"] == str(location)
        )
        assert sorted((li["line_id"], li["quantity"]) for li in shipment.lines) == expected
        assert shipment.status == "CREATED"

    first, second = by_location[w.main], by_location[w.south]
    for s in (first, second):
        out = (await w.gql(LABEL, {"id": str(s.id)}))["shipmentCreateLabel"]
        assert out["userErrors"] == [] and out["shipment"]["status"] == "LABELLED"
        assert out["shipment"]["trackingNumber"].startswith("SBX")
    out = (await w.gql(DISPATCH, {"id": str(first.id)}))["shipmentDispatch"]
    assert out["userErrors"] == [] and out["shipment"]["status"] == "DISPATCHED"
    out = (await w.gql(DISPATCH, {"id": str(second.id)}))["shipmentDispatch"]
    assert out["shipment"]["status"] == "DISPATCHED"

    evs = await _logistics_events(w, spec.id, 4)
    shipped = [e for e in evs if e.type == "logistics.shipment_shipped"]
    created = [e for e in evs if e.type == "logistics.shipment_created"]
    assert len(created) == 2 and len(shipped) == 2
    by_shipment = {e.data["shipment_id"]: e for e in shipped}
    assert by_shipment[str(first.id)].data["all_lines_shipped"] is False  # orders: partially_shipped
    assert by_shipment[str(second.id)].data["all_lines_shipped"] is True  # orders: shipped
    payload: dict[str, Any] = by_shipment[str(second.id)].data
    assert payload["location_id"] == str(w.south) and payload["carrier"] in ("STD", "EXP")
    assert payload["tracking_number"].startswith("SBX") and payload["lines"] == second.lines
    assert all(e.subject_id == e.data["shipment_id"] for e in evs)

    # A second dispatch is refused as a userError, not a 500.
    again = (await w.gql(DISPATCH, {"id": str(first.id)}))["shipmentDispatch"]
    assert again["shipment"] is None and again["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_events_in_any_order_and_replayed_route_once(world: World) -> None:
    w = world
    spec = order_spec(w, [(uuid.uuid4(), 3, w.main)])
    confirmed = EventEnvelope.new(
        "orders",
        "confirmed",
        tenant_id=w.tenant,
        subject_id=spec.id,
        data={
            "order_id": str(spec.id),
            "from": "reserved",
            "to": "confirmed",
            "reason": None,
            "actor": None,
            "reservation_id": None,
        },
    )
    await w.publish_envelope(confirmed)  # confirmed before anything else
    reservation = uuid.uuid4()
    await w.publish(
        "stock",
        "reserved",
        reservation,
        {
            "reservation_id": str(reservation),
            "order_id": str(spec.id),
            "expires_at": "2030-01-01T00:00:00Z",
            "allocations": spec.allocations,
        },
    )
    placed = await w.publish("orders", "placed", spec.id, spec.placed)
    shipments = await w.wait_shipments(spec.id, 1)
    # Replays (same event ids, new message ids are what a redelivery looks like to us) change nothing.
    for envelope in (placed, confirmed):
        assert w.nc is not None
        await w.nc.jetstream().publish(
            envelope.subject, envelope.to_bytes(), headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
    second_confirmation = EventEnvelope.new(
        "orders", "confirmed", tenant_id=w.tenant, subject_id=spec.id, data=dict(confirmed.data)
    )
    await w.publish_envelope(second_confirmation)
    await _logistics_events(w, spec.id, 1)

    await asyncio.sleep(1.0)
    assert [s.id for s in await w.shipments(spec.id)] == [s.id for s in shipments]


async def test_cancelled_order_cancels_unshipped_shipments(world: World) -> None:
    w = world
    spec = order_spec(w, [(uuid.uuid4(), 1, w.main), (uuid.uuid4(), 1, w.south)])
    await publish_order(w, spec)
    await w.wait_shipments(spec.id, 2)
    await w.publish(
        "orders",
        "cancelled",
        spec.id,
        {
            "order_id": str(spec.id),
            "from": "confirmed",
            "to": "cancelled",
            "reason": "BUYER",
            "actor": None,
            "reservation_id": None,
        },
    )
    rows = await eventually(
        lambda: w.shipments(spec.id), lambda rows: all(r.status == "CANCELLED" for r in rows), 20.0
    )
    assert len(rows) == 2
