"""Issue 10, "Done when" 1: 200 concurrent `placeOrder` calls through the gateway (stock and orders
as their own processes) for one SKU with 50 available: exactly 50 units end up held, never a
negative level, every other order ends `reservation_failed` with its reason, and the movement log
sums to the level. Also: `placeOrder(lines:)` itself (cart-less placement, same idempotency)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bench.orders.stack import ProcessStack
from tests.saga import helpers

pytestmark = [pytest.mark.saga, pytest.mark.slow]


async def test_200_concurrent_placements_for_50_units(procs: ProcessStack) -> None:
    sku = await helpers.fresh_sku(procs, 50)
    token = await helpers.buyer_token(procs)
    gate = asyncio.Semaphore(64)  # the client's connection pool; all 200 are in flight together

    async def one() -> object:
        async with gate:
            return await helpers.place(procs, token, sku)

    replies = await asyncio.gather(*(one() for _ in range(200)))
    failed = [r for r in replies if r.get("errors") or r["data"]["placeOrder"]["userErrors"]]
    assert not failed, failed[:3]
    assert all(len(r["data"]["placeOrder"]["orders"]) == 1 for r in replies)

    # Never negative, never over: sampled while the saga runs.
    rows = []
    for _ in range(600):
        book = await helpers.bookkeeping(procs, sku)
        assert 0 <= book["reserved"] + book["committed"] <= 50, book
        rows = await helpers.orders_of(procs, sku)
        if len(rows) == 200 and all(r["state"] in helpers.FINAL for r in rows):
            break
        await asyncio.sleep(0.2)
    states = {r["state"] for r in rows}
    assert states <= {"confirmed", "reservation_failed"}, states
    confirmed = [r for r in rows if r["state"] == "confirmed"]
    failures = [r for r in rows if r["state"] == "reservation_failed"]
    assert len(confirmed) == 50 and len(failures) == 150, (len(confirmed), len(failures))
    assert {r["state_reason"] for r in failures} == {"INSUFFICIENT_STOCK"}
    book = await helpers.bookkeeping(procs, sku)
    helpers.assert_consistent(rows, book, on_hand=50)
    assert book["committed"] == 50


async def test_place_with_lines_is_idempotent_and_checked(procs: ProcessStack) -> None:
    sku = await helpers.fresh_sku(procs, 10)
    token = await helpers.buyer_token(procs)
    key = f"saga-{uuid.uuid4()}"
    first = (await helpers.place(procs, token, sku, 2, key))["data"]["placeOrder"]
    again = (await helpers.place(procs, token, sku, 2, key))["data"]["placeOrder"]
    assert first["userErrors"] == [] and again["replayed"] is True
    assert [o["id"] for o in again["orders"]] == [o["id"] for o in first["orders"]]
    reused_body = await helpers.place(procs, token, sku, 3, key)
    assert reused_body.get("data"), reused_body
    reused = reused_body["data"]["placeOrder"]
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    zero = (await helpers.place(procs, token, sku, 0))["data"]["placeOrder"]
    assert [e["code"] for e in zero["userErrors"]] == ["INVALID_QUANTITY"]
    both = await procs.query(
        """mutation($sku: ID!) { placeOrder(input: {idempotencyKey: "x",
             cartId: "00000000-0000-0000-0000-000000000000", lines: [{skuId: $sku, quantity: 1}]}) {
             userErrors { code } } }""",
        {"sku": str(sku)},
        token=token,
    )
    assert [e["code"] for e in both.data["placeOrder"]["userErrors"]] == ["CART_OR_LINES"]
    unknown = (await helpers.place(procs, token, uuid.uuid4()))["data"]["placeOrder"]
    assert unknown["userErrors"] and not unknown["orders"], unknown
    rows = await helpers.wait_final(procs, sku, 1)
    assert [r["state"] for r in rows] == ["confirmed"], rows
    helpers.assert_consistent(rows, await helpers.bookkeeping(procs, sku), on_hand=10)
