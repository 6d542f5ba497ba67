"""`syncStockLevels` on the real database: counted levels from an ERP, all rows or none,
idempotent per external reference, through the adjustment path (movements, events, invariants)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import text

from tests.subgraphs.stock.helpers import World, make_world

SYNC = """
mutation($input: SyncStockLevelsInput!) {
  syncStockLevels(input: $input) {
    applied unchanged replayed
    results { externalReference levelId onHand outcome movementId }
    userErrors { field code message }
  }
}"""
SELLER = ("stock:read", "stock:adjust")


def rows(*items: tuple[str, uuid.UUID, str, int]) -> dict[str, Any]:
    return {
        "input": {
            "rows": [
                {"externalReference": ref, "skuId": str(sku), "location": loc, "onHand": qty}
                for ref, sku, loc, qty in items
            ]
        }
    }


async def sync(world: World, url: str, variables: dict[str, Any], org: uuid.UUID | None = None) -> Any:
    data = await world.gql(url, SYNC, variables, org=org or world.seller, scopes=SELLER)
    return data["syncStockLevels"]


async def counts(world: World) -> tuple[int, int, int]:
    """Movements, sync rows and outbox rows of the world's tenant."""
    async with world.db.tenant_session(world.tenant) as session:
        movements = await session.scalar(text("SELECT count(*) FROM stock.movements"))
        synced = await session.scalar(text("SELECT count(*) FROM stock.sync_rows"))
    async with world.db.session() as session:
        await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
        outbox = await session.scalar(
            text("SELECT count(*) FROM stock.outbox WHERE tenant_id = :t"), {"t": world.tenant}
        )
    return int(movements or 0), int(synced or 0), int(outbox or 0)


async def test_sync_counts_levels_replays_and_refuses_a_changed_replay(world: World, stock_url: str) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await world.receive(b, world.near, 10)
    await world.receive(c, world.far, 4)
    batch = rows(("erp-1", a, "LYON", 25), ("erp-2", b, "LYON", 7), ("erp-3", c, str(world.far), 4))
    first = await sync(world, stock_url, batch)
    assert first["userErrors"] == []
    assert (first["applied"], first["unchanged"], first["replayed"]) == (2, 1, 0)
    assert [r["outcome"] for r in first["results"]] == ["APPLIED", "APPLIED", "UNCHANGED"]
    for sku, loc, expected in ((a, world.near, 25), (b, world.near, 7), (c, world.far, 4)):
        level = await world.level(sku, loc)
        assert level.on_hand == expected and level.movement_sum == expected
    adjusted = await world.outbox("stock.adjusted")
    synced = [e["data"] for e in adjusted if e["data"]["reason"].startswith("ERP sync")]
    assert sorted((d["kind"], d["delta"]) for d in synced) == [("count", -3), ("count", 25)]
    before = await counts(world)

    again = await sync(world, stock_url, batch)
    assert again["userErrors"] == [] and again["replayed"] == 3 and again["applied"] == 0
    assert [r["levelId"] for r in again["results"]] == [r["levelId"] for r in first["results"]]
    assert await counts(world) == before  # a replay is a no-op

    changed = await sync(world, stock_url, rows(("erp-2", b, "LYON", 8), ("erp-4", a, "LYON", 1)))
    assert changed["userErrors"] == [
        {
            "field": ["rows", "0", "externalReference"],
            "code": "EXTERNAL_REFERENCE_REUSED",
            "message": "this reference was already synced with other content",
        }
    ]
    assert await counts(world) == before and (await world.level(a, world.near)).on_hand == 25


async def test_one_bad_row_leaves_nothing_applied(world: World, stock_url: str) -> None:
    skus = [uuid.uuid4() for _ in range(50)]
    held = skus[0]
    await world.receive(held, world.near, 10)
    async with world.db.tenant_session(world.tenant) as session:  # 6 units held by an order
        await session.execute(text("UPDATE stock.levels SET reserved = 6 WHERE sku_id = :s"), {"s": held})
    before = await counts(world)
    items = [(f"bad-{i}", s, "LYON", 100 + i) for i, s in enumerate(skus[1:])]
    items.append(("bad-last", held, "LYON", 5))  # below the 6 reserved units
    items.append(("bad-rival", uuid.uuid4(), "RIVAL", 3))  # another organization's warehouse
    items.append(("bad-shop", uuid.uuid4(), "SHOP", 3))  # a shop is derived
    items.append(("bad-none", uuid.uuid4(), "NOWHERE", 3))
    refused = await sync(world, stock_url, rows(*items))
    assert {(tuple(e["field"]), e["code"]) for e in refused["userErrors"]} == {
        (("rows", "50", "location"), "FORBIDDEN"),
        (("rows", "51", "location"), "FORBIDDEN"),  # the shop is the distributor's (and derived)
        (("rows", "52", "location"), "NOT_FOUND"),
    }
    assert refused["results"] == []
    # Without the location problems, the row below what is reserved still refuses the batch.
    refused = await sync(world, stock_url, rows(*items[:50]))
    assert [(tuple(e["field"]), e["code"]) for e in refused["userErrors"]] == [
        (("rows", "49", "onHand"), "BELOW_ALLOCATED")
    ]
    assert await counts(world) == before  # no level, movement, claim or event of the batch
    for sku in skus[1:]:
        async with world.db.tenant_session(world.tenant) as session:
            assert await session.scalar(
                text("SELECT on_hand FROM stock.levels WHERE sku_id = :s"), {"s": sku}
            ) in (None, 0)
    # The same references, fixed, apply: the refused batch claimed nothing.
    items[49] = ("bad-last", held, "LYON", 6)
    fixed = await sync(world, stock_url, rows(*items[:50]))
    assert fixed["userErrors"] == [] and fixed["applied"] == 50
    level = await world.level(held, world.near)
    assert (level.on_hand, level.reserved, level.movement_sum) == (6, 6, 6)


async def test_limits_duplicates_and_bad_input(world: World, stock_url: str) -> None:
    sku = uuid.uuid4()
    too_many = rows(*[(f"r{i}", sku, "LYON", 1) for i in range(5001)])
    refused = await sync(world, stock_url, too_many)
    assert [e["code"] for e in refused["userErrors"]] == ["TOO_MANY_ROWS"]
    empty = await sync(world, stock_url, {"input": {"rows": []}})
    assert [e["code"] for e in empty["userErrors"]] == ["BLANK"]
    dup = await sync(world, stock_url, rows(("same", sku, "LYON", 1), ("same", sku, "LYON", 2)))
    assert [(e["field"], e["code"]) for e in dup["userErrors"]] == [
        (["rows", "1", "externalReference"], "DUPLICATE_EXTERNAL_REFERENCE")
    ]
    bad = await sync(
        world,
        stock_url,
        {"input": {"rows": [{"externalReference": "", "skuId": "nope", "location": "LYON", "onHand": -1}]}},
    )
    assert sorted(e["field"][-1] for e in bad["userErrors"]) == ["externalReference", "onHand", "skuId"]
    # A row repeated verbatim is applied once.
    twice = await sync(world, stock_url, rows(("same", sku, "LYON", 3), ("same", sku, "LYON", 3)))
    assert [r["outcome"] for r in twice["results"]] == ["APPLIED", "REPLAYED"]
    assert (await world.level(sku, world.near)).movement_sum == 3


async def test_references_are_per_tenant(world: World, stock_url: str) -> None:
    other = await make_world(world.db, uuid.uuid4())
    sku = uuid.uuid4()
    mine = await sync(world, stock_url, rows(("shared-ref", sku, "LYON", 5)))
    theirs = await sync(other, stock_url, rows(("shared-ref", sku, "LYON", 9)))
    assert mine["applied"] == 1 and theirs["applied"] == 1 and theirs["userErrors"] == []
    assert (await world.level(sku, world.near)).on_hand == 5
    assert (await other.level(sku, other.near)).on_hand == 9
    async with world.db.tenant_session(world.tenant) as session:
        refs = (await session.execute(text("SELECT tenant_id FROM stock.sync_rows"))).scalars().all()
    assert set(refs) == {world.tenant}  # RLS: the other tenant's claim is invisible


async def test_a_5000_row_batch_applies_in_one_call(world: World, stock_url: str) -> None:
    skus = [uuid.uuid4() for _ in range(2500)]
    items = [(f"big-{i}", s, loc, 1 + i % 97) for i, s in enumerate(skus) for loc in ("LYON", "HAMBURG")]
    items = [(f"{ref}-{loc}", s, loc, q) for ref, s, loc, q in items]
    assert len(items) == 5000
    started = time.monotonic()
    done = await sync(world, stock_url, rows(*items))
    elapsed = time.monotonic() - started
    assert done["userErrors"] == [] and done["applied"] == 5000, done["userErrors"][:3]
    movements, synced, outbox = await counts(world)
    assert (movements, synced, outbox) == (5000, 5000, 5000)
    async with world.db.tenant_session(world.tenant) as session:
        bad = await session.scalar(
            text(
                "SELECT count(*) FROM stock.levels l WHERE l.on_hand <> "
                "(SELECT coalesce(sum(delta), 0) FROM stock.movements m WHERE m.level_id = l.id)"
            )
        )
    assert bad == 0
    replay_started = time.monotonic()
    again = await sync(world, stock_url, rows(*items))
    assert again["replayed"] == 5000 and await counts(world) == (5000, 5000, 5000)
    print(f"5,000 rows: {elapsed:.1f} s applied, {time.monotonic() - replay_started:.1f} s replayed")
    assert elapsed < 120  # generous: a loaded 2-core machine
