"""The invoice and the settlement follow delivery, through the real stack: Northwind on
ON_FULFILMENT terms places an order through the gateway; finance authorizes it and issues no
invoice yet; the seller labels and dispatches the parcel, the carrier's signed webhook delivers
it (logistics -> orders `delivered`); finance then issues the invoice and starts the settlement
clock (the tenant's delay, shortened to a few seconds); the finance process's own background
sweeper (every second in the e2e stack) settles it when due: the supplier's payable is credited
its share and paid out, nothing run by the test. Globex sees none of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from subgraphs.catalog.demo_ids import sku_id
from subgraphs.logistics import webhooks
from subgraphs.orgs import seed as orgs
from tests.e2e.conftest import OTHER_TENANT_SLUG, Stack

DELAY = 5  # seconds from delivery to settlement (7 days outside tests)
SKU = sku_id("GLV-NIT3-BL-DX-M")  # Bolt's; a small order ships in one parcel from Chicago
ADD = (
    """mutation($i: CartLineAddInput!) { cartLineAdd(input: $i) { cart { id } userErrors { field code } } }"""
)
PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  orders { id state total { amount currency } } userErrors { field code message } } }"""
ORDER = """query($o: ID!) { order(id: $o) { id state paymentMethod
  shipments { id status trackingNumber deliveredAt carrier { id code } } } }"""
SETTINGS = """mutation($i: OrderSettingsInput!) { orderSettingsUpdate(input: $i) {
  approvePaymentOnPlacement } }"""
SET_DELAY = (
    """mutation($s: Int!) { settlementDelaySet(input: {seconds: $s}) { seconds userErrors { code } } }"""
)
TERMS = """mutation($o: ID!, $t: PaymentTerms) { paymentTermsSet(input: {organizationId: $o, terms: $t}) {
  creditAccount { terms } userErrors { code message } } }"""
INVOICES = """query($o: ID!) { invoices(orderId: $o) { edges { node { id status terms issuedAt dueAt
  total { amount currency } outstanding { amount } } } } }"""
SETTLEMENT = """query($o: ID!) { settlement(orderId: $o) { status dueAt settledAt amount { amount currency }
  payouts { partyKind partyId amount { amount } status } } }"""
JOURNAL = """query($o: ID!) { journalEntries(orderId: $o) { edges { node { kind
  lines { accountKind partyId debit { amount } credit { amount } } } } } }"""
ACT = """mutation($id: ID!) { %s(input: {shipmentId: $id}) {
  shipment { id status } userErrors { field code message } } }"""


def _ok(reply: Any, *path: str) -> Any:
    assert reply.status == 200 and not reply.errors, reply.body
    value = reply.data
    for key in path:
        value = value[key]
    return value


async def _until(probe: Any, ok: Any, what: str, within: float = 45.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {within}s; last {value!r}")
        await asyncio.sleep(0.2)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _carrier_delivers(e2e: Stack, parcel: dict[str, Any]) -> None:
    """The carrier's signed tracking webhook, as the demo sandbox carrier would send it."""
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


async def test_invoice_and_settlement_follow_the_carriers_delivery(e2e: Stack) -> None:
    admin = await e2e.login("admin@acme-mro.example")
    seller = await e2e.login("sam@bolt-industrial.example")
    buyer = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_ID)
    assert (
        _ok(await e2e.query(SET_DELAY, {"s": DELAY}, token=admin), "settlementDelaySet")["userErrors"] == []
    )
    switched = await e2e.query(SETTINGS, {"i": {"approvePaymentOnPlacement": False}}, token=admin)
    assert _ok(switched, "orderSettingsUpdate") == {"approvePaymentOnPlacement": False}
    terms = await e2e.query(TERMS, {"o": str(orgs.BUYER_ID), "t": "ON_FULFILMENT"}, token=admin)
    assert _ok(terms, "paymentTermsSet")["userErrors"] == []
    try:
        await _flow(e2e, admin, seller, buyer)
    finally:
        await e2e.query(TERMS, {"o": str(orgs.BUYER_ID), "t": "NET_30"}, token=admin)
        restored = await e2e.query(SETTINGS, {"i": {"approvePaymentOnPlacement": True}}, token=admin)
        assert _ok(restored, "orderSettingsUpdate") == {"approvePaymentOnPlacement": True}
        await e2e.query(SET_DELAY, {"s": 7 * 24 * 3600}, token=admin)


async def _flow(e2e: Stack, admin: str, seller: str, buyer: str) -> None:
    async def order(token: str) -> dict[str, Any]:
        return dict(_ok(await e2e.query(ORDER, {"o": order_id}, token=token), "order"))

    async def invoice() -> dict[str, Any] | None:
        edges = _ok(await e2e.query(INVOICES, {"o": order_id}, token=admin), "invoices", "edges")
        return dict(edges[0]["node"]) if edges else None

    async def settlement() -> dict[str, Any] | None:
        found = _ok(await e2e.query(SETTLEMENT, {"o": order_id}, token=admin), "settlement")
        return dict(found) if found else None

    added = _ok(await e2e.query(ADD, {"i": {"skuId": str(SKU), "quantity": 2}}, token=buyer), "cartLineAdd")
    assert added["userErrors"] == [], added
    placed = _ok(
        await e2e.query(
            PLACE,
            {"i": {"cartId": added["cart"]["id"], "idempotencyKey": f"e2e-settle-{uuid.uuid4()}"}},
            token=buyer,
        ),
        "placeOrder",
    )
    assert placed["userErrors"] == [] and len(placed["orders"]) == 1, placed
    order_id, total = placed["orders"][0]["id"], Decimal(placed["orders"][0]["total"]["amount"])

    # Finance authorized on fulfilment terms; no invoice before delivery, no settlement clock.
    confirmed = await _until(lambda: order(buyer), lambda o: o["state"] == "CONFIRMED", "confirmed")
    assert confirmed["paymentMethod"] == "on_fulfilment", confirmed
    routed = await _until(lambda: order(seller), lambda o: len(o["shipments"]) == 1, "routed")
    parcel = routed["shipments"][0]
    for step in ("shipmentCreateLabel", "shipmentDispatch"):
        assert _ok(await e2e.query(ACT % step, {"id": parcel["id"]}, token=seller), step)["userErrors"] == []
    await _until(lambda: order(buyer), lambda o: o["state"] == "SHIPPED", "shipped")
    assert await invoice() is None and await settlement() is None

    # The carrier delivers: logistics -> orders delivered -> finance invoices and starts the clock.
    parcel = (await order(seller))["shipments"][0]
    await _carrier_delivers(e2e, parcel)
    delivered = await _until(lambda: order(buyer), lambda o: o["state"] == "DELIVERED", "delivered")
    delivered_at = _at(delivered["shipments"][0]["deliveredAt"])
    issued = await _until(invoice, bool, "invoice issued on delivery")
    assert issued["terms"] == "ON_FULFILMENT" and issued["status"] in ("ISSUED", "OVERDUE"), issued
    assert Decimal(issued["total"]["amount"]) == total
    assert _at(issued["issuedAt"]) >= delivered_at
    clock = await _until(settlement, bool, "settlement scheduled")
    due = _at(clock["dueAt"])
    # Due the delay after finance saw the delivery (the event's trip adds a little; generous slack).
    assert delivered_at + timedelta(seconds=DELAY) <= due + timedelta(seconds=1)
    assert due <= delivered_at + timedelta(seconds=DELAY + 60)
    if clock["status"] == "SCHEDULED":
        assert clock["settledAt"] is None and clock["payouts"] == []

    # Nothing else is run here: the finance process's sweeper books it once due.
    done = await _until(settlement, lambda s: s and s["status"] == "SETTLED", "settled by the sweeper", 60)
    assert _at(done["settledAt"]) >= due
    assert Decimal(done["amount"]["amount"]) == total
    supplier = [p for p in done["payouts"] if p["partyId"] == str(orgs.SUPPLIER_ID)]
    assert len(supplier) == 1 and supplier[0]["status"] == "PAID", done
    share = Decimal(supplier[0]["amount"]["amount"])
    assert abs(share - total * Decimal("0.60")) <= Decimal("0.01")  # the supplier's 60 %

    # In the ledger: the settlement credits the supplier's payable its share, the payout pays it.
    entries = [
        e["node"]
        for e in _ok(await e2e.query(JOURNAL, {"o": order_id}, token=admin), "journalEntries", "edges")
    ]
    assert [e["kind"] for e in entries][:2] == ["INVOICE_ISSUED", "SETTLEMENT"], entries
    payable = [
        (e["kind"], Decimal(li["debit"]["amount"]) - Decimal(li["credit"]["amount"]))
        for e in entries
        for li in e["lines"]
        if li["accountKind"] == "SUPPLIER_PAYABLE" and li["partyId"] == str(orgs.SUPPLIER_ID)
    ]
    assert sorted(payable) == [("PAYOUT", share), ("SETTLEMENT", -share)], payable
    for e in entries:  # every entry balances
        debits = sum(Decimal(li["debit"]["amount"]) for li in e["lines"])
        assert debits == sum(Decimal(li["credit"]["amount"]) for li in e["lines"]), e
    # Selling on terms: the invoice is still owed after the parties are paid.
    still = await invoice()
    assert still is not None and Decimal(still["outstanding"]["amount"]) == total

    globex = await e2e.login("admin@globex.example", OTHER_TENANT_SLUG)
    assert _ok(await e2e.query(INVOICES, {"o": order_id}, token=globex), "invoices", "edges") == []
    assert _ok(await e2e.query(SETTLEMENT, {"o": order_id}, token=globex), "settlement") is None
    assert _ok(await e2e.query(ORDER, {"o": order_id}, token=globex), "order") is None
