"""The GraphQL surface on the real database: RLS between tenants, buyers vs sellers, adjustments
(version conflict, idempotency, data scope, bulk), the append-only movement log."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from tests.subgraphs.stock.helpers import World, make_world

ADJUST = """
mutation($input: StockAdjustInput!) {
  stockAdjust(input: $input) { replayed levels { id onHand available version } userErrors { field code } }
}"""
BULK = """
mutation($input: StockReceiveBulkInput!) {
  stockReceiveBulk(input: $input) { levels { onHand } userErrors { field code } }
}"""
TRANSFER = """
mutation($input: StockTransferInput!) {
  stockTransfer(input: $input) { levels { onHand location { code } } userErrors { field code } }
}"""
SKU = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Sku { availability { available status } shop: availability(locationId: "%s") { available }
                 stockLevels { onHand reserved available location { code } } }
  }
}"""
SELLER = ("stock:read", "stock:adjust")


def adjust_input(
    sku: uuid.UUID, location: uuid.UUID, kind: str, quantity: int, **kw: object
) -> dict[str, object]:
    return {
        "input": {
            "kind": kind,
            "skuId": str(sku),
            "locationId": str(location),
            "quantity": quantity,
            "reason": "test",
            **kw,
        }
    }


async def test_seller_adjusts_buyer_sees_availability_only(world: World, stock_url: str) -> None:
    sku = uuid.uuid4()
    data = await world.gql(
        stock_url, ADJUST, adjust_input(sku, world.near, "RECEIPT", 30), org=world.seller, scopes=SELLER
    )
    payload = data["stockAdjust"]
    assert payload["userErrors"] == [] and payload["levels"][0]["onHand"] == 30
    reps = {"reps": [{"__typename": "Sku", "id": str(sku)}]}
    seller = await world.gql(stock_url, SKU % world.shop, reps, org=world.seller, scopes=SELLER)
    entity = seller["_entities"][0]
    assert entity["availability"] == {"available": 30, "status": "IN_STOCK"}
    assert entity["shop"] == {"available": 15}  # 50 % of the source, under the cap of 20
    assert [lv["location"]["code"] for lv in entity["stockLevels"]] == ["LYON"]
    buyer = await world.gql(stock_url, SKU % world.shop, reps, org=uuid.uuid4(), scopes=("catalog:read",))
    assert buyer["_entities"][0]["availability"]["available"] == 30
    assert buyer["_entities"][0]["stockLevels"] == []  # the gateway strips it; the subgraph refuses too
    rival = await world.gql(stock_url, SKU % world.shop, reps, org=world.other_seller, scopes=SELLER)
    assert rival["_entities"][0]["stockLevels"] == []


async def test_another_organizations_supplier_cannot_adjust(world: World, stock_url: str) -> None:
    data = await world.gql(
        stock_url,
        ADJUST,
        adjust_input(uuid.uuid4(), world.near, "RECEIPT", 5),
        org=world.other_seller,
        scopes=SELLER,
    )
    assert data["stockAdjust"]["userErrors"] == [{"field": ["locationId"], "code": "FORBIDDEN"}]


async def test_version_conflict_and_count_and_damage(world: World, stock_url: str) -> None:
    sku = uuid.uuid4()
    first = await world.gql(
        stock_url, ADJUST, adjust_input(sku, world.near, "RECEIPT", 10), org=world.seller, scopes=SELLER
    )
    version = first["stockAdjust"]["levels"][0]["version"]
    counted = await world.gql(
        stock_url,
        ADJUST,
        adjust_input(sku, world.near, "COUNT", 8, version=version),
        org=world.seller,
        scopes=SELLER,
    )
    assert counted["stockAdjust"]["levels"][0]["onHand"] == 8
    stale = await world.gql(
        stock_url,
        ADJUST,
        adjust_input(sku, world.near, "DAMAGE", 1, version=version),
        org=world.seller,
        scopes=SELLER,
    )
    assert stale["stockAdjust"]["userErrors"] == [{"field": ["version"], "code": "VERSION_CONFLICT"}]
    too_much = await world.gql(
        stock_url, ADJUST, adjust_input(sku, world.near, "DAMAGE", 9), org=world.seller, scopes=SELLER
    )
    assert too_much["stockAdjust"]["userErrors"][0]["code"] == "INSUFFICIENT_STOCK"
    level = await world.level(sku, world.near)
    assert level.on_hand == level.movement_sum == 8


async def test_idempotent_receipt(world: World, stock_url: str) -> None:
    sku = uuid.uuid4()
    args = adjust_input(sku, world.near, "RECEIPT", 7, idempotencyKey="grn-1")
    one = await world.gql(stock_url, ADJUST, args, org=world.seller, scopes=SELLER)
    two = await world.gql(stock_url, ADJUST, args, org=world.seller, scopes=SELLER)
    assert (one["stockAdjust"]["replayed"], two["stockAdjust"]["replayed"]) == (False, True)
    assert (await world.level(sku, world.near)).on_hand == 7
    other = await world.gql(
        stock_url,
        ADJUST,
        adjust_input(sku, world.near, "RECEIPT", 8, idempotencyKey="grn-1"),
        org=world.seller,
        scopes=SELLER,
    )
    assert other["stockAdjust"]["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_bulk_receipt_all_or_none_and_transfer(world: World, stock_url: str) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    bad = {
        "input": {
            "lines": [
                {"skuId": str(a), "locationId": str(world.near), "quantity": 5, "reason": "po-1"},
                {"skuId": str(b), "locationId": str(world.near), "quantity": 0, "reason": "po-1"},
                {"skuId": str(b), "locationId": str(world.rival), "quantity": 3, "reason": "po-1"},
            ]
        }
    }
    data = await world.gql(stock_url, BULK, bad, org=world.seller, scopes=SELLER)
    assert {tuple(e["field"]) for e in data["stockReceiveBulk"]["userErrors"]} == {
        ("lines", "1", "quantity"),
        ("lines", "2", "locationId"),
    }
    async with world.db.tenant_session(world.tenant) as session:
        assert (
            await session.scalar(text("SELECT count(*) FROM stock.levels WHERE sku_id = :a"), {"a": a}) == 0
        )
    good = {"input": {"lines": [bad["input"]["lines"][0], {**bad["input"]["lines"][1], "quantity": 4}]}}  # type: ignore[index]
    data = await world.gql(stock_url, BULK, good, org=world.seller, scopes=SELLER)
    assert [lv["onHand"] for lv in data["stockReceiveBulk"]["levels"]] == [5, 4]
    moved = await world.gql(
        stock_url,
        TRANSFER,
        {
            "input": {
                "skuId": str(a),
                "fromLocationId": str(world.near),
                "toLocationId": str(world.far),
                "quantity": 2,
                "reason": "rebalance",
            }
        },
        org=world.seller,
        scopes=SELLER,
    )
    assert {(lv["location"]["code"], lv["onHand"]) for lv in moved["stockTransfer"]["levels"]} == {
        ("LYON", 3),
        ("HAMBURG", 2),
    }
    for loc, qty in ((world.near, 3), (world.far, 2)):
        level = await world.level(a, loc)
        assert level.on_hand == level.movement_sum == qty


async def test_tenant_b_sees_nothing_of_tenant_a(world: World, stock_db: Database, stock_url: str) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 9)
    other = await make_world(stock_db, uuid.uuid4())
    level = await world.level(sku, world.near)
    query = """query($reps: [_Any!]!) { _entities(representations: $reps) {
        ... on Location { code } ... on StockLevel { onHand }
        ... on Sku { availability { available } stockLevels { onHand } } } }"""
    reps = [
        {"__typename": "Location", "id": str(world.near)},
        {"__typename": "StockLevel", "id": str(level.id)},
        {"__typename": "Sku", "id": str(sku)},
    ]
    mine = await world.gql(stock_url, query, {"reps": reps}, roles=("platform_admin",), scopes=SELLER)
    assert mine["_entities"][0] == {"code": "LYON"} and mine["_entities"][1] == {"onHand": 9}
    theirs = await other.gql(stock_url, query, {"reps": reps}, roles=("platform_admin",), scopes=SELLER)
    assert theirs["_entities"][:2] == [None, None]
    assert theirs["_entities"][2] == {"availability": {"available": 0}, "stockLevels": []}
    listed = await other.gql(
        stock_url, "{ locations(first: 50) { totalCount edges { node { id } } } }", roles=("platform_admin",)
    )
    assert str(world.near) not in {e["node"]["id"] for e in listed["locations"]["edges"]}
    assert listed["locations"]["totalCount"] == 4
    for table in ("locations", "levels", "movements", "reservations", "reservation_lines", "settings"):
        async with stock_db.tenant_session(other.tenant) as session:
            rows = await session.scalar(
                text(f"SELECT count(*) FROM stock.{table} WHERE tenant_id = :t"), {"t": world.tenant}
            )
        assert rows == 0, table


async def test_movement_log_is_append_only(world: World, stock_db: Database) -> None:
    await world.receive(uuid.uuid4(), world.near, 1)
    for statement in ("UPDATE stock.movements SET delta = 100", "DELETE FROM stock.movements"):
        with pytest.raises(DBAPIError):
            async with stock_db.tenant_session(world.tenant) as session:
                await session.execute(text(statement))


async def test_settings_need_a_platform_admin(world: World, stock_url: str) -> None:
    q = (
        "mutation { stockSettingsUpdate(input: {reservationTtlSeconds: 600}) "
        "{ settings { reservationTtlSeconds } userErrors { code } } }"
    )
    from shared.testing import gateway_headers, graphql

    _status, body = await graphql(
        stock_url, q, headers=gateway_headers(world.tenant, organization_id=world.seller, scopes=SELLER)
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    data = await world.gql(stock_url, q, roles=("platform_admin",), scopes=SELLER)
    assert data["stockSettingsUpdate"]["settings"] == {"reservationTtlSeconds": 600}
    read = await world.gql(stock_url, "{ stockSettings { reservationTtlSeconds } }", org=world.seller)
    assert read["stockSettings"]["reservationTtlSeconds"] == 600
