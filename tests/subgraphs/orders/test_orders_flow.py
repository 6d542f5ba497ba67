"""The buying flow over the demo data with pricing and catalog really answering over NATS:
cart -> checkout preview -> placeOrder (idempotent, one purchase with one order per seller),
quantity rules as per-line userErrors, approval tiers, data scope and tenant isolation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from subgraphs.catalog.demo_ids import sku_id
from subgraphs.orgs import seed as orgs_seed
from tests.subgraphs.orders.conftest import World

GLOVES = sku_id("GLV-WRK01-DX-M")  # supplier-a (Bolt Industrial)
ELECTRODES = sku_id("WLD-ELC-E6013-25K-AL-20")  # supplier-b (Forge Welding)
DRILL = sku_id("PT-DRL-VO12-DRI30-B")  # supplier-a, ~189 USD

ADD = """mutation($i: CartLineAddInput!) { cartLineAdd(input: $i) {
  cart { id lines { sku { id } quantity } } userErrors { field code } } }"""
SET = """mutation($i: CartLineSetInput!) { cartLineSet(input: $i) {
  cart { id lines { quantity } } userErrors { code } } }"""
PREVIEW = """{ checkoutPreview { currency sellers total { amount currency }
  lines { index quantity sellerId: seller { id } productName unitPrice { amount } lineTotal { amount }
          quantityRule { minimum increment } userErrors { field code } }
  userErrors { field code } } }"""
PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  replayed purchase { id total { amount currency } orders { id } }
  orders { id state number seller { id } buyer { id } total { amount currency }
           lines { quantity sku { id } skuCode productName unitPrice { amount } lineTotal { amount } } }
  userErrors { field code } } }"""
ORDERS = "query($f: OrderFilter) { orders(filter: $f) { totalCount edges { node { id state } } } }"
APPROVER = ("orders:read", "orders:approve")


async def _cart(world: World, org: uuid.UUID, lines: dict[uuid.UUID, int]) -> str:
    cart_id = ""
    for sku, qty in lines.items():
        data = await world.gql(ADD, {"i": {"skuId": str(sku), "quantity": qty}}, org=org)
        assert data["cartLineAdd"]["userErrors"] == []
        cart_id = data["cartLineAdd"]["cart"]["id"]
    return cart_id


async def _place(world: World, org: uuid.UUID, cart_id: str, key: str, **extra: Any) -> dict[str, Any]:
    data = await world.gql(PLACE, {"i": {"cartId": cart_id, "idempotencyKey": key, **extra}}, org=org)
    result: dict[str, Any] = data["placeOrder"]
    return result


async def test_multi_seller_cart_becomes_one_purchase_and_replays(world: World) -> None:
    org = orgs_seed.BUYER_PLANT3_ID
    cart_id = await _cart(world, org, {GLOVES: 4, ELECTRODES: 2})
    again = await world.gql(ADD, {"i": {"skuId": str(GLOVES), "quantity": 2}}, org=org)
    assert {li["quantity"] for li in again["cartLineAdd"]["cart"]["lines"]} == {6, 2}
    preview = (await world.gql(PREVIEW, org=org))["checkoutPreview"]
    assert preview["userErrors"] == [] and preview["sellers"] == 2 and preview["currency"] == "USD"
    total = sum(Decimal(li["lineTotal"]["amount"]) for li in preview["lines"])
    assert Decimal(preview["total"]["amount"]) == total and all(li["productName"] for li in preview["lines"])

    key = f"place-{uuid.uuid4()}"
    placed = await _place(
        world, org, cart_id, key, poNumber="PO-1", deliveryAddress={"country": "us", "city": "Austin"}
    )
    assert placed["userErrors"] == [] and placed["replayed"] is False
    orders = placed["orders"]
    assert len(orders) == 2 and {o["state"] for o in orders} == {"PLACED"}
    assert {o["seller"]["id"] for o in orders} == {str(orgs_seed.SUPPLIER_ID), str(orgs_seed.SUPPLIER2_ID)}
    assert Decimal(placed["purchase"]["total"]["amount"]) == total
    assert sum(Decimal(o["total"]["amount"]) for o in orders) == total
    gloves = next(li for o in orders for li in o["lines"] if li["sku"]["id"] == str(GLOVES))
    assert gloves["quantity"] == 6 and gloves["skuCode"] == "GLV-WRK01-DX-M"
    assert Decimal(gloves["lineTotal"]["amount"]) == (Decimal(gloves["unitPrice"]["amount"]) * 6).quantize(
        Decimal("0.01")
    )

    replay = await _place(
        world, org, cart_id, key, poNumber="PO-1", deliveryAddress={"country": "us", "city": "Austin"}
    )
    assert replay["replayed"] is True and replay["purchase"]["id"] == placed["purchase"]["id"]
    assert sorted(o["id"] for o in replay["orders"]) == sorted(o["id"] for o in orders)
    reused = await _place(world, org, cart_id, key, poNumber="PO-2")
    assert reused["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other_key = await _place(world, org, cart_id, f"place-{uuid.uuid4()}")
    assert other_key["userErrors"][0]["code"] == "CART_ORDERED"
    mine = await world.gql(ORDERS, {"f": {"states": ["PLACED"]}}, org=org)
    assert mine["orders"]["totalCount"] == 2  # placed once


async def test_quantity_rules_and_period_limit_are_line_errors(world: World) -> None:
    org = orgs_seed.BUYER3_ID  # Summit Mining
    await _cart(world, org, {GLOVES: 5})
    limit = await world.gql(
        "mutation($i: QuantityLimitSetInput!) { quantityLimitSet(input: $i) { ok userErrors { code } } }",
        {"i": {"organizationId": str(org), "skuId": str(GLOVES), "period": "month", "maxUnits": 8}},
        org=org,
        scopes=APPROVER,
    )
    assert limit["quantityLimitSet"] == {"ok": True, "userErrors": []}
    ok = (await world.gql(PREVIEW, org=org))["checkoutPreview"]
    assert ok["userErrors"] == []
    cart = await world.gql(SET, {"i": {"skuId": str(GLOVES), "quantity": 9}}, org=org)
    cart_id = cart["cartLineSet"]["cart"]["id"]
    over = (await world.gql(PREVIEW, org=org))["checkoutPreview"]
    assert over["lines"][0]["userErrors"] == [
        {"field": ["lines", "0", "quantity"], "code": "QUANTITY_OVER_PERIOD_LIMIT"}
    ]
    refused = await _place(world, org, cart_id, f"k-{uuid.uuid4()}")
    assert [e["code"] for e in refused["userErrors"]] == ["QUANTITY_OVER_PERIOD_LIMIT"] and refused[
        "orders"
    ] == []
    await world.gql(SET, {"i": {"skuId": str(GLOVES), "quantity": 5}}, org=org)
    assert (await _place(world, org, cart_id, f"k-{uuid.uuid4()}"))["userErrors"] == []
    # 5 of 8 used this month: 4 more is over the limit
    cart_id = await _cart(world, org, {GLOVES: 4})
    assert (await _place(world, org, cart_id, f"k-{uuid.uuid4()}"))["userErrors"][0][
        "code"
    ] == "QUANTITY_OVER_PERIOD_LIMIT"

    # pricing's own rules: Northwind Plant 2's disposable gloves go in steps of 10 from 10
    plant2 = orgs_seed.BUYER_PLANT_ID
    disposable = sku_id("GLV-NIT3-BL-DX-S")
    await _cart(world, plant2, {disposable: 5})
    line = (await world.gql(PREVIEW, org=plant2))["checkoutPreview"]["lines"][0]
    assert line["userErrors"] and line["userErrors"][0]["code"] == "QUANTITY_BELOW_MINIMUM"
    await world.gql(SET, {"i": {"skuId": str(disposable), "quantity": 0}}, org=plant2)
    assert (await world.gql("{ cart { lines { quantity } } }", org=plant2))["cart"]["lines"] == []


async def test_approval_tiers_wrong_role_queue_and_scope(world: World) -> None:
    org = orgs_seed.BUYER_ID  # Northwind: orders over 5,000 USD need the approver role (seed)
    cart_id = await _cart(world, org, {DRILL: 60})
    placed = await _place(world, org, cart_id, f"k-{uuid.uuid4()}")
    assert placed["userErrors"] == []
    (order,) = placed["orders"]
    assert order["state"] == "PENDING_APPROVAL" and Decimal(order["total"]["amount"]) > 5000

    queue = "{ approvalQueue { totalCount edges { node { id currentApprovalRole } } } }"
    listed = await world.gql(queue, org=org, scopes=APPROVER, roles=("approver",))
    assert {"id": order["id"], "currentApprovalRole": "approver"} in [
        e["node"] for e in listed["approvalQueue"]["edges"]
    ]
    assert (await world.gql(queue, org=org, scopes=APPROVER, roles=("buyer_admin",)))["approvalQueue"][
        "totalCount"
    ] == 0
    harbor = await world.gql(queue, org=orgs_seed.BUYER2_ID, scopes=APPROVER, roles=("approver",))
    assert order["id"] not in [e["node"]["id"] for e in harbor["approvalQueue"]["edges"]]

    approve = """mutation($i: OrderDecisionInput!) { orderApprove(input: $i) {
      order { state approvals { role decision comment } } userErrors { code } } }"""
    wrong = await world.gql(
        approve, {"i": {"orderId": order["id"]}}, org=org, scopes=APPROVER, roles=("buyer_admin",)
    )
    assert wrong["orderApprove"]["userErrors"] == [{"code": "WRONG_APPROVER_ROLE"}]
    outsider = await world.gql(
        approve,
        {"i": {"orderId": order["id"]}},
        org=orgs_seed.BUYER2_ID,
        scopes=APPROVER,
        roles=("approver",),
    )
    assert outsider["orderApprove"]["userErrors"] == [{"code": "NOT_FOUND"}]
    done = await world.gql(
        approve,
        {"i": {"orderId": order["id"], "comment": "budget ok"}},
        org=org,
        scopes=APPROVER,
        roles=("approver",),
    )
    assert done["orderApprove"]["order"]["state"] == "PLACED"
    assert done["orderApprove"]["order"]["approvals"] == [
        {"role": "approver", "decision": "approved", "comment": "budget ok"}
    ]

    # data scope: the buyer unit, the seller and a platform admin see it;
    # another unit and another tenant do not
    one = "query($id: ID!) { order(id: $id) { id transitions { fromState toState actor } } }"
    assert (await world.gql(one, {"id": order["id"]}, org=org))["order"]["transitions"][-1][
        "toState"
    ] == "placed"
    assert (await world.gql(one, {"id": order["id"]}, org=orgs_seed.SUPPLIER_ID))["order"] is not None
    assert (await world.gql(one, {"id": order["id"]}, org=None, roles=("platform_admin",)))[
        "order"
    ] is not None
    assert (await world.gql(one, {"id": order["id"]}, org=orgs_seed.BUYER_PLANT_ID))["order"] is None
    assert (await world.gql(one, {"id": order["id"]}, org=orgs_seed.BUYER2_ID))["order"] is None
    assert (await world.gql(one, {"id": order["id"]}, org=None))["order"] is None
    other = await world.gql(
        one,
        {"id": order["id"]},
        org=orgs_seed.OTHER_SUPPLIER_ID,
        tenant=orgs_seed.OTHER_TENANT_ID,
        roles=("platform_admin",),
    )
    assert other["order"] is None
    entities = await world.gql(
        "query($r: [_Any!]!) { _entities(representations: $r) {"
        " ... on Order { id } ... on Purchase { id } } }",
        {
            "r": [
                {"__typename": "Order", "id": order["id"]},
                {"__typename": "Purchase", "id": placed["purchase"]["id"]},
            ]
        },
        org=orgs_seed.BUYER2_ID,
    )
    assert entities["_entities"] == [None, None]
    listed_other = await world.gql(
        ORDERS, org=orgs_seed.OTHER_SUPPLIER_ID, tenant=orgs_seed.OTHER_TENANT_ID, roles=("platform_admin",)
    )
    assert listed_other["orders"]["totalCount"] == 0


async def test_reject_is_final(world: World) -> None:
    org = orgs_seed.BUYER_ID
    cart_id = await _cart(world, org, {DRILL: 40})
    (order,) = (await _place(world, org, cart_id, f"k-{uuid.uuid4()}"))["orders"]
    reject = """mutation($i: OrderDecisionInput!) { orderReject(input: $i) {
      order { state stateReason } userErrors { code } } }"""
    data = await world.gql(
        reject,
        {"i": {"orderId": order["id"], "comment": "not this quarter"}},
        org=org,
        scopes=APPROVER,
        roles=("approver",),
    )
    assert data["orderReject"] == {
        "order": {"state": "REJECTED", "stateReason": "not this quarter"},
        "userErrors": [],
    }
    again = await world.gql(
        reject, {"i": {"orderId": order["id"]}}, org=org, scopes=APPROVER, roles=("approver",)
    )
    assert again["orderReject"]["userErrors"] == [{"code": "INVALID_TRANSITION"}]


RULE = """mutation($i: ApprovalRuleCreateInput!) { approvalRuleCreate(input: $i) {
  rule { id tiers organization { id } } userErrors { field code } } }"""


async def test_two_tiers_in_order_and_rules_inherited_down_the_tree(world: World) -> None:
    harbor = orgs_seed.BUYER2_ID  # EUR buyer, no seeded rule
    admin = ("orders:read", "orders:approve", "orders:place")
    bad = await world.gql(
        RULE,
        {"i": {"organizationId": str(harbor), "name": "x", "tiers": ["approver"]}},
        org=harbor,
        scopes=admin,
    )
    assert bad["approvalRuleCreate"]["userErrors"] == [{"field": None, "code": "NO_CONDITION"}]
    elsewhere = await world.gql(
        RULE,
        {
            "i": {
                "organizationId": str(orgs_seed.BUYER_ID),
                "name": "x",
                "tiers": ["approver"],
                "minTotal": "1",
            }
        },
        org=harbor,
        scopes=admin,
    )
    assert elsewhere["approvalRuleCreate"]["userErrors"][0]["code"] == "FORBIDDEN"
    made = await world.gql(
        RULE,
        {
            "i": {
                "organizationId": str(harbor),
                "name": "welding needs two signatures",
                "tiers": ["approver", "buyer_admin"],
                "sellerOrganizationId": str(orgs_seed.SUPPLIER2_ID),
            }
        },
        org=harbor,
        scopes=admin,
    )
    assert made["approvalRuleCreate"]["rule"]["tiers"] == ["approver", "buyer_admin"]
    cart_id = await _cart(world, harbor, {ELECTRODES: 1, GLOVES: 1})
    placed = await _place(world, harbor, cart_id, f"k-{uuid.uuid4()}")
    states = {o["seller"]["id"]: o["state"] for o in placed["orders"]}
    assert states == {str(orgs_seed.SUPPLIER2_ID): "PENDING_APPROVAL", str(orgs_seed.SUPPLIER_ID): "PLACED"}
    order_id = next(o["id"] for o in placed["orders"] if o["state"] == "PENDING_APPROVAL")
    approve = """mutation($i: OrderDecisionInput!) { orderApprove(input: $i) {
      order { state currentApprovalRole } userErrors { code } } }"""
    first = await world.gql(
        approve, {"i": {"orderId": order_id}}, org=harbor, scopes=APPROVER, roles=("approver",)
    )
    assert first["orderApprove"] == {
        "order": {"state": "PENDING_APPROVAL", "currentApprovalRole": "buyer_admin"},
        "userErrors": [],
    }
    again = await world.gql(
        approve, {"i": {"orderId": order_id}}, org=harbor, scopes=APPROVER, roles=("approver",)
    )
    assert again["orderApprove"]["userErrors"] == [{"code": "WRONG_APPROVER_ROLE"}]
    second = await world.gql(
        approve, {"i": {"orderId": order_id}}, org=harbor, scopes=APPROVER, roles=("buyer_admin",)
    )
    assert second["orderApprove"]["order"] == {"state": "PLACED", "currentApprovalRole": None}

    # Northwind's seeded rule (over 5,000 USD -> approver) applies to its Plant 2 too
    plant2 = orgs_seed.BUYER_PLANT_ID
    cart_id = await _cart(world, plant2, {DRILL: 60})
    (order,) = (await _place(world, plant2, cart_id, f"k-{uuid.uuid4()}"))["orders"]
    assert order["state"] == "PENDING_APPROVAL"
    # an approver of the parent unit decides for the unit below
    parent = await world.gql(
        approve, {"i": {"orderId": order["id"]}}, org=orgs_seed.BUYER_ID, scopes=APPROVER, roles=("approver",)
    )
    assert parent["orderApprove"]["order"]["state"] == "PLACED"


async def test_purchases_connection_filters_and_paging(world: World) -> None:
    org = orgs_seed.BUYER_PLANT3_ID
    purchases = """query($f: OrderFilter, $first: Int, $after: String) {
      purchases(filter: $f, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id orders { state } } } } }"""
    for _ in range(2):
        cart_id = await _cart(world, org, {GLOVES: 1})
        assert (await _place(world, org, cart_id, f"k-{uuid.uuid4()}"))["userErrors"] == []
    page1 = (await world.gql(purchases, {"first": 1}, org=org))["purchases"]
    assert page1["totalCount"] >= 2 and page1["pageInfo"]["hasNextPage"] is True
    page2 = (await world.gql(purchases, {"first": 1, "after": page1["pageInfo"]["endCursor"]}, org=org))[
        "purchases"
    ]
    assert page2["edges"][0]["node"]["id"] != page1["edges"][0]["node"]["id"]
    future = (await world.gql(purchases, {"f": {"createdFrom": "2999-01-01T00:00:00+00:00"}}, org=org))[
        "purchases"
    ]
    assert future["totalCount"] == 0
    rejected = (await world.gql(ORDERS, {"f": {"states": ["REJECTED"]}}, org=org))["orders"]
    assert rejected["totalCount"] == 0
