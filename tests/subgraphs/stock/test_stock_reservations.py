"""Reservations on the real PostgreSQL: all or none, concurrency (no oversell), replay, expiry,
commit and release, lazy expiry on read and on write."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from shared.db import utcnow
from shared.errors import UserInputError
from subgraphs.stock import reservations, service
from subgraphs.stock.sweeper import sweep_once
from tests.subgraphs.stock.helpers import World, placed


def order(w: World, lines: list[tuple[uuid.UUID, int]], **kw: object) -> reservations.PlacedOrder:
    return reservations.parse_placed(placed(w, lines, **kw))  # type: ignore[arg-type]


async def test_200_concurrent_reservations_for_50_units_reserve_exactly_50(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 50)
    orders = [order(world, [(sku, 1)]) for _ in range(200)]

    async def one(o: reservations.PlacedOrder) -> str:
        async with world.db.tenant_session(world.tenant) as session:
            return (await reservations.reserve_orders(session, world.tenant, [o]))[0].status

    statuses = await asyncio.gather(*(one(o) for o in orders))
    assert statuses.count("reserved") == 50
    assert statuses.count("failed") == 150
    level = await world.level(sku, world.near)
    assert (level.on_hand, level.reserved, level.committed) == (50, 50, 0)
    assert level.movement_sum == level.on_hand
    failed = await world.outbox("stock.reservation_failed")
    assert len(failed) == 150
    assert {e["data"]["reason"] for e in failed} == {"INSUFFICIENT_STOCK"}
    assert len(await world.outbox("stock.reserved")) == 50
    assert len(await world.outbox("stock.low")) <= 1


async def test_all_lines_or_none(world: World) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await world.receive(a, world.near, 10)
    await world.receive(b, world.near, 1)
    outcome = await world.reserve(order(world, [(a, 5), (b, 2)]))
    assert outcome.status == "failed" and outcome.reason == "INSUFFICIENT_STOCK"
    assert {(ln["requested"], ln["available"]) for ln in outcome.short_lines} == {(5, 10), (2, 1)}
    assert (await world.level(a, world.near)).reserved == 0
    assert (await world.level(b, world.near)).reserved == 0


async def test_failure_reasons(world: World) -> None:
    unknown = await world.reserve(order(world, [(uuid.uuid4(), 1)]))
    assert unknown.reason == "UNKNOWN_SKU"
    payload = placed(world, [(uuid.uuid4(), 1)])
    payload["seller_organization_id"] = str(uuid.uuid4())  # a seller without any warehouse
    # the platform location would still be a candidate: this tenant has none
    no_location = await world.reserve(reservations.parse_placed(payload))
    assert no_location.reason == "NO_LOCATION"


async def test_rival_sellers_stock_is_never_allocated(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.rival, 100)
    outcome = await world.reserve(order(world, [(sku, 1)]))
    assert outcome.status == "failed"


async def test_nearest_then_split(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 5)
    await world.receive(sku, world.far, 5)
    lyon = {
        "country": "FR",
        "region": "ARA",
        "postal_code": "69003",
        "city": "Lyon",
        "latitude": 45.75,
        "longitude": 4.86,
    }
    hamburg = {**lyon, "region": "HH", "postal_code": "20097", "latitude": 53.55, "longitude": 10.0}
    first = await world.reserve(order(world, [(sku, 3)], delivery=hamburg))
    assert [a["location_id"] for a in first.allocations] == [str(world.far)]
    second = await world.reserve(order(world, [(sku, 6)], delivery=lyon))
    assert {(a["location_id"], a["quantity"]) for a in second.allocations} == {
        (str(world.near), 5),
        (str(world.far), 1),
    }


async def test_the_same_order_twice_reserves_once(world: World) -> None:
    sku, oid = uuid.uuid4(), uuid.uuid4()
    await world.receive(sku, world.near, 10)
    first = await world.reserve(order(world, [(sku, 4)], order_id=oid))
    again = await world.reserve(order(world, [(sku, 4)], order_id=oid))
    assert (first.status, again.status) == ("reserved", "duplicate")
    assert (await world.level(sku, world.near)).reserved == 4
    assert len(await world.outbox("stock.reserved")) == 1


async def test_commit_then_cancel_releases_committed(world: World) -> None:
    sku, oid = uuid.uuid4(), uuid.uuid4()
    await world.receive(sku, world.near, 10)
    await world.reserve(order(world, [(sku, 4)], order_id=oid))
    async with world.db.tenant_session(world.tenant) as session:
        assert await reservations.commit(session, world.tenant, oid) == "committed"
    async with world.db.tenant_session(world.tenant) as session:
        assert await reservations.commit(session, world.tenant, oid) == "already_committed"
    level = await world.level(sku, world.near)
    assert (level.reserved, level.committed) == (0, 4)
    async with world.db.tenant_session(world.tenant) as session:
        await reservations.release(session, world.tenant, oid, "cancelled", include_committed=True)
    level = await world.level(sku, world.near)
    assert (level.reserved, level.committed, level.on_hand) == (0, 0, 10)
    [released] = await world.outbox("stock.released")
    assert released["data"]["reason"] == "cancelled"
    assert released["data"]["lines"] == [{"sku_id": str(sku), "location_id": str(world.near), "quantity": 4}]
    assert len(await world.outbox("stock.committed")) == 1


async def test_rejected_after_commit_changes_nothing_and_cancel_before_placed_blocks_it(world: World) -> None:
    sku, oid, early = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await world.receive(sku, world.near, 10)
    await world.reserve(order(world, [(sku, 2)], order_id=oid))
    async with world.db.tenant_session(world.tenant) as session:
        await reservations.commit(session, world.tenant, oid)
        assert (
            await reservations.release(session, world.tenant, oid, "compensation", include_committed=False)
            == "nothing"
        )
    async with world.db.tenant_session(world.tenant) as session:
        assert (
            await reservations.release(session, world.tenant, early, "cancelled", include_committed=True)
            == "tombstone"
        )
    late = await world.reserve(order(world, [(sku, 2)], order_id=early))
    assert late.status == "duplicate"
    assert (await world.level(sku, world.near)).committed == 2


async def test_expiry_sweeper_releases_and_commit_after_expiry_fails(world: World) -> None:
    sku, oid = uuid.uuid4(), uuid.uuid4()
    await world.receive(sku, world.near, 10)
    outcome = await world.reserve(order(world, [(sku, 3)], order_id=oid, reserve_for_seconds=60))
    assert outcome.expires_at is not None
    later = utcnow() + timedelta(seconds=61)
    # before the sweep, reads count it as released already (lazy)
    async with world.db.tenant_session(world.tenant) as session:
        views = (await service.levels_for_skus(session, [sku]))[sku]
        lazy = await service.level_views(session, [(v.row, v.location) for v in views], now=later)
    assert [v.reserved for v in lazy] == [0] and lazy[0].available == 10
    assert await sweep_once(world.db, now=later) >= 1
    assert (await world.level(sku, world.near)).reserved == 0
    [released] = await world.outbox("stock.released")
    assert released["data"]["reason"] == "expired"
    assert released["data"]["order_id"] == str(oid)
    async with world.db.tenant_session(world.tenant) as session:
        assert await reservations.commit(session, world.tenant, oid, now=later) == "RESERVATION_EXPIRED"
    [failed] = await world.outbox("stock.commit_failed")
    assert failed["data"] == {
        "reservation_id": str(outcome.reservation_id),
        "order_id": str(oid),
        "reason": "RESERVATION_EXPIRED",
    }


async def test_commit_of_an_expired_unswept_reservation_releases_it(world: World) -> None:
    sku, oid = uuid.uuid4(), uuid.uuid4()
    await world.receive(sku, world.near, 10)
    await world.reserve(order(world, [(sku, 3)], order_id=oid, reserve_for_seconds=60))
    later = utcnow() + timedelta(seconds=120)
    async with world.db.tenant_session(world.tenant) as session:
        assert await reservations.commit(session, world.tenant, oid, now=later) == "RESERVATION_EXPIRED"
    assert (await world.level(sku, world.near)).reserved == 0
    assert [e["data"]["reason"] for e in await world.outbox("stock.released")] == ["expired"]


async def test_next_write_releases_expired_reservations(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 5)
    await world.reserve(order(world, [(sku, 5)], reserve_for_seconds=60))
    later = utcnow() + timedelta(seconds=61)
    async with world.db.tenant_session(world.tenant) as session:
        [outcome] = await reservations.reserve_orders(
            session, world.tenant, [order(world, [(sku, 5)])], now=later
        )
    assert outcome.status == "reserved"
    level = await world.level(sku, world.near)
    assert level.reserved == 5
    assert [e["data"]["reason"] for e in await world.outbox("stock.released")] == ["expired"]


async def test_tenant_ttl_setting_applies(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 5)
    admin = world.seller_principal.__class__(str(world.tenant), None, None, ("platform_admin",), ())
    async with world.db.tenant_session(world.tenant) as session:
        await service.set_ttl(session, world.tenant, admin, 120)
    before = utcnow()
    outcome = await world.reserve(order(world, [(sku, 1)]))
    assert outcome.expires_at is not None
    assert timedelta(seconds=110) < outcome.expires_at - before < timedelta(seconds=130)
    overridden = await world.reserve(order(world, [(sku, 1)], reserve_for_seconds=10))
    assert overridden.expires_at is not None and overridden.expires_at - before < timedelta(seconds=20)


async def test_several_sweepers_release_each_reservation_once(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 100)
    for _ in range(40):
        await world.reserve(order(world, [(sku, 1)], reserve_for_seconds=60))
    later = utcnow() + timedelta(seconds=61)
    counts = await asyncio.gather(*(sweep_once(world.db, batch=7, now=later) for _ in range(4)))
    assert sum(counts) >= 40  # other tests' leftovers may be swept too
    assert (await world.level(sku, world.near)).reserved == 0
    released = await world.outbox("stock.released")
    assert len(released) == 40
    assert len({e["data"]["reservation_id"] for e in released}) == 40


async def test_low_event_when_available_crosses_the_threshold(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 12)
    admin = world.seller_principal
    async with world.db.tenant_session(world.tenant) as session:
        await service.configure_level(
            session, world.tenant, admin, service.LevelSettings(sku, world.near, low_threshold=10)
        )
    await world.reserve(order(world, [(sku, 2)]))  # 10 left: not below
    assert await world.outbox("stock.low") == []
    await world.reserve(order(world, [(sku, 1)]))  # 9: crossed
    [low] = await world.outbox("stock.low")
    assert low["data"]["available"] == 9 and low["data"]["low_threshold"] == 10
    await world.reserve(order(world, [(sku, 1)]))  # still below: no new event
    assert len(await world.outbox("stock.low")) == 1


async def test_reservations_adjustments_and_transfers_run_concurrently_without_deadlock(world: World) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 40)
    await world.receive(sku, world.far, 40)
    seller = world.seller_principal

    async def reserve() -> str:
        return (await world.reserve(order(world, [(sku, 3)]))).status

    async def receipt() -> None:
        async with world.db.tenant_session(world.tenant) as session:
            await service.adjust(
                session, world.tenant, seller, [service.Adjustment("receipt", sku, world.far, 2, "po")]
            )

    async def move(src: uuid.UUID, dst: uuid.UUID) -> None:
        # A transfer out of a location whose units are all reserved is refused (a userError, not a
        # deadlock or an exception): that outcome depends on the interleaving, so it is allowed.
        try:
            async with world.db.tenant_session(world.tenant) as session:
                await service.transfer(
                    session, world.tenant, seller, service.Transfer(sku, src, dst, 1, "rebalance")
                )
        except UserInputError as exc:
            assert {e.code for e in exc.errors} == {"BELOW_ALLOCATED"}, exc

    work = [reserve() for _ in range(20)] + [receipt() for _ in range(5)]
    work += [move(world.near, world.far) for _ in range(5)] + [move(world.far, world.near) for _ in range(5)]
    results = await asyncio.gather(*work, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    near, far = await world.level(sku, world.near), await world.level(sku, world.far)
    assert near.on_hand + far.on_hand == 90
    assert near.reserved + far.reserved == 3 * results[:20].count("reserved")
    for level in (near, far):
        assert level.movement_sum == level.on_hand and level.reserved <= level.on_hand


async def test_an_adjustment_releases_expired_reservations_of_its_sku(world: World) -> None:
    sku, oid = uuid.uuid4(), uuid.uuid4()
    await world.receive(sku, world.near, 5)
    await world.reserve(order(world, [(sku, 5)], order_id=oid, reserve_for_seconds=1))
    await asyncio.sleep(1.2)
    await world.receive(sku, world.near, 1)
    assert (await world.level(sku, world.near)).reserved == 0
    [released] = await world.outbox("stock.released")
    assert released["data"]["order_id"] == str(oid) and released["data"]["reason"] == "expired"
