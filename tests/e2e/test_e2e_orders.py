"""Issue 10's buying flow through the gateway, on the real stack (every subgraph in-process, the real
saga over JetStream): search -> cart -> checkout preview -> placeOrder -> approval by the right role
(Northwind: over 5,000 USD needs `approver`) -> stock reserves -> payment on placement -> stock
commits -> `confirmed`; availability and the seller's levels follow. A buyer of another business
unit and a buyer of another tenant see none of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

from subgraphs.orgs import seed as orgs
from tests.e2e.conftest import OTHER_TENANT_SLUG, Stack

SEARCH = """query($q: String!) { searchProducts(query: $q, first: 5) { edges { node {
  name skus { id code price(quantity: 30) { unitPrice { amount currency } userErrors { code } } } } } } }"""
STOCK = """query($id: ID!) { sku(id: $id) { id availability { available status }
  stockLevels { onHand reserved committed available location { code } } } }"""
AVAILABILITY = """query($id: ID!) { sku(id: $id) { id availability { available status } } }"""
ADD = """mutation($sku: ID!, $q: Int!) { cartLineAdd(input: {skuId: $sku, quantity: $q}) {
  cart { id lines { quantity sku { id } } } userErrors { field code message } } }"""
PREVIEW = """{ checkoutPreview { currency total { amount currency } sellers
  lines { quantity lineTotal { amount } } userErrors { field code } } }"""
PLACE = """mutation($cart: ID!, $key: String!) { placeOrder(input: {cartId: $cart, idempotencyKey: $key}) {
  replayed purchase { id } orders { id state total { amount } currentApprovalRole }
  userErrors { field code message } } }"""
DECIDE = """mutation($id: ID!) { orderApprove(input: {orderId: $id, comment: "ok for the plant"}) {
  order { id state } userErrors { field code message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id state stateReason reservationId
  transitions { fromState toState } lines { quantity sku { id } } } }"""
LISTS = """query($p: ID!) { orders(first: 100) { totalCount edges { node { id } } }
  purchases(first: 100) { totalCount edges { node { id } } } purchase(id: $p) { id orders { id } } }"""


def _ok(reply: Any, *path: str) -> Any:
    assert reply.status == 200 and not reply.errors, reply.body
    value = reply.data
    for key in path:
        value = value[key]
    return value


async def _wait_state(e2e: Stack, token: str, order_id: str, wanted: str) -> Any:
    deadline = time.monotonic() + 60
    while True:
        order = _ok(await e2e.query(ORDER, {"id": order_id}, token=token), "order")
        if order["state"] == wanted or time.monotonic() > deadline:
            return order
        await asyncio.sleep(0.25)


async def test_search_cart_place_approve_confirm_and_nobody_else_sees_it(e2e: Stack) -> None:
    buyer = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_ID)
    approver = await e2e.login("abe@northwind.example", organization_id=orgs.BUYER_ID)
    lead = await e2e.login("nora@northwind.example", organization_id=orgs.BUYER_ID)
    seller = await e2e.login("sam@bolt-industrial.example")

    # Search: the buyer's catalog shows a priced cordless drill.
    products = _ok(await e2e.query(SEARCH, {"q": "cordless drill"}, token=buyer), "searchProducts", "edges")
    skus = [s for p in products for s in p["node"]["skus"] if s["price"] and not s["price"]["userErrors"]]
    assert skus, products
    sku = skus[0]["id"]
    before = _ok(await e2e.query(STOCK, {"id": sku}, token=seller), "sku")
    assert before["availability"]["available"] >= 30, before
    committed_before = sum(level["committed"] for level in before["stockLevels"])

    # Cart and price: 30 drills, over Northwind's 5,000 USD approval threshold.
    cart = _ok(await e2e.query(ADD, {"sku": sku, "q": 30}, token=buyer), "cartLineAdd")
    assert cart["userErrors"] == [], cart
    preview = _ok(await e2e.query(PREVIEW, token=buyer), "checkoutPreview")
    assert preview["userErrors"] == [] and preview["currency"] == "USD" and preview["sellers"] == 1
    assert Decimal(preview["total"]["amount"]) > 5000, preview

    key = f"e2e-{uuid.uuid4()}"
    placed = _ok(await e2e.query(PLACE, {"cart": cart["cart"]["id"], "key": key}, token=buyer), "placeOrder")
    assert placed["userErrors"] == [] and placed["replayed"] is False, placed
    (order,) = placed["orders"]
    assert order["state"] == "PENDING_APPROVAL" and order["currentApprovalRole"] == "approver"
    assert Decimal(order["total"]["amount"]) == Decimal(preview["total"]["amount"])
    again = _ok(await e2e.query(PLACE, {"cart": cart["cart"]["id"], "key": key}, token=buyer), "placeOrder")
    assert again["replayed"] is True and [o["id"] for o in again["orders"]] == [order["id"]]

    # Approval: the buyer has no approving scope at all; the buyer admin has the scope but not the
    # tier's role; the approver decides. Nothing is reserved before that.
    refused = await e2e.query(DECIDE, {"id": order["id"]}, token=buyer)
    assert refused.errors and not (refused.data or {}).get("orderApprove"), refused.body
    wrong = _ok(await e2e.query(DECIDE, {"id": order["id"]}, token=lead), "orderApprove")
    assert [e["code"] for e in wrong["userErrors"]] == ["WRONG_APPROVER_ROLE"], wrong
    pending = _ok(await e2e.query(ORDER, {"id": order["id"]}, token=buyer), "order")
    assert pending["state"] == "PENDING_APPROVAL" and pending["reservationId"] is None
    approved = _ok(await e2e.query(DECIDE, {"id": order["id"]}, token=approver), "orderApprove")
    assert approved["userErrors"] == [] and approved["order"]["state"] == "PLACED", approved

    # The saga over JetStream: reserved -> payment on placement -> committed -> confirmed.
    final = await _wait_state(e2e, buyer, order["id"], "CONFIRMED")
    assert final["state"] == "CONFIRMED", final
    steps = [(str(t["fromState"]).upper(), t["toState"].upper()) for t in final["transitions"]]
    assert steps[-3:] == [
        ("PENDING_APPROVAL", "PLACED"),
        ("PLACED", "RESERVED"),
        ("RESERVED", "CONFIRMED"),
    ], steps
    after = _ok(await e2e.query(STOCK, {"id": sku}, token=seller), "sku")
    assert after["availability"]["available"] == before["availability"]["available"] - 30, (before, after)
    assert sum(level["committed"] for level in after["stockLevels"]) == committed_before + 30
    assert sum(level["onHand"] for level in after["stockLevels"]) == sum(
        level["onHand"] for level in before["stockLevels"]
    )
    seen = _ok(await e2e.query(AVAILABILITY, {"id": sku}, token=buyer), "sku")
    assert seen["availability"]["available"] == after["availability"]["available"]

    purchase_id = placed["purchase"]["id"]
    mine = _ok(await e2e.query(LISTS, {"p": purchase_id}, token=buyer))
    assert order["id"] in {e["node"]["id"] for e in mine["orders"]["edges"]}
    assert mine["purchase"]["orders"] == [{"id": order["id"]}]

    # Another business unit (Plant 2, below Northwind) and another tenant see none of it.
    plant2 = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_PLANT_ID)
    globex = await e2e.login("admin@globex.example", OTHER_TENANT_SLUG)
    for outsider in (plant2, globex):
        reply = await e2e.query(ORDER, {"id": order["id"]}, token=outsider)
        assert reply.status == 200 and (reply.data or {}).get("order") is None, reply.body
        lists = await e2e.query(LISTS, {"p": purchase_id}, token=outsider)
        assert lists.status == 200, lists.body
        data = lists.data or {}
        if data.get("orders") is not None:
            assert order["id"] not in {e["node"]["id"] for e in data["orders"]["edges"]}
        if data.get("purchases") is not None:
            assert purchase_id not in {e["node"]["id"] for e in data["purchases"]["edges"]}
        assert data.get("purchase") is None
        assert order["id"] not in str(lists.body) and purchase_id not in str(reply.body)
        queue = await e2e.query("{ approvalQueue(first: 50) { edges { node { id } } } }", token=outsider)
        assert order["id"] not in str(queue.body)
    # Globex asking for the Acme SKU (its availability and levels are references into stock): nothing.
    other = await e2e.query(STOCK, {"id": sku}, token=globex)
    assert other.status == 200 and (other.data or {}).get("sku") is None, other.body
