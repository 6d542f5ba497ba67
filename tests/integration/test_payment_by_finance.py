"""orders <-> stock <-> finance on the real JetStream: with the stand-in off, finance's decision
moves the order (credit authorized -> confirmed; a declined credit hold -> cancelled, stock
releases); with the stand-in on, finance's events change nothing. Checks the payload fields
each side reads of the other (orders.placed totals, lines, buyer, seller; finance's order id)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from nats.js.api import DeliverPolicy

from shared.events import EventEnvelope
from subgraphs.finance import credit
from subgraphs.finance.models import OrderRow
from subgraphs.orders import service as orders_service
from subgraphs.orders.states import OrderState
from subgraphs.orgs import seed as orgs_seed
from subgraphs.stock import seed as stock_seed
from tests.integration.conftest import TENANT, Saga, chicago_skus, eventually


async def _finance_order(saga: Saga, order_id: uuid.UUID) -> OrderRow | None:
    async with saga.db.tenant_session(TENANT) as session:
        return await session.get(OrderRow, (TENANT, order_id))


async def test_credit_terms_authorize_and_the_order_is_confirmed(saga: Saga) -> None:
    await saga.settings(finance_decides=True)
    (sku,) = chicago_skus(1)
    before = await saga.level(sku, stock_seed.CHICAGO_ID)
    sub = await saga.js.subscribe(
        f"orders.{TENANT}.placed", ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
    )
    try:
        order = await saga.place(orgs_seed.BUYER_ID, [(sku, 2, "12.50")])  # Northwind: NET 30, USD line
        while (placed := EventEnvelope.from_bytes((await sub.next_msg(timeout=20)).data)).subject_id != str(
            order.id
        ):
            pass
    finally:
        await sub.unsubscribe()
    # The contract's line fields, plus the prices (additions for finance's invoices).
    [line] = placed.data["lines"]
    assert (line["sku_id"], line["quantity"]) == (str(sku), 2) and uuid.UUID(line["line_id"])
    assert (Decimal(line["unit_price"]), Decimal(line["line_total"])) == (Decimal("12.50"), Decimal("25.00"))
    assert Decimal(placed.data["total"]) == Decimal("25.00") and placed.data["currency"] == "USD"
    confirmed = await saga.state_is(order.id, "confirmed")
    assert confirmed.payment_method == "credit" and confirmed.payment_approved_by is None

    row = await eventually(lambda: _finance_order(saga, order.id), what="finance knows the order")
    assert row.buyer_organization_id == orgs_seed.BUYER_ID
    assert row.seller_organization_id == orgs_seed.SUPPLIER_ID
    assert str(row.total) in ("25.00", "25.0000") and row.currency == "USD"
    assert [(li["sku_id"], li["quantity"]) for li in row.lines] == [(str(sku), 2)]

    async def invoiced() -> bool:
        found = await _finance_order(saga, order.id)
        return found is not None and found.status == "CONFIRMED"

    await eventually(invoiced, what="finance saw orders.confirmed")
    on_hand, reserved, committed = await saga.level(sku, stock_seed.CHICAGO_ID)
    assert (on_hand, reserved, committed) == (before[0], before[1], before[2] + 2)


async def test_a_declined_hold_cancels_the_order_and_stock_releases(saga: Saga) -> None:
    await saga.settings(finance_decides=True)
    (sku,) = chicago_skus(1, skip=1)
    before = await saga.level(sku, stock_seed.CHICAGO_ID)
    # Summit Mining: ON_FULFILMENT with a 5,000.00 USD line; 6,000.00 is over it.
    order = await saga.place(orgs_seed.BUYER3_ID, [(sku, 1, "6000.00")])
    await saga.state_is(order.id, "reserved")

    async def held() -> bool:
        found = await _finance_order(saga, order.id)
        return found is not None and found.status == "HELD"

    await eventually(held, what="finance holds the order")
    assert (await saga.order(order.id)).payment_approved_at is None  # waits for finance
    async with saga.db.tenant_session(TENANT) as session:
        await credit.decline_hold(session, order.id, orgs_seed.FINANCE_USER_ID, None)
    cancelled = await saga.state_is(order.id, "cancelled")
    assert cancelled.state_reason == "PAYMENT_DECLINED"

    async def released() -> bool:
        return await saga.level(sku, stock_seed.CHICAGO_ID) == before

    await eventually(released, what="stock released the reservation")
    rows = await saga.rows(
        "SELECT status, release_reason FROM stock.reservations WHERE order_id = :o", o=order.id
    )
    assert [(r.status, r.release_reason) for r in rows] == [("released", "cancelled")]


async def test_with_the_stand_in_on_finance_events_change_nothing(saga: Saga) -> None:
    await saga.settings(finance_decides=False)
    (sku,) = chicago_skus(1, skip=2)
    order = await saga.place(orgs_seed.BUYER_ID, [(sku, 1, "3.00")])
    confirmed = await saga.state_is(order.id, "confirmed")
    assert confirmed.payment_method == "on_placement"
    declined = EventEnvelope.new(
        "finance",
        "payment_declined",
        tenant_id=TENANT,
        subject_id=order.id,
        data={"order_id": str(order.id), "reason": "TEST"},
    )
    await saga.publish(declined)

    async def seen() -> bool:
        sql = "SELECT 1 FROM orders.processed_events WHERE consumer = 'orders-finance' AND event_id = :e"
        return bool(await saga.rows(sql, e=declined.id))

    await eventually(seen, what="orders processed the decline")
    assert (await saga.order(order.id)).state == "confirmed"


async def _exposure(saga: Saga) -> Decimal:
    async with saga.db.tenant_session(TENANT) as session:
        return await credit.exposure(session, orgs_seed.BUYER_ID, "USD")


async def test_cancelling_a_confirmed_order_releases_exposure_stock_and_parcels(saga: Saga) -> None:
    await saga.settings(finance_decides=True)
    (sku,) = chicago_skus(1, skip=3)
    stock_before = await saga.level(sku, stock_seed.CHICAGO_ID)
    exposure_before = await _exposure(saga)
    order = await saga.place(orgs_seed.BUYER_ID, [(sku, 4, "10.00")])
    await saga.state_is(order.id, "confirmed")

    async def invoiced() -> bool:
        rows = await saga.rows("SELECT status FROM finance.invoices WHERE order_id = :o", o=order.id)
        return [r.status for r in rows] == ["ISSUED"]

    await eventually(invoiced, what="invoice issued")
    assert await _exposure(saga) == exposure_before + Decimal("40.00")
    routed = await eventually(
        lambda: saga.rows("SELECT id FROM logistics.shipments WHERE order_id = :o", o=order.id),
        what="logistics created the parcel",
    )
    assert len(routed) == 1

    async with saga.db.tenant_session(TENANT) as session:
        locked = await orders_service.order_for_update(session, order.id)
        assert locked is not None
        await orders_service.transition(session, locked, OrderState.CANCELLED, actor="buyer", reason="buyer")

    async def closed() -> bool:
        rows = await saga.rows("SELECT status FROM finance.invoices WHERE order_id = :o", o=order.id)
        return [r.status for r in rows] == ["VOID"]

    await eventually(closed, what="finance voided the invoice")
    assert await _exposure(saga) == exposure_before

    async def released() -> bool:
        return await saga.level(sku, stock_seed.CHICAGO_ID) == stock_before

    await eventually(released, what="stock released the committed units")

    async def parcel_cancelled() -> bool:
        rows = await saga.rows("SELECT status FROM logistics.shipments WHERE order_id = :o", o=order.id)
        return [r.status for r in rows] == ["CANCELLED"]

    await eventually(parcel_cancelled, what="logistics cancelled the parcel")
