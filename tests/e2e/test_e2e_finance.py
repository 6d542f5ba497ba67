"""Finance through the real stack: with the tenant's stand-in off (finance decides), the demo
buyer (Northwind, NET 30 with a USD credit line) places an order through the gateway -> finance
authorizes on credit -> confirmed -> invoice issued -> shipped and delivered -> paid by bank
transfer -> settled after a shortened delay -> payouts in the ledger. Globex sees none of it.

The settlement sweep is run once here (`subgraphs.finance.sweeper.sweep_once`, what the finance
process runs every `B2B_FINANCE_SWEEP_INTERVAL` seconds) instead of waiting for its next turn."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from typing import Any

from shared.db import Database, app_database_url
from shared.settings import get_settings
from subgraphs.catalog.demo_ids import sku_id
from subgraphs.finance import sweeper
from subgraphs.orgs import seed as orgs
from tests.e2e.conftest import OTHER_TENANT_SLUG, Stack

SKU = sku_id("GLV-NIT3-BL-DX-M")  # Bolt's; in Chicago and Dallas: a small order ships from Chicago
ADD = (
    """mutation($i: CartLineAddInput!) { cartLineAdd(input: $i) { cart { id } userErrors { field code } } }"""
)
PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  orders { id state total { amount currency } } userErrors { field code message } } }"""
ORDER = """query($o: ID!) { order(id: $o) { id state paymentMethod
  shipments { id status } } }"""
SETTINGS = """mutation($i: OrderSettingsInput!) { orderSettingsUpdate(input: $i) {
  approvePaymentOnPlacement } }"""
DELAY = """mutation($s: Int!) { settlementDelaySet(input: {seconds: $s}) { seconds userErrors { code } } }"""
INVOICES = """query($o: ID!) { invoices(orderId: $o) { edges { node { id number status terms
  total { amount currency } paid { amount } outstanding { amount } } } } }"""
PAY = """mutation($i: BankTransferRecordInput!) { bankTransferRecord(input: $i) {
  payment { id amount { amount currency } } replayed userErrors { field code message } } }"""
SETTLEMENT = """query($o: ID!) { settlement(orderId: $o) { status amount { amount currency }
  payouts { partyKind partyId amount { amount } status } } }"""
JOURNAL = """query($o: ID!) { journalEntries(orderId: $o) { edges { node { kind } } } }"""
ACT = """mutation($id: ID!) { %s(input: {shipmentId: $id}) {
  shipment { id status } userErrors { field code message } } }"""


def _ok(reply: Any, *path: str) -> Any:
    assert reply.status == 200 and not reply.errors, reply.body
    value = reply.data
    for key in path:
        value = value[key]
    return value


async def _until(probe: Any, ok: Any, what: str, within: float = 40.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {within}s; last {value!r}")
        await asyncio.sleep(0.2)


async def _order(e2e: Stack, token: str, order_id: str) -> dict[str, Any]:
    return dict(_ok(await e2e.query(ORDER, {"o": order_id}, token=token), "order"))


async def _invoice(e2e: Stack, token: str, order_id: str) -> dict[str, Any] | None:
    edges = _ok(await e2e.query(INVOICES, {"o": order_id}, token=token), "invoices", "edges")
    return dict(edges[0]["node"]) if edges else None


async def test_net_30_order_is_invoiced_paid_and_settled(e2e: Stack) -> None:
    admin = await e2e.login("admin@acme-mro.example")
    seller = await e2e.login("sam@bolt-industrial.example")
    buyer = await e2e.login("bea@northwind.example", organization_id=orgs.BUYER_ID)
    assert _ok(await e2e.query(DELAY, {"s": 2}, token=admin), "settlementDelaySet")["userErrors"] == []
    switched = await e2e.query(SETTINGS, {"i": {"approvePaymentOnPlacement": False}}, token=admin)
    assert _ok(switched, "orderSettingsUpdate") == {"approvePaymentOnPlacement": False}
    try:
        await _flow(e2e, admin, seller, buyer)
    finally:
        restored = await e2e.query(SETTINGS, {"i": {"approvePaymentOnPlacement": True}}, token=admin)
        assert _ok(restored, "orderSettingsUpdate") == {"approvePaymentOnPlacement": True}
        await e2e.query(DELAY, {"s": 7 * 24 * 3600}, token=admin)


async def _flow(e2e: Stack, admin: str, seller: str, buyer: str) -> None:
    added = _ok(await e2e.query(ADD, {"i": {"skuId": str(SKU), "quantity": 3}}, token=buyer), "cartLineAdd")
    assert added["userErrors"] == [], added
    placed = _ok(
        await e2e.query(
            PLACE,
            {"i": {"cartId": added["cart"]["id"], "idempotencyKey": f"e2e-finance-{uuid.uuid4()}"}},
            token=buyer,
        ),
        "placeOrder",
    )
    assert placed["userErrors"] == [] and len(placed["orders"]) == 1, placed
    order_id, total = placed["orders"][0]["id"], placed["orders"][0]["total"]
    assert total["currency"] == "USD"

    # Finance decided (credit within the line), not the stand-in.
    order = await _until(
        lambda: _order(e2e, buyer, order_id), lambda o: o["state"] == "CONFIRMED", "confirmed"
    )
    assert order["paymentMethod"] == "credit", order
    invoice = await _until(lambda: _invoice(e2e, admin, order_id), bool, "invoice issued")
    assert invoice["status"] == "ISSUED" and invoice["terms"] == "NET_30", invoice
    assert Decimal(invoice["total"]["amount"]) == Decimal(total["amount"])
    buyer_finance = await e2e.login("fin@northwind.example", organization_id=orgs.BUYER_ID)
    assert await _invoice(e2e, buyer_finance, order_id) == invoice  # the buyer's finance sees it

    # Ship and deliver (one parcel from Chicago).
    order = await _until(lambda: _order(e2e, seller, order_id), lambda o: len(o["shipments"]) == 1, "routed")
    parcel = order["shipments"][0]["id"]
    for step in ("shipmentCreateLabel", "shipmentDispatch"):
        assert _ok(await e2e.query(ACT % step, {"id": parcel}, token=seller), step)["userErrors"] == []
    delivered = _ok(
        await e2e.query(ACT % "shipmentConfirmDelivery", {"id": parcel}, token=buyer),
        "shipmentConfirmDelivery",
    )
    assert delivered["userErrors"] == [], delivered
    await _until(lambda: _order(e2e, buyer, order_id), lambda o: o["state"] == "DELIVERED", "delivered")

    # Paid by bank transfer (idempotent: the same key returns the same payment).
    transfer = {
        "orderId": order_id,
        "amount": invoice["total"]["amount"],
        "currency": "USD",
        "reference": "E2E-BANK-1",
        "idempotencyKey": f"e2e-bank-{order_id}",
    }
    paid = _ok(await e2e.query(PAY, {"i": transfer}, token=admin), "bankTransferRecord")
    assert paid["userErrors"] == [] and paid["replayed"] is False, paid
    again = _ok(await e2e.query(PAY, {"i": transfer}, token=admin), "bankTransferRecord")
    assert again["replayed"] is True and again["payment"]["id"] == paid["payment"]["id"]
    invoice = await _until(lambda: _invoice(e2e, admin, order_id), lambda i: i["status"] == "PAID", "paid")
    assert Decimal(invoice["outstanding"]["amount"]) == 0

    # Settlement once the (shortened) delay is over: the sweep books it and the payouts.
    async def settled() -> dict[str, Any] | None:
        db = Database.from_url(app_database_url(get_settings().database_url), pool_size=1)
        try:
            await sweeper.sweep_once(db)
        finally:
            await db.dispose()
        found = _ok(await e2e.query(SETTLEMENT, {"o": order_id}, token=admin), "settlement")
        return found if found and found["status"] == "SETTLED" else None

    settlement = await _until(settled, bool, "settled", within=30)
    assert Decimal(settlement["amount"]["amount"]) == Decimal(total["amount"])
    payouts = settlement["payouts"]
    assert payouts and sum(Decimal(p["amount"]["amount"]) for p in payouts) <= Decimal(total["amount"])
    assert str(orgs.SUPPLIER_ID) in {p["partyId"] for p in payouts}, payouts
    kinds = [
        e["node"]["kind"]
        for e in _ok(await e2e.query(JOURNAL, {"o": order_id}, token=admin), "journalEntries", "edges")
    ]
    assert {"SETTLEMENT", "PAYOUT"} <= set(kinds), kinds

    # Another tenant sees none of it.
    globex = await e2e.login("admin@globex.example", OTHER_TENANT_SLUG)
    assert _ok(await e2e.query(INVOICES, {"o": order_id}, token=globex), "invoices", "edges") == []
    assert _ok(await e2e.query(SETTLEMENT, {"o": order_id}, token=globex), "settlement") is None
    assert _ok(await e2e.query(JOURNAL, {"o": order_id}, token=globex), "journalEntries", "edges") == []
    assert _ok(await e2e.query(ORDER, {"o": order_id}, token=globex), "order") is None
