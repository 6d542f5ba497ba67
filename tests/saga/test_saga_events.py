"""Issue 10, "Done when" 3 and 4, and the cancel-before-placed race, on the process stack:

- a short reservation (orders' `reserve_for_seconds`) with the payment gate off is released by
  stock's clock and its order ends `expired`;
- every event of the streams replayed (the same `Nats-Msg-Id`; and as a redelivery, the same
  envelope under a new message id, past JetStream's duplicate window) changes nothing anywhere;
- stock reads `orders.placed` and `orders.cancelled` with separate consumers: a cancel that arrives
  first leaves a released placeholder, so the late `placed` reserves nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from bench.orders.stack import ProcessStack
from shared.events import EventEnvelope, ensure_stream
from subgraphs.orgs import seed as orgs
from tests.saga import helpers

pytestmark = [pytest.mark.saga, pytest.mark.slow]

TERMS = """mutation($org: ID!, $terms: PaymentTerms) {
  paymentTermsSet(input: {organizationId: $org, terms: $terms}) { userErrors { code message } } }"""
SETTINGS = """mutation($pay: Boolean!, $s: Int) {
  orderSettingsUpdate(input: {approvePaymentOnPlacement: $pay, reserveForSeconds: $s}) {
    approvePaymentOnPlacement reserveForSeconds } }"""


async def test_an_unpaid_reservation_expires_and_its_order_ends_expired(procs: ProcessStack) -> None:
    sku = await helpers.fresh_sku(procs, 10)
    admin = await procs.login("admin@acme-mro.example")
    token = await helpers.buyer_token(procs)
    # With the stand-in off, finance decides the payment: on Northwind's NET 30 credit it would
    # authorize at once. Prepaid terms leave the reservation unpaid until it expires.
    buyer = str(orgs.BUYER_ID)
    reply = await procs.query(TERMS, {"org": buyer, "terms": "PREPAID"}, token=admin)
    assert not reply.errors and not reply.data["paymentTermsSet"]["userErrors"], reply.body
    reply = await procs.query(SETTINGS, {"pay": False, "s": 3}, token=admin)
    assert not reply.errors, reply.body
    try:
        placed = (await helpers.place(procs, token, sku, 4))["data"]["placeOrder"]
        assert placed["userErrors"] == [], placed
        order_id = uuid.UUID(placed["orders"][0]["id"])
        deadline = time.monotonic() + 60
        seen: set[str] = set()
        rows: list[Any] = []
        while time.monotonic() < deadline:
            rows = await helpers.orders_of(procs, sku)
            seen.add(rows[0]["state"])
            if rows[0]["state"] == "reserved":
                book = await helpers.bookkeeping(procs, sku)
                assert book["by_status"].get("active", 0) + book["by_status"].get("released", 0) == 4
            if rows[0]["state"] in helpers.FINAL:
                break
            await asyncio.sleep(0.2)
    finally:
        await procs.query(SETTINGS, {"pay": True, "s": None}, token=admin)
        await procs.query(TERMS, {"org": buyer, "terms": "NET_30"}, token=admin)
    assert rows[0]["id"] == order_id and rows[0]["state"] == "expired", rows
    assert rows[0]["state_reason"] == "RESERVATION_EXPIRED"
    book = await helpers.bookkeeping(procs, sku)
    assert [(r["status"], r["quantity"]) for r in book["reservations"]] == [("released", 4)]
    helpers.assert_consistent(rows, book, on_hand=10)
    async with procs.db() as conn:
        reason = await conn.fetchval(
            "SELECT release_reason FROM stock.reservations WHERE order_id = $1", order_id
        )
    assert reason == "expired"


async def _snapshot(procs: ProcessStack) -> dict[str, Any]:
    """Everything the saga writes, tenant-wide."""
    async with procs.db() as conn:
        return {
            "orders": sorted(
                map(tuple, await conn.fetch("SELECT id, state, state_reason FROM orders.orders"))
            ),
            "transitions": await conn.fetchval("SELECT count(*) FROM orders.order_transitions"),
            "orders_outbox": await conn.fetchval("SELECT count(*) FROM orders.outbox"),
            "stock_outbox": await conn.fetchval("SELECT count(*) FROM stock.outbox"),
            "levels": sorted(
                map(
                    tuple,
                    await conn.fetch("SELECT id, on_hand, reserved, committed, version FROM stock.levels"),
                )
            ),
            "reservations": sorted(
                map(tuple, await conn.fetch("SELECT id, order_id, status FROM stock.reservations"))
            ),
            "movements": await conn.fetchval("SELECT count(*) FROM stock.movements"),
        }


async def _drained(js: JetStreamContext, streams: list[str], within: float = 60) -> None:
    """Wait until every durable consumer of these streams has acked everything."""
    deadline = time.monotonic() + within
    busy: list[Any] = []
    while time.monotonic() < deadline:
        busy = [
            (stream, info.name, info.num_pending, info.num_ack_pending)
            for stream in streams
            for info in await js.consumers_info(stream)
            if info.num_pending or info.num_ack_pending
        ]
        if not busy:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"consumers still busy: {busy}")


async def _stream_messages(js: JetStreamContext, stream: str) -> list[tuple[str, bytes, str]]:
    info = await js.stream_info(stream)
    out: list[tuple[str, bytes, str]] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except Exception:  # deleted / purged
            continue
        msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        out.append((msg.subject, msg.data or b"", msg_id))
    return out


async def test_replaying_every_event_changes_nothing(procs: ProcessStack) -> None:
    # Some history first: confirmed, failed and expired orders exist from the other tests; add a few.
    sku = await helpers.fresh_sku(procs, 2)
    token = await helpers.buyer_token(procs)
    for _ in range(3):
        await helpers.place(procs, token, sku)
    await helpers.wait_final(procs, sku, 3)
    nc = await nats.connect(procs.nats_url)
    try:
        js = nc.jetstream()
        streams = ["ORDERS", "STOCK"]
        everyone = [info.config.name for info in await js.streams_info()]
        await _drained(js, everyone)
        await asyncio.sleep(1.0)  # relays idle
        before = await _snapshot(procs)
        messages = [m for stream in streams for m in await _stream_messages(js, stream)]
        assert len(messages) > 20, len(messages)
        for subject, data, msg_id in messages:  # the same Nats-Msg-Id: deduplicated by the stream
            await js.publish(subject, data, headers={"Nats-Msg-Id": msg_id})
        for subject, data, _ in messages:  # a redelivery past the window: only the event id is the same
            await js.publish(subject, data, headers={"Nats-Msg-Id": f"replay-{uuid.uuid4()}"})
        await _drained(js, everyone)
        await asyncio.sleep(1.0)
        after = await _snapshot(procs)
    finally:
        await nc.close()
    assert after == before


async def test_cancel_before_placed_reserves_nothing(procs: ProcessStack) -> None:
    """Stock's separate consumers may see `orders.cancelled` before `orders.placed` (published in this
    order here on purpose): the placeholder released on cancel wins, the late `placed` holds nothing."""
    sku = await helpers.fresh_sku(procs, 5)
    tenant, order_id = orgs.DEMO_TENANT_ID, uuid.uuid4()
    cancelled = EventEnvelope.new(
        "orders",
        "cancelled",
        tenant_id=tenant,
        subject_id=order_id,
        data={
            "order_id": str(order_id),
            "from": "placed",
            "to": "cancelled",
            "reason": "buyer changed its mind",
            "actor": str(orgs.BUYER_USER_ID),
            "reservation_id": None,
        },
    )
    placed = EventEnvelope.new(
        "orders",
        "placed",
        tenant_id=tenant,
        subject_id=order_id,
        data={
            "order_id": str(order_id),
            "purchase_id": str(uuid.uuid4()),
            "number": "O-RACE-1",
            "buyer_organization_id": str(orgs.BUYER_ID),
            "seller_organization_id": str(orgs.SUPPLIER_ID),
            "placed_by": str(orgs.BUYER_USER_ID),
            "currency": "USD",
            "total": "10.00",
            "delivery": None,
            "lines": [{"line_id": str(uuid.uuid4()), "sku_id": str(sku), "quantity": 3}],
            "reserve_for_seconds": None,
        },
    )
    nc = await nats.connect(procs.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "orders")
        for event in (cancelled, placed):
            await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
        await _drained(js, ["ORDERS"])
        await asyncio.sleep(0.5)
    finally:
        await nc.close()
    book = await helpers.bookkeeping(procs, sku)
    assert book["reserved"] == 0 and book["committed"] == 0 and book["on_hand"] == 5, book
    assert all(r["status"] != "active" for r in book["reservations"]), book["reservations"]
    async with procs.db() as conn:
        rows = await conn.fetch(
            "SELECT status, release_reason FROM stock.reservations WHERE order_id = $1", order_id
        )
    assert [r["status"] for r in rows] == ["released"], rows
