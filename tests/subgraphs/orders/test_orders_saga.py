"""The placement saga driven by stock's events on the real JetStream (payloads per docs/saga.md):
placed -> reserved -> (payment approved) -> committed -> confirmed, and every failure ending in a
final state with a reason; replays change nothing; an accepted quote becomes an order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import func, select

from subgraphs.orders import service
from subgraphs.orders.models import Order, OrderTransition, Purchase
from tests.subgraphs.orders.conftest import World, wait_for

SELLER = uuid.uuid4()


async def _tenant(world: World, *, pay_on_placement: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
    tenant, buyer = uuid.uuid4(), uuid.uuid4()
    async with world.db.tenant_session(tenant) as session:
        await service.upsert_org_unit(session, tenant, buyer, parent_id=None, kind="BUYER")
        await service.put_settings(session, tenant, service.Settings(pay_on_placement, 60))
    return tenant, buyer


async def _place(world: World, tenant: uuid.UUID, buyer: uuid.UUID) -> Order:
    line = service.NewLine(uuid.uuid4(), 3, Decimal("2.5000"), Decimal("7.50"), SELLER, "SKU-1", "Gloves")
    async with world.db.tenant_session(tenant) as session:
        _, orders = await service.create_purchase(
            session, tenant, service.Placement(buyer, uuid.uuid4(), "EUR", [line]), actor="test"
        )
    return orders[0]


async def _order(world: World, tenant: uuid.UUID, order_id: uuid.UUID) -> Order:
    async with world.db.tenant_session(tenant) as session:
        order = await session.get(Order, order_id)
    assert order is not None
    return order


async def _state_is(world: World, tenant: uuid.UUID, order_id: uuid.UUID, state: str) -> Order:
    async def check() -> Order | None:
        order = await _order(world, tenant, order_id)
        return order if order.state == state else None

    result: Order = await wait_for(check)
    return result


async def _transitions(world: World, tenant: uuid.UUID, order_id: uuid.UUID) -> int:
    async with world.db.tenant_session(tenant) as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(OrderTransition).where(OrderTransition.order_id == order_id)
            )
            or 0
        )


def _reserved(order: Order, reservation: uuid.UUID) -> dict[str, Any]:
    return {
        "reservation_id": str(reservation),
        "order_id": str(order.id),
        "expires_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
        "allocations": [],
    }


async def _next_event(world: World, subject: str) -> dict[str, Any]:
    sub = await world.js.subscribe(subject, ordered_consumer=True)
    try:
        msg = await sub.next_msg(timeout=15)
    finally:
        await sub.unsubscribe()
    event: dict[str, Any] = orjson.loads(msg.data)
    return event


async def test_happy_path_to_confirmed_and_replays_change_nothing(world: World) -> None:
    tenant, buyer = await _tenant(world)
    order = await _place(world, tenant, buyer)
    assert order.state == "placed" and order.number.startswith("O-")
    placed = await _next_event(world, f"orders.{tenant}.placed")
    assert placed["data"]["order_id"] == str(order.id) and placed["data"]["reserve_for_seconds"] == 60
    assert placed["data"]["lines"][0]["quantity"] == 3 and Decimal(placed["data"]["total"]) == Decimal("7.50")

    reservation = uuid.uuid4()
    reserved = await world.publish("stock", "reserved", tenant, reservation, _reserved(order, reservation))
    await _state_is(world, tenant, order.id, "reserved")
    approved = await _next_event(world, f"orders.{tenant}.payment_approved")
    assert approved["data"] == {
        "order_id": str(order.id),
        "reservation_id": str(reservation),
        "approved_by": None,
        "method": "on_placement",
    }
    await world.publish(
        "stock",
        "committed",
        tenant,
        reservation,
        {"reservation_id": str(reservation), "order_id": str(order.id)},
    )
    done = await _state_is(world, tenant, order.id, "confirmed")
    assert done.reservation_id == reservation and done.payment_approved_at is not None
    count = await _transitions(world, tenant, order.id)  # draft->placed, ->reserved, ->confirmed
    assert count == 3

    await world.republish(reserved)  # same event id, new message id: the consumer skips it
    await world.publish(
        "stock", "reserved", tenant, reservation, _reserved(order, reservation)
    )  # a late copy
    await world.publish(
        "stock",
        "released",
        tenant,
        reservation,
        {"reservation_id": str(reservation), "order_id": str(order.id), "reason": "expired", "lines": []},
    )
    marker_order = await _place(
        world, tenant, buyer
    )  # a later event on the same consumer, to know it caught up
    await world.publish(
        "stock",
        "reservation_failed",
        tenant,
        marker_order.id,
        {"order_id": str(marker_order.id), "reason": "INSUFFICIENT_STOCK", "lines": []},
    )
    await _state_is(world, tenant, marker_order.id, "reservation_failed")
    after = await _order(world, tenant, order.id)
    assert after.state == "confirmed" and await _transitions(world, tenant, order.id) == count


async def test_reservation_failed_is_final_with_reason(world: World) -> None:
    tenant, buyer = await _tenant(world)
    order = await _place(world, tenant, buyer)
    lines = [{"line_id": str(uuid.uuid4()), "sku_id": str(uuid.uuid4()), "requested": 3, "available": 1}]
    await world.publish(
        "stock",
        "reservation_failed",
        tenant,
        order.id,
        {"order_id": str(order.id), "reason": "INSUFFICIENT_STOCK", "lines": lines},
    )
    failed = await _state_is(world, tenant, order.id, "reservation_failed")
    assert failed.state_reason == "INSUFFICIENT_STOCK" and failed.failure == {
        "reason": "INSUFFICIENT_STOCK",
        "lines": lines,
    }
    # a reservation arriving afterwards changes nothing
    reservation = uuid.uuid4()
    await world.publish("stock", "reserved", tenant, reservation, _reserved(order, reservation))
    marker = await _place(world, tenant, buyer)
    await world.publish("stock", "reserved", tenant, reservation, _reserved(marker, uuid.uuid4()))
    await _state_is(world, tenant, marker.id, "reserved")
    assert (await _order(world, tenant, order.id)).state == "reservation_failed"


async def test_expiry_and_commit_failure_end_expired(world: World) -> None:
    tenant, buyer = await _tenant(world, pay_on_placement=False)
    first = await _place(world, tenant, buyer)
    reservation = uuid.uuid4()
    await world.publish("stock", "reserved", tenant, reservation, _reserved(first, reservation))
    reserved = await _state_is(world, tenant, first.id, "reserved")
    assert reserved.payment_approved_at is None  # the gate waits for finance
    await world.publish(
        "stock",
        "released",
        tenant,
        reservation,
        {"reservation_id": str(reservation), "order_id": str(first.id), "reason": "expired", "lines": []},
    )
    expired = await _state_is(world, tenant, first.id, "expired")
    assert expired.state_reason == "RESERVATION_EXPIRED"

    second = await _place(world, tenant, buyer)
    await world.publish(
        "stock",
        "commit_failed",
        tenant,
        second.id,
        {"reservation_id": None, "order_id": str(second.id), "reason": "RESERVATION_RELEASED"},
    )
    assert (await _state_is(world, tenant, second.id, "expired")).state_reason == "RESERVATION_RELEASED"


async def test_manual_payment_approval_when_the_gate_is_off(world: World) -> None:
    tenant, buyer = await _tenant(world, pay_on_placement=False)
    order = await _place(world, tenant, buyer)
    mutation = """mutation($i: OrderIdInput!) { orderApprovePayment(input: $i) {
      order { state paymentMethod } userErrors { code } } }"""
    early = await world.gql(
        mutation,
        {"i": {"orderId": str(order.id)}},
        org=buyer,
        tenant=tenant,
        scopes=("finance:write", "orders:read"),
    )
    assert early["orderApprovePayment"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]
    reservation = uuid.uuid4()
    await world.publish("stock", "reserved", tenant, reservation, _reserved(order, reservation))
    await _state_is(world, tenant, order.id, "reserved")
    sub = await world.js.subscribe(f"orders.{tenant}.payment_approved", ordered_consumer=True)
    try:
        data = await world.gql(
            mutation,
            {"i": {"orderId": str(order.id)}},
            org=buyer,
            tenant=tenant,
            scopes=("finance:write", "orders:read"),
        )
        assert data["orderApprovePayment"] == {
            "order": {"state": "RESERVED", "paymentMethod": "manual"},
            "userErrors": [],
        }
        event = orjson.loads((await sub.next_msg(timeout=15)).data)
    finally:
        await sub.unsubscribe()
    assert event["data"]["reservation_id"] == str(reservation) and event["data"]["method"] == "manual"
    again = await world.gql(
        mutation,
        {"i": {"orderId": str(order.id)}},
        org=buyer,
        tenant=tenant,
        scopes=("finance:write", "orders:read"),
    )
    assert again["orderApprovePayment"]["userErrors"] == [{"code": "ALREADY_APPROVED"}]


async def test_cancel_publishes_cancelled_and_invalid_transition_changes_nothing(world: World) -> None:
    tenant, buyer = await _tenant(world)
    order = await _place(world, tenant, buyer)
    advance = (
        "mutation($i: OrderAdvanceInput!) { orderAdvance(input: $i) { order { state } userErrors { code } } }"
    )
    wrong = await world.gql(
        advance, {"i": {"orderId": str(order.id), "to": "DELIVERED"}}, org=SELLER, tenant=tenant
    )
    assert wrong["orderAdvance"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]
    assert (await _order(world, tenant, order.id)).state == "placed"
    cancel = """mutation($i: OrderCancelInput!) { orderCancel(input: $i) {
      order { state stateReason } userErrors { code } } }"""
    sub = await world.js.subscribe(f"orders.{tenant}.cancelled", ordered_consumer=True)
    try:
        data = await world.gql(
            cancel, {"i": {"orderId": str(order.id), "reason": "duplicate"}}, org=buyer, tenant=tenant
        )
        assert data["orderCancel"] == {
            "order": {"state": "CANCELLED", "stateReason": "buyer: duplicate"},
            "userErrors": [],
        }
        event = orjson.loads((await sub.next_msg(timeout=15)).data)
    finally:
        await sub.unsubscribe()
    assert event["data"]["from"] == "placed" and event["data"]["to"] == "cancelled"
    twice = await world.gql(cancel, {"i": {"orderId": str(order.id)}}, org=buyer, tenant=tenant)
    assert twice["orderCancel"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]


async def test_accepted_quote_becomes_one_order_once(world: World) -> None:
    tenant, buyer = await _tenant(world)
    quote_id, sku = uuid.uuid4(), uuid.uuid4()
    data = {
        "quote_id": str(quote_id),
        "version": 1,
        "buyer_organization_id": str(buyer),
        "seller_organization_id": str(SELLER),
        "requested_by": str(uuid.uuid4()),
        "accepted_at": datetime.now(UTC).isoformat(),
        "currency": "EUR",
        "terms": "NET30",
        "valid_until": None,
        "total": "29.97",
        "lines": [{"sku_id": str(sku), "quantity": 3, "unit_price": "9.99", "line_total": "29.97"}],
    }
    event = await world.publish("pricing", "quote_accepted", tenant, quote_id, data)
    await world.publish("pricing", "quote_accepted", tenant, quote_id, data)  # another event, same quote

    async def purchase() -> Purchase | None:
        async with world.db.tenant_session(tenant) as session:
            return (
                await session.scalars(select(Purchase).where(Purchase.quote_id == quote_id))
            ).one_or_none()

    found = await wait_for(purchase)
    await world.republish(event)
    async with world.db.tenant_session(tenant) as session:
        orders = (await session.scalars(select(Order).where(Order.quote_id == quote_id))).all()
    assert len(orders) == 1 and orders[0].state == "placed" and orders[0].total == Decimal("29.97")
    assert found.total == Decimal("29.97") and orders[0].source == "quote"


RETURN_REQUEST = """mutation($i: ReturnRequestInput!) { returnRequest(input: $i) {
  orderReturn { id state lines { quantity reason } } userErrors { field code } } }"""
RETURN_MOVE = """mutation($i: ReturnMoveInput!) { returnMove(input: $i) {
  orderReturn { state } userErrors { code } } }"""


async def test_fulfilment_and_returns(world: World) -> None:
    from subgraphs.orders import states as st

    tenant, buyer = await _tenant(world)
    order = await _place(world, tenant, buyer)
    async with world.db.tenant_session(tenant) as session:
        row = await service.order_for_update(session, order.id)
        assert row is not None
        await service.transition(session, row, st.OrderState.RESERVED, actor="test")
        await service.transition(session, row, st.OrderState.CONFIRMED, actor="test")
        (line,) = await service.lines_of(session, order.id)
    early = await world.gql(
        RETURN_REQUEST,
        {
            "i": {
                "orderId": str(order.id),
                "lines": [{"orderLineId": str(line.id), "quantity": 1, "reason": "x"}],
            }
        },
        org=buyer,
        tenant=tenant,
    )
    assert early["returnRequest"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    advance = (
        "mutation($i: OrderAdvanceInput!) { orderAdvance(input: $i) { order { state } userErrors { code } } }"
    )
    for to in ("SHIPPED", "DELIVERED"):
        step = await world.gql(
            advance, {"i": {"orderId": str(order.id), "to": to}}, org=SELLER, tenant=tenant
        )
        assert step["orderAdvance"] == {"order": {"state": to}, "userErrors": []}
    by_buyer = await world.gql(
        advance, {"i": {"orderId": str(order.id), "to": "COMPLETED"}}, org=buyer, tenant=tenant
    )
    assert by_buyer["orderAdvance"]["userErrors"] == [{"code": "FORBIDDEN"}]
    too_many = await world.gql(
        RETURN_REQUEST,
        {
            "i": {
                "orderId": str(order.id),
                "lines": [{"orderLineId": str(line.id), "quantity": 4, "reason": "x"}],
            }
        },
        org=buyer,
        tenant=tenant,
    )
    assert too_many["returnRequest"]["userErrors"][0]["code"] == "INVALID_QUANTITY"
    made = await world.gql(
        RETURN_REQUEST,
        {
            "i": {
                "orderId": str(order.id),
                "lines": [{"orderLineId": str(line.id), "quantity": 2, "reason": "torn"}],
            }
        },
        org=buyer,
        tenant=tenant,
    )
    ret = made["returnRequest"]["orderReturn"]
    assert ret["state"] == "REQUESTED" and ret["lines"] == [{"quantity": 2, "reason": "torn"}]
    skip = await world.gql(
        RETURN_MOVE, {"i": {"returnId": ret["id"], "to": "RECEIVED"}}, org=SELLER, tenant=tenant
    )
    assert skip["returnMove"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]
    for to in ("APPROVED", "RECEIVED", "REFUND_REQUESTED"):
        moved = await world.gql(
            RETURN_MOVE, {"i": {"returnId": ret["id"], "to": to}}, org=SELLER, tenant=tenant
        )
        assert moved["returnMove"] == {"orderReturn": {"state": to}, "userErrors": []}


async def test_org_events_feed_the_projection_and_the_data_scope(world: World) -> None:
    from subgraphs.orders.models import OrgUnit

    tenant, parent = await _tenant(world)
    child = uuid.uuid4()
    await world.publish(
        "orgs",
        "organization_created",
        tenant,
        child,
        {"id": str(child), "kind": "BUYER", "name": "Plant", "parent_id": str(parent), "external_ref": None},
    )

    async def projected() -> OrgUnit | None:
        async with world.db.tenant_session(tenant) as session:
            return await session.get(OrgUnit, (tenant, child))

    unit = await wait_for(projected)
    assert unit.parent_id == parent and unit.kind == "BUYER"
    order = await _place(world, tenant, child)
    one = "query($id: ID!) { order(id: $id) { id buyer { id } } }"
    assert (await world.gql(one, {"id": str(order.id)}, org=parent, tenant=tenant))["order"]["buyer"][
        "id"
    ] == str(child)
    assert (await world.gql(one, {"id": str(order.id)}, org=uuid.uuid4(), tenant=tenant))["order"] is None


async def test_placed_event_carries_the_contract_delivery(world: World) -> None:
    tenant, buyer = await _tenant(world)
    line = service.NewLine(uuid.uuid4(), 2, Decimal("1.00"), Decimal("2.00"), SELLER)
    delivery = {
        "country": "DE",
        "region": "BY",
        "postal_code": "80331",
        "city": "Munich",
        "line1": "Marienplatz 1",
        "latitude": 48.137,
        "longitude": 11.575,
    }
    sub = await world.js.subscribe(f"orders.{tenant}.placed", ordered_consumer=True)
    try:
        async with world.db.tenant_session(tenant) as session:
            await service.create_purchase(
                session,
                tenant,
                service.Placement(buyer, None, "EUR", [line], delivery=delivery),
                actor="test",
            )
        event = orjson.loads((await sub.next_msg(timeout=15)).data)
    finally:
        await sub.unsubscribe()
    assert event["data"]["delivery"] == {k: v for k, v in delivery.items() if k != "line1"}
    assert event["subject_id"] == event["data"]["order_id"] and event["data"]["placed_by"] is None
