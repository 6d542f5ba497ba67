"""orders -> stock -> logistics -> orders/stock/finance on the real JetStream: a confirmed order
split by stock over two warehouses ships in two parcels (logistics' warehouses are stock's
locations); the order follows (partially_shipped, shipped, delivered); the shipped units leave
stock exactly once (on_hand and committed drop, `shipment` movements, a replayed event changes
nothing); finance starts the settlement clock on delivery."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from sqlalchemy import select

from shared.events import EventEnvelope
from subgraphs.finance.models import OrderRow
from subgraphs.logistics import service as logistics
from subgraphs.logistics import webhooks
from subgraphs.logistics.models import Carrier, Shipment
from subgraphs.orgs import seed as orgs_seed
from subgraphs.stock import seed as stock_seed
from tests.integration.conftest import TENANT, Saga, chicago_skus, eventually, split_sku


async def _shipments(saga: Saga, order_id: uuid.UUID) -> list[Shipment]:
    async with saga.db.tenant_session(TENANT) as session:
        rows = await session.scalars(select(Shipment).where(Shipment.order_id == order_id))
        return list(rows)


async def _shipped_event(saga: Saga, shipment_id: uuid.UUID) -> EventEnvelope:
    sub = await saga.js.subscribe(f"logistics.{TENANT}.shipment_shipped", ordered_consumer=True)
    try:
        while True:
            event = EventEnvelope.from_bytes((await sub.next_msg(timeout=20)).data)
            if event.data.get("shipment_id") == str(shipment_id):
                return event
    finally:
        await sub.unsubscribe()


async def _movements(saga: Saga, shipment_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    rows = await saga.rows(
        "SELECT location_id, delta FROM stock.movements WHERE kind = 'shipment' AND reference = :r",
        r=shipment_id,
    )
    return [(r.location_id, int(r.delta)) for r in rows]


async def _track_delivered(saga: Saga, shipment: Shipment) -> None:
    async with saga.db.tenant_session(TENANT) as session:
        carrier = await session.get(Carrier, shipment.carrier_id)
        assert carrier is not None
        secret = carrier.webhook_secret
    body = orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "tracking_number": shipment.tracking_number,
            "status": "DELIVERED",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    )
    ts = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        webhooks.TIMESTAMP_HEADER: ts,
        webhooks.SIGNATURE_HEADER: webhooks.sign(secret, ts, body),
    }
    url = f"{saga.urls['logistics']}/webhooks/carriers/{TENANT}/{carrier.id}"
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()


async def test_two_parcels_ship_and_deliver_and_everyone_follows(saga: Saga) -> None:
    await saga.settings(finance_decides=False)
    sku, _seeded = split_sku()
    on_hand, reserved, committed = await saga.level(sku, stock_seed.CHICAGO_ID)
    chicago_free = on_hand - reserved - committed
    dallas_before = await saga.level(sku, stock_seed.DALLAS_ID)
    chicago_before = (on_hand, reserved, committed)
    order = await saga.place(orgs_seed.BUYER_ID, [(sku, chicago_free + 1, "1.00")])
    await saga.state_is(order.id, "confirmed")
    # Stock split the line: everything Chicago had, one unit from Dallas.
    assert await saga.level(sku, stock_seed.CHICAGO_ID) == (on_hand, reserved, committed + chicago_free)

    parcels = await eventually(
        lambda: _lists(_shipments(saga, order.id), 2), what="logistics routed two parcels"
    )
    by_location = {p.location_id: p for p in parcels}
    assert set(by_location) == {stock_seed.CHICAGO_ID, stock_seed.DALLAS_ID}
    chicago, dallas = by_location[stock_seed.CHICAGO_ID], by_location[stock_seed.DALLAS_ID]
    assert [li["quantity"] for li in chicago.lines] == [chicago_free]
    assert [li["quantity"] for li in dallas.lines] == [1]

    # First parcel: labelled and dispatched by the warehouse.
    async with saga.db.tenant_session(TENANT) as session:
        await logistics.create_label(session, TENANT, chicago.id)
    async with saga.db.tenant_session(TENANT) as session:
        await logistics.dispatch(session, TENANT, chicago.id)
    await saga.state_is(order.id, "partially_shipped")

    async def chicago_consumed() -> bool:
        return await saga.level(sku, stock_seed.CHICAGO_ID) == (
            chicago_before[0] - chicago_free,
            chicago_before[1],
            chicago_before[2],
        )

    await eventually(chicago_consumed, what="Chicago's shipped units left")
    assert await _movements(saga, chicago.id) == [(stock_seed.CHICAGO_ID, -chicago_free)]

    # The same shipment announced again (another event id): consumed once only.
    first = await _shipped_event(saga, chicago.id)
    again = EventEnvelope.new(
        "logistics", "shipment_shipped", tenant_id=TENANT, subject_id=chicago.id, data=first.data
    )
    await saga.publish(again)

    async def replay_seen() -> bool:
        sql = (
            "SELECT 1 FROM stock.processed_events WHERE consumer = 'stock-shipment-shipped' AND event_id = :e"
        )
        return bool(await saga.rows(sql, e=again.id))

    await eventually(replay_seen, what="stock processed the replay")
    assert await _movements(saga, chicago.id) == [(stock_seed.CHICAGO_ID, -chicago_free)]
    assert (await saga.level(sku, stock_seed.CHICAGO_ID))[0] == chicago_before[0] - chicago_free

    # Second parcel: all lines with the carrier -> shipped; Dallas' unit leaves.
    async with saga.db.tenant_session(TENANT) as session:
        await logistics.create_label(session, TENANT, dallas.id)
    async with saga.db.tenant_session(TENANT) as session:
        await logistics.dispatch(session, TENANT, dallas.id)
    await saga.state_is(order.id, "shipped")

    async def dallas_consumed() -> bool:
        return await saga.level(sku, stock_seed.DALLAS_ID) == (
            dallas_before[0] - 1,
            dallas_before[1],
            dallas_before[2],
        )

    await eventually(dallas_consumed, what="Dallas' shipped unit left")
    reservation = await saga.rows(
        "SELECT r.status, count(l.id) AS held FROM stock.reservations r "
        "LEFT JOIN stock.reservation_lines l ON l.reservation_id = r.id "
        "WHERE r.order_id = :o GROUP BY r.status",
        o=order.id,
    )
    assert [(r.status, r.held) for r in reservation] == [("committed", 0)]  # nothing is held any more

    # Delivery: the carrier's signed tracking for one, the buyer's confirmation for the other.
    parcels = await _shipments(saga, order.id)
    await _track_delivered(saga, next(p for p in parcels if p.id == chicago.id))
    async with saga.db.tenant_session(TENANT) as session:
        await logistics.confirm_delivery(session, TENANT, dallas.id, orgs_seed.BUYER_ID)
    delivered = await saga.state_is(order.id, "delivered")
    assert delivered.state_reason and "delivered" in delivered.state_reason

    async def settlement_clock() -> bool:
        async with saga.db.tenant_session(TENANT) as session:
            row = await session.get(OrderRow, (TENANT, order.id))
        return row is not None and row.status == "DELIVERED"

    await eventually(settlement_clock, what="finance saw orders.delivered")
    due = await saga.rows("SELECT due_at FROM finance.settlements WHERE order_id = :o", o=order.id)
    assert len(due) == 1


async def _lists(rows: Any, count: int) -> Any:
    found = await rows
    return found if len(found) >= count else None


def _logistics_event(event: str, order_id: uuid.UUID, **flags: bool) -> EventEnvelope:
    shipment = uuid.uuid4()
    return EventEnvelope.new(
        "logistics",
        event,
        tenant_id=TENANT,
        subject_id=shipment,
        data={
            "shipment_id": str(shipment),
            "order_id": str(order_id),
            "location_id": str(stock_seed.CHICAGO_ID),
            "carrier": "SBX-STANDARD",
            "tracking_number": None,
            "lines": [],
            "status": "DELIVERED" if event == "shipment_delivered" else "DISPATCHED",
            "reason": None,
            "occurred_at": datetime.now(UTC).isoformat(),
            **flags,
        },
    )


async def test_the_order_only_moves_forward_whatever_the_order_of_logistics_events(saga: Saga) -> None:
    await saga.settings(finance_decides=False)
    (sku,) = chicago_skus(1, skip=4)
    order = await saga.place(orgs_seed.BUYER_ID, [(sku, 1, "2.00")])
    await saga.state_is(order.id, "confirmed")
    # A delivery seen before any shipped event: the order walks through shipped to delivered.
    await saga.publish(
        _logistics_event("shipment_delivered", order.id, all_lines_shipped=True, all_shipments_delivered=True)
    )
    await saga.state_is(order.id, "delivered")
    late = _logistics_event(
        "shipment_shipped", order.id, all_lines_shipped=False, all_shipments_delivered=False
    )
    await saga.publish(late)

    async def seen() -> bool:
        sql = "SELECT 1 FROM orders.processed_events WHERE consumer = 'orders-logistics' AND event_id = :e"
        return bool(await saga.rows(sql, e=late.id))

    await eventually(seen, what="orders processed the late event")
    steps = await saga.rows(
        "SELECT from_state, to_state, actor FROM orders.order_transitions WHERE order_id = :o", o=order.id
    )
    fulfilment = {
        (s.from_state, s.to_state, s.actor)
        for s in steps
        if s.to_state not in ("placed", "reserved", "confirmed")
    }
    assert fulfilment == {("confirmed", "shipped", "logistics"), ("shipped", "delivered", "logistics")}
    assert (await saga.order(order.id)).state == "delivered"
