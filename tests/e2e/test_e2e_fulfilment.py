"""Fulfilment through the real stack: the demo buyer places an order through the gateway, stock
splits it over Bolt's Chicago and Dallas warehouses, logistics routes two parcels, the seller
labels and dispatches them through the gateway, the carrier's signed tracking and the buyer's
confirmation deliver them; the order's state follows (partially_shipped after the first parcel,
shipped, delivered) and stock's committed quantity is consumed exactly."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
import orjson

from subgraphs.catalog.demo_ids import sku_id
from subgraphs.logistics import webhooks
from subgraphs.orgs import seed as orgs
from subgraphs.stock import seed as stock_seed
from tests.e2e.conftest import OTHER_TENANT_SLUG, Stack

SKU = sku_id("ABR-FLP-ALU-PL-AX-125-G60")  # Bolt's; seeded in Chicago and Dallas, not at the hub
LEVELS = """query($s: ID!) { sku(id: $s) { stockLevels { location { id } onHand reserved committed
  available } } }"""
ADD = (
    """mutation($i: CartLineAddInput!) { cartLineAdd(input: $i) { cart { id } userErrors { field code } } }"""
)
PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  orders { id state seller { id } } userErrors { field code message } } }"""
ORDER = """query($o: ID!) { order(id: $o) { id state shipments { id status locationId trackingNumber
  carrier { id code } lines { quantity } } } }"""
ACT = """mutation($id: ID!) { %s(input: {shipmentId: $id}) {
  shipment { id status trackingNumber } userErrors { field code message } } }"""


def _ok(reply: Any, *path: str) -> Any:
    assert reply.status == 200 and not reply.errors, reply.body
    value = reply.data
    for key in path:
        value = value[key]
    return value


async def _levels(e2e: Stack, token: str) -> dict[str, dict[str, int]]:
    found = _ok(await e2e.query(LEVELS, {"s": str(SKU)}, token=token), "sku", "stockLevels")
    return {lv["location"]["id"]: lv for lv in found}


async def _until(probe: Any, ok: Any, what: str, within: float = 40.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {within}s; last {value!r}")
        await asyncio.sleep(0.2)


async def _state(e2e: Stack, token: str, order_id: str, state: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return dict(_ok(await e2e.query(ORDER, {"o": order_id}, token=token), "order"))

    return dict(await _until(probe, lambda o: o["state"] == state, f"order {state}"))


async def _deliver_by_carrier(e2e: Stack, parcel: dict[str, Any]) -> None:
    base = e2e.subgraph_urls["logistics"].removesuffix("/graphql")
    secret = f"demo-webhook-secret-{parcel['carrier']['code'].lower()}"
    body = orjson.dumps(
        {
            "event_id": uuid.uuid4().hex,
            "tracking_number": parcel["trackingNumber"],
            "status": "DELIVERED",
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }
    )
    ts = str(int(time.time()))
    headers = {
        "content-type": "application/json",
        webhooks.TIMESTAMP_HEADER: ts,
        webhooks.SIGNATURE_HEADER: webhooks.sign(secret, ts, body),
    }
    url = f"{base}/webhooks/carriers/{orgs.DEMO_TENANT_ID}/{parcel['carrier']['id']}"
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()


async def test_a_placed_order_ships_in_two_parcels_and_the_order_follows(e2e: Stack) -> None:
    seller = await e2e.login("sam@bolt-industrial.example")
    buyer = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_ID)
    chicago, dallas = str(stock_seed.CHICAGO_ID), str(stock_seed.DALLAS_ID)
    before = await _levels(e2e, seller)
    from_chicago, from_dallas = before[chicago]["available"], 5
    assert from_chicago > 0 and before[dallas]["available"] >= from_dallas, before

    added = _ok(
        await e2e.query(ADD, {"i": {"skuId": str(SKU), "quantity": from_chicago + from_dallas}}, token=buyer),
        "cartLineAdd",
    )
    assert added["userErrors"] == [], added
    placed = _ok(
        await e2e.query(
            PLACE,
            {
                "i": {
                    "cartId": added["cart"]["id"],
                    "idempotencyKey": f"e2e-fulfilment-{uuid.uuid4()}",
                    "deliveryAddress": {"country": "US", "city": "Detroit", "postalCode": "48201"},
                }
            },
            token=buyer,
        ),
        "placeOrder",
    )
    assert placed["userErrors"] == [] and len(placed["orders"]) == 1, placed
    order_id = placed["orders"][0]["id"]
    assert placed["orders"][0]["seller"]["id"] == str(orgs.SUPPLIER_ID)

    order = await _state(e2e, buyer, order_id, "CONFIRMED")
    committed = await _levels(e2e, seller)
    assert committed[chicago]["committed"] == before[chicago]["committed"] + from_chicago
    assert committed[dallas]["committed"] == before[dallas]["committed"] + from_dallas

    async def routed() -> dict[str, Any]:
        return dict(_ok(await e2e.query(ORDER, {"o": order_id}, token=seller), "order"))

    order = await _until(routed, lambda o: len(o["shipments"]) == 2, "two parcels")
    parcels = {p["locationId"]: p for p in order["shipments"]}
    assert set(parcels) == {chicago, dallas}, parcels
    assert [li["quantity"] for li in parcels[chicago]["lines"]] == [from_chicago]
    assert [li["quantity"] for li in parcels[dallas]["lines"]] == [from_dallas]

    for index, location in enumerate((chicago, dallas)):
        parcel = parcels[location]
        labelled = _ok(
            await e2e.query(ACT % "shipmentCreateLabel", {"id": parcel["id"]}, token=seller),
            "shipmentCreateLabel",
        )
        assert labelled["userErrors"] == [] and labelled["shipment"]["status"] == "LABELLED"
        dispatched = _ok(
            await e2e.query(ACT % "shipmentDispatch", {"id": parcel["id"]}, token=seller), "shipmentDispatch"
        )
        assert dispatched["userErrors"] == [] and dispatched["shipment"]["status"] == "DISPATCHED"
        await _state(e2e, buyer, order_id, "PARTIALLY_SHIPPED" if index == 0 else "SHIPPED")

    # The shipped units left both warehouses: on hand and committed down by exactly those.
    def consumed(levels: dict[str, dict[str, int]]) -> bool:
        return all(
            levels[loc]["onHand"] == before[loc]["onHand"] - qty
            and levels[loc]["committed"] == before[loc]["committed"]
            and levels[loc]["reserved"] == before[loc]["reserved"]
            for loc, qty in ((chicago, from_chicago), (dallas, from_dallas))
        )

    await _until(lambda: _levels(e2e, seller), consumed, "stock consumed the shipped units")

    order = _ok(await e2e.query(ORDER, {"o": order_id}, token=seller), "order")
    parcels = {p["locationId"]: p for p in order["shipments"]}
    await _deliver_by_carrier(e2e, parcels[chicago])
    confirmed = _ok(
        await e2e.query(ACT % "shipmentConfirmDelivery", {"id": parcels[dallas]["id"]}, token=buyer),
        "shipmentConfirmDelivery",
    )
    assert confirmed["userErrors"] == [] and confirmed["shipment"]["status"] == "DELIVERED"
    final = await _state(e2e, buyer, order_id, "DELIVERED")
    assert {p["status"] for p in final["shipments"]} == {"DELIVERED"}
    assert consumed(await _levels(e2e, seller))  # delivery moves no stock

    globex = await e2e.login("admin@globex.example", OTHER_TENANT_SLUG)
    assert _ok(await e2e.query(ORDER, {"o": order_id}, token=globex), "order") is None
