"""ZPL labels beside the PDF, staff resolution of shipment exceptions (retry delivery, return to
sender, mark lost) and re-routing a failed or cancelled shipment to another carrier or
warehouse, through GraphQL on the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from subgraphs.logistics import carriers, service
from subgraphs.logistics.models import Shipment
from tests.subgraphs.logistics.helpers import World, order_spec

LABEL = """
mutation($id: ID!) { shipmentCreateLabel(input: {shipmentId: $id}) {
  shipment { id status trackingNumber labelZpl } userErrors { field code message } } }"""
DISPATCH = """
mutation($id: ID!) { shipmentDispatch(input: {shipmentId: $id}) {
  shipment { id status } userErrors { field code message } } }"""
RESOLVE = """
mutation($id: ID!, $r: ShipmentExceptionResolution!) {
  shipmentExceptionResolve(input: {shipmentId: $id, resolution: $r, note: "called the depot"}) {
    shipment { id status exceptionReason } userErrors { field code message } } }"""
REROUTE = """
mutation($id: ID!, $carrier: ID, $location: ID) {
  shipmentReroute(
    input: {shipmentId: $id, carrierId: $carrier, locationId: $location, reason: "carrier failed"}
  ) {
    shipment { id status replacesShipmentId carrier { code } locationId lines { lineId quantity } }
    userErrors { field code message } } }"""
ORDER_SHIPMENTS = """
query($id: ID!) { shipment(id: $id) { id status replacedByShipmentId } }"""


async def _order(w: World, items: list[tuple[uuid.UUID, int, uuid.UUID]]) -> list[Shipment]:
    spec = order_spec(w, items)
    for domain, event, data in (
        ("orders", "placed", spec.placed),
        ("stock", "reserved", {"order_id": str(spec.id), "allocations": spec.allocations}),
        ("orders", "confirmed", {"order_id": str(spec.id)}),
    ):
        await w.apply(domain, event, spec.id, data)
    return await w.shipments(spec.id)


async def _with_carrier_in_exception(w: World) -> tuple[Shipment, str]:
    [shipment] = await _order(w, [(uuid.uuid4(), 2, w.main)])
    out = (await w.gql(LABEL, {"id": str(shipment.id)}))["shipmentCreateLabel"]
    assert out["userErrors"] == []
    await w.gql(DISPATCH, {"id": str(shipment.id)})
    async with w.db.tenant_session(w.tenant) as session:
        row = await service.locked_shipment(session, w.tenant, shipment.id)
        await service.raise_exception(session, row, "FAILED_DELIVERY", datetime.now(UTC), "CARRIER")
    return shipment, out["shipment"]["trackingNumber"]


async def _events(w: World, shipment_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    async with w.db.session() as session:
        await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
        rows = (
            await session.execute(
                text(
                    "SELECT type, envelope FROM logistics.outbox WHERE tenant_id = :t "
                    "AND envelope->>'subject_id' = ANY(:ids) ORDER BY seq"
                ),
                {"t": w.tenant, "ids": [str(s) for s in shipment_ids]},
            )
        ).all()
    return [{"type": r.type, **r.envelope["data"]} for r in rows]


async def test_label_in_zpl_beside_the_pdf(http_world: World) -> None:
    w = http_world
    [shipment] = await _order(w, [(uuid.uuid4(), 3, w.main)])
    out = (await w.gql(LABEL, {"id": str(shipment.id)}))["shipmentCreateLabel"]
    zpl = out["shipment"]["labelZpl"]
    tracking = out["shipment"]["trackingNumber"]
    assert zpl.startswith("^XA\n^CI28\n") and zpl.rstrip().endswith("^XZ")
    assert f"^BCN,160,Y,N,N^FH^FD{tracking}^FS" in zpl  # the tracking number as Code 128
    assert "Main DC" in zpl and "Hamburg" in zpl
    # The PDF is still there.
    async with w.db.tenant_session(w.tenant) as session:
        pdf = await service.label_document(session, shipment.id)
    assert pdf is not None and pdf.startswith(b"%PDF")
    # Field data cannot end a field or inject a command.
    assert carriers.zpl_field("A^XZ~JA_b") == "A_5EXZ_7EJA_5Fb"


async def test_resolving_exceptions(http_world: World) -> None:
    w = http_world
    retried, _ = await _with_carrier_in_exception(w)
    out = (await w.gql(RESOLVE, {"id": str(retried.id), "r": "RETRY_DELIVERY"}))["shipmentExceptionResolve"]
    assert out["userErrors"] == [] and out["shipment"]["status"] == "IN_TRANSIT"
    again = (await w.gql(RESOLVE, {"id": str(retried.id), "r": "MARK_LOST"}))["shipmentExceptionResolve"]
    assert again["userErrors"][0]["code"] == "NOT_IN_EXCEPTION"  # only a shipment in EXCEPTION

    returned, _ = await _with_carrier_in_exception(w)
    out = (await w.gql(RESOLVE, {"id": str(returned.id), "r": "RETURN_TO_SENDER"}))[
        "shipmentExceptionResolve"
    ]
    assert out["shipment"]["status"] == "RETURNED"
    lost, tracking = await _with_carrier_in_exception(w)
    out = (await w.gql(RESOLVE, {"id": str(lost.id), "r": "MARK_LOST"}))["shipmentExceptionResolve"]
    assert out["shipment"]["status"] == "LOST"
    # A carrier scan after the decision moves nothing (LOST is final).
    status, body = await w.webhook(
        w.standard if lost.carrier_id == w.standard else w.express,
        {
            "event_id": uuid.uuid4().hex,
            "tracking_number": tracking,
            "status": "DELIVERED",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
    )
    assert status == 200 and body["outcome"] == "IGNORED"

    events = await _events(w, [retried.id, returned.id, lost.id])
    kinds = [
        (e["type"], e["shipment_id"]) for e in events if e["type"] not in ("logistics.shipment_created",)
    ]
    assert ("logistics.shipment_in_transit", str(retried.id)) in kinds
    assert ("logistics.shipment_returned", str(returned.id)) in kinds
    assert ("logistics.shipment_lost", str(lost.id)) in kinds
    resolved = [
        (e["shipment_id"], e["reason"])
        for e in events
        if e["type"] == "logistics.shipment_exception_resolved"
    ]
    assert resolved == [
        (str(retried.id), "RETRY_DELIVERY"),
        (str(returned.id), "RETURN_TO_SENDER"),
        (str(lost.id), "MARK_LOST"),
    ]


async def test_rerouting_to_another_carrier_and_warehouse(http_world: World) -> None:
    w = http_world
    # A lost parcel is replaced with the same lines by the other carrier.
    lost, _ = await _with_carrier_in_exception(w)
    await w.gql(RESOLVE, {"id": str(lost.id), "r": "MARK_LOST"})
    out = (await w.gql(REROUTE, {"id": str(lost.id)}))["shipmentReroute"]
    assert out["userErrors"] == []
    new = out["shipment"]
    assert new["status"] == "CREATED" and new["replacesShipmentId"] == str(lost.id)
    assert new["carrier"]["code"] != ("STD" if lost.carrier_id == w.standard else "EXP")
    assert [li["quantity"] for li in new["lines"]] == [2]
    again = (await w.gql(REROUTE, {"id": str(lost.id)}))["shipmentReroute"]
    assert again["userErrors"][0]["code"] == "ALREADY_REROUTED"
    old = (await w.gql(ORDER_SHIPMENTS, {"id": str(lost.id)}))["shipment"]
    assert old["replacedByShipmentId"] == new["id"]
    # The order's progress now follows the replacement: delivered once it is.
    async with w.db.tenant_session(w.tenant) as session:
        assert await service.order_progress(session, w.tenant, lost.order_id) == (False, False)
        row = await service.create_label(session, w.tenant, uuid.UUID(new["id"]))
        await service.dispatch(session, w.tenant, row.id)
        assert await service.order_progress(session, w.tenant, lost.order_id) == (True, False)

    # A labelled shipment whose carrier fails before pickup: cancelled (label voided) and re-routed
    # to a named carrier; another warehouse only where stock holds the units.
    sku = uuid.uuid4()
    first, second = await _order(w, [(sku, 1, w.main), (sku, 1, w.south)])
    assert {first.location_id, second.location_id} == {w.main, w.south}
    await w.gql(LABEL, {"id": str(first.id)})
    refused = (await w.gql(REROUTE, {"id": str(first.id), "location": str(uuid.uuid4())}))["shipmentReroute"]
    assert refused["userErrors"][0]["code"] == "UNKNOWN_WAREHOUSE"
    other = w.south if first.location_id == w.main else w.main
    refused = (await w.gql(REROUTE, {"id": str(first.id), "location": str(other)}))["shipmentReroute"]
    assert refused["userErrors"][0]["code"] == "NOT_ALLOCATED_THERE"  # the other parcel takes those units
    # The other parcel is cancelled (its units now free at its warehouse) ...
    async with w.db.tenant_session(w.tenant) as session:
        await service.cancel(session, w.tenant, second.id, "warehouse closed")
    # ... so the first can leave from there, with the express carrier.
    moved = (await w.gql(REROUTE, {"id": str(first.id), "location": str(other), "carrier": str(w.express)}))[
        "shipmentReroute"
    ]
    assert moved["userErrors"] == []
    assert moved["shipment"]["locationId"] == str(other) and moved["shipment"]["carrier"]["code"] == "EXP"
    [old_first] = [s for s in await w.shipments(first.order_id) if s.id == first.id]
    assert old_first.status == "CANCELLED"
    in_transit, _ = await _with_carrier_in_exception(w)
    refused = (await w.gql(REROUTE, {"id": str(in_transit.id)}))["shipmentReroute"]
    assert refused["userErrors"][0]["code"] == "INVALID_TRANSITION"  # resolve the exception first
    events = await _events(w, [uuid.UUID(new["id"]), uuid.UUID(moved["shipment"]["id"])])
    rerouted = [e for e in events if e["type"] == "logistics.shipment_rerouted"]
    assert [e["replaces_shipment_id"] for e in rerouted] == [str(lost.id), str(first.id)]
