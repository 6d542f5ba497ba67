"""Signed carrier webhooks: duplicated, replayed, forged and out-of-order tracking events change
nothing wrong; buyer delivery confirmation; the sandbox label is a real PDF."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import func, select

from subgraphs.logistics.models import Shipment, ShipmentTransition, TrackingEvent
from tests.subgraphs.logistics.helpers import World, order_spec

LABEL = """
mutation($id: ID!) { shipmentCreateLabel(input: {shipmentId: $id}) {
  shipment { id status trackingNumber } userErrors { field code message } } }"""
CONFIRM = """
mutation($id: ID!) { shipmentConfirmDelivery(input: {shipmentId: $id}) {
  shipment { id status deliveredBy } userErrors { field code message } } }"""
SHIPMENT = """
query($id: ID!) { shipment(id: $id) {
  id status labelPdfBase64 transitions { fromStatus toStatus source } } }"""


async def _labelled(w: World) -> tuple[Shipment, str]:
    spec = order_spec(w, [(uuid.uuid4(), 2, w.main)])
    for domain, event, data in (
        ("orders", "placed", spec.placed),
        ("stock", "reserved", {"order_id": str(spec.id), "allocations": spec.allocations}),
        ("orders", "confirmed", {"order_id": str(spec.id)}),
    ):
        await w.apply(domain, event, spec.id, data)
    [shipment] = await w.shipments(spec.id)
    out = (await w.gql(LABEL, {"id": str(shipment.id)}))["shipmentCreateLabel"]
    assert out["userErrors"] == []
    return shipment, out["shipment"]["trackingNumber"]


async def _state(w: World, shipment_id: uuid.UUID) -> Shipment:
    async with w.db.tenant_session(w.tenant) as session:
        row = await session.get(Shipment, shipment_id)
        assert row is not None
        return row


def _event(tracking: str, status: str, at: datetime, event_id: str | None = None) -> dict[str, str]:
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "tracking_number": tracking,
        "status": status,
        "occurred_at": at.isoformat(),
    }


async def test_tracking_flow_duplicates_and_out_of_order(http_world: World) -> None:
    w = http_world
    shipment, tracking = await _labelled(w)
    carrier = shipment.carrier_id
    assert carrier is not None
    t0 = datetime.now(UTC) - timedelta(hours=5)
    picked = _event(tracking, "PICKED_UP", t0)
    status, body = await w.webhook(carrier, picked)
    assert (status, body["outcome"]) == (200, "APPLIED")
    assert (await _state(w, shipment.id)).status == "DISPATCHED"

    # Duplicate delivery of the same carrier event (and a replay of the same signed request).
    assert (await w.webhook(carrier, picked))[1]["outcome"] == "DUPLICATE"
    late_transit = _event(tracking, "IN_TRANSIT", t0 + timedelta(hours=1))
    delivered = _event(tracking, "DELIVERED", t0 + timedelta(hours=3))
    # Out of order: delivered arrives first, the older in-transit scan after it.
    assert (await w.webhook(carrier, delivered))[1]["outcome"] == "APPLIED"
    assert (await w.webhook(carrier, late_transit))[1]["outcome"] == "STALE"
    # Even a newer in-transit scan never reopens a delivered parcel.
    newer = _event(tracking, "IN_TRANSIT", t0 + timedelta(hours=4))
    assert (await w.webhook(carrier, newer))[1]["outcome"] == "IGNORED"
    row = await _state(w, shipment.id)
    assert row.status == "DELIVERED" and row.delivered_by == "CARRIER"
    assert row.last_tracking_at == t0 + timedelta(hours=3)

    async with w.db.tenant_session(w.tenant) as session:
        steps = (
            (
                await session.execute(
                    select(ShipmentTransition.to_status)
                    .where(ShipmentTransition.shipment_id == shipment.id)
                    .order_by(ShipmentTransition.seq)
                )
            )
            .scalars()
            .all()
        )
        recorded = (
            await session.execute(
                select(func.count())
                .select_from(TrackingEvent)
                .where(TrackingEvent.shipment_id == shipment.id)
            )
        ).scalar_one()
    assert steps == ["CREATED", "LABELLED", "DISPATCHED", "DELIVERED"]
    assert recorded == 4  # picked, delivered, late transit, newer transit: each once

    # The buyer confirming afterwards changes nothing.
    out = await w.gql(CONFIRM, {"id": str(shipment.id)}, scopes=("orders:read",), org=w.buyer)
    assert out["shipmentConfirmDelivery"]["shipment"]["deliveredBy"] == "CARRIER"


async def test_forged_stale_and_foreign_webhooks_are_refused(http_world: World) -> None:
    w = http_world
    shipment, tracking = await _labelled(w)
    carrier = shipment.carrier_id
    assert carrier is not None
    event = _event(tracking, "DELIVERED", datetime.now(UTC))
    assert (await w.webhook(carrier, event, secret="not-the-secret"))[0] == 401
    # Signed body, other body sent (tampered in flight).
    tampered = dict(event, status="LOST")
    assert (await w.webhook(carrier, event, send=orjson.dumps(tampered)))[0] == 401
    # A captured call replayed after the tolerance window.
    assert (await w.webhook(carrier, event, timestamp=int(time.time()) - 3600))[0] == 401
    # Another carrier's secret does not sign for this carrier.
    other = w.express if carrier == w.standard else w.standard
    assert (await w.webhook(carrier, event, secret=w.secrets[other]))[0] == 401
    # Another tenant's path: not found (the carrier is invisible there).
    assert (await w.webhook(carrier, event, tenant=uuid.uuid4()))[0] == 404
    row = await _state(w, shipment.id)
    assert row.status == "LABELLED" and row.last_tracking_at is None
    async with w.db.tenant_session(w.tenant) as session:
        seen = (await session.execute(select(func.count()).select_from(TrackingEvent))).scalar_one()
    assert seen == 0
    # Malformed but signed: a 400, nothing recorded.
    bad = dict(event, status="TELEPORTED")
    assert (await w.webhook(carrier, bad))[0] == 400


async def test_buyer_confirms_delivery_and_failed_delivery_is_an_exception(http_world: World) -> None:
    w = http_world
    shipment, tracking = await _labelled(w)
    carrier = shipment.carrier_id
    assert carrier is not None
    # Not shipped yet: the buyer cannot confirm.
    early = await w.gql(CONFIRM, {"id": str(shipment.id)}, scopes=("orders:read",), org=w.buyer)
    assert early["shipmentConfirmDelivery"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    now = datetime.now(UTC)
    assert (await w.webhook(carrier, _event(tracking, "IN_TRANSIT", now - timedelta(hours=2))))[1][
        "outcome"
    ] == "APPLIED"
    assert (await w.webhook(carrier, _event(tracking, "FAILED_DELIVERY", now - timedelta(hours=1))))[0] == 200
    row = await _state(w, shipment.id)
    assert row.status == "EXCEPTION" and row.exception_reason == "FAILED_DELIVERY"
    queue = await w.gql("{ shipmentExceptions { totalCount edges { node { id exceptionReason } } } }")
    assert queue["shipmentExceptions"]["edges"][0]["node"] == {
        "id": str(shipment.id),
        "exceptionReason": "FAILED_DELIVERY",
    }
    # Someone else's organization may not confirm; the buyer may.
    stranger = await w.gql(CONFIRM, {"id": str(shipment.id)}, scopes=("orders:read",), org=uuid.uuid4())
    assert stranger["shipmentConfirmDelivery"]["userErrors"][0]["code"] == "FORBIDDEN"
    out = await w.gql(CONFIRM, {"id": str(shipment.id)}, scopes=("orders:read",), org=w.buyer)
    assert out["shipmentConfirmDelivery"]["shipment"] == {
        "id": str(shipment.id),
        "status": "DELIVERED",
        "deliveredBy": "BUYER",
    }
    assert (await w.gql("{ shipmentExceptions { totalCount } }"))["shipmentExceptions"]["totalCount"] == 0


async def test_lost_parcel_is_an_exception_until_found(http_world: World) -> None:
    w = http_world
    shipment, tracking = await _labelled(w)
    carrier = shipment.carrier_id
    assert carrier is not None
    now = datetime.now(UTC)
    assert (await w.webhook(carrier, _event(tracking, "PICKED_UP", now - timedelta(days=3))))[0] == 200
    assert (await w.webhook(carrier, _event(tracking, "LOST", now - timedelta(days=1))))[0] == 200
    row = await _state(w, shipment.id)
    assert (row.status, row.exception_reason) == ("EXCEPTION", "LOST")
    queue = await w.gql("{ shipmentExceptions { totalCount } }")
    assert queue["shipmentExceptions"]["totalCount"] == 1
    # An older scan cannot clear it; a newer one does.
    assert (await w.webhook(carrier, _event(tracking, "IN_TRANSIT", now - timedelta(days=2))))[1][
        "outcome"
    ] == ("STALE")
    assert (await w.webhook(carrier, _event(tracking, "IN_TRANSIT", now)))[1]["outcome"] == "APPLIED"
    row = await _state(w, shipment.id)
    assert (row.status, row.exception_reason) == ("IN_TRANSIT", None)


async def test_label_is_a_pdf_with_the_tracking_number(http_world: World, tmp_path: object) -> None:
    w = http_world
    shipment, tracking = await _labelled(w)
    data = (await w.gql(SHIPMENT, {"id": str(shipment.id)}))["shipment"]
    pdf = base64.b64decode(data["labelPdfBase64"])
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-32:]
    assert tracking.startswith("SBX") and len(tracking) == 15
    assert [t["toStatus"] for t in data["transitions"]] == ["CREATED", "LABELLED"]
    # The label needs the seller's scope; orders:read alone gets nothing (the gateway would refuse).
    headers_only_read = await w.gql(
        "query($id: ID!) { shipment(id: $id) { id trackingNumber } }",
        {"id": str(shipment.id)},
        scopes=("orders:read",),
    )
    assert headers_only_read["shipment"]["trackingNumber"] == tracking


async def test_label_with_idempotency_key_is_bought_once(http_world: World) -> None:
    w = http_world
    spec = order_spec(w, [(uuid.uuid4(), 1, w.main), (uuid.uuid4(), 1, w.south)])
    for domain, event, data in (
        ("orders", "placed", spec.placed),
        ("stock", "reserved", {"order_id": str(spec.id), "allocations": spec.allocations}),
        ("orders", "confirmed", {"order_id": str(spec.id)}),
    ):
        await w.apply(domain, event, spec.id, data)
    first, second = await w.shipments(spec.id)
    keyed = """mutation($id: ID!, $k: String) {
      shipmentCreateLabel(input: {shipmentId: $id, idempotencyKey: $k}) {
      shipment { id status trackingNumber } userErrors { field code } } }"""
    one = (await w.gql(keyed, {"id": str(first.id), "k": "label-1"}))["shipmentCreateLabel"]
    again = (await w.gql(keyed, {"id": str(first.id), "k": "label-1"}))["shipmentCreateLabel"]
    assert one["userErrors"] == [] and again == one  # the retry replays, no second label
    reused = (await w.gql(keyed, {"id": str(second.id), "k": "label-1"}))["shipmentCreateLabel"]
    assert reused["userErrors"] == [{"field": ["idempotencyKey"], "code": "IDEMPOTENCY_KEY_REUSED"}]
    async with w.db.tenant_session(w.tenant) as session:
        steps = (
            await session.execute(
                select(func.count())
                .select_from(ShipmentTransition)
                .where(ShipmentTransition.shipment_id == first.id, ShipmentTransition.to_status == "LABELLED")
            )
        ).scalar_one()
    assert steps == 1
