"""The saga's stock side over the real NATS JetStream: orders events in (published by the test,
as the orders subgraph will), stock events out through the outbox relay; replays change nothing;
a consumer process killed mid-batch loses and doubles nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.js import JetStreamContext
from sqlalchemy import text

from shared.db import Database, app_database_url
from shared.events import EventEnvelope, ensure_stream
from tests.subgraphs.stock.consumer_crash_child import consumer_class
from tests.subgraphs.stock.helpers import World, placed


@pytest.fixture
async def js(service_urls: Any) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(service_urls.nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "orders")
        await ensure_stream(js, "stock")
        yield js
    finally:
        await nc.close()


@pytest.fixture
async def running_stock(
    service_urls: Any, stock_db: Database, serve_app: Callable[[Any], Awaitable[str]]
) -> str:
    from shared.settings import get_settings
    from subgraphs.stock.app import create_app

    settings = get_settings().model_copy(
        update={"outbox_relay_enabled": True, "nats_url": service_urls.nats_url}
    )
    return await serve_app(create_app(settings, database=stock_db, sweep_interval=0.5))


async def publish(js: JetStreamContext, event: EventEnvelope, msg_id: str | None = None) -> None:
    await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": msg_id or str(event.id)})


def orders_event(w: World, name: str, data: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope.new("orders", name, tenant_id=w.tenant, subject_id=data["order_id"], data=data)


async def stock_events(
    js: JetStreamContext, w: World, count: int, within: float = 20.0
) -> list[dict[str, Any]]:
    """The first `count` saga events of this tenant on the STOCK stream (adjusted/low left out)."""
    sub = await js.subscribe(f"stock.{w.tenant}.>", ordered_consumer=True)
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    try:
        while len(out) < count and time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=max(0.1, deadline - time.monotonic()))
            except (nats.errors.TimeoutError, TimeoutError):
                break
            event = orjson.loads(msg.data)
            if event["type"] not in ("stock.adjusted", "stock.low"):
                out.append(event)
    finally:
        await sub.unsubscribe()
    return out


async def wait_for(predicate: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_placed_reserved_paid_committed_over_jetstream(
    world: World, js: JetStreamContext, running_stock: str
) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 10)
    data = placed(world, [(sku, 4)])
    event = orders_event(world, "placed", data)
    await publish(js, event)
    await publish(js, event)  # same Nats-Msg-Id: JetStream drops it
    again = orders_event(world, "placed", data)  # same order under a new event id
    await publish(js, again)
    [reserved] = [e for e in await stock_events(js, world, 1) if e["type"] == "stock.reserved"]
    assert reserved["data"]["order_id"] == data["order_id"]
    assert reserved["data"]["allocations"][0]["quantity"] == 4
    rid = reserved["data"]["reservation_id"]
    pay = orders_event(
        world,
        "payment_approved",
        {"order_id": data["order_id"], "reservation_id": rid, "approved_by": None, "method": "setting"},
    )
    await publish(js, pay)
    events = await stock_events(js, world, 2)
    assert [e["type"] for e in events] == ["stock.reserved", "stock.committed"]
    await asyncio.sleep(1.0)  # let the consumers see the duplicate too
    level = await world.level(sku, world.near)
    assert (level.reserved, level.committed) == (0, 4)
    assert len(await world.outbox("stock.reserved")) == 1
    cancel = orders_event(
        world,
        "cancelled",
        {
            "order_id": data["order_id"],
            "from": "confirmed",
            "to": "cancelled",
            "reason": "buyer",
            "actor": None,
            "reservation_id": rid,
        },
    )
    await publish(js, cancel)
    events = await stock_events(js, world, 3)
    assert events[-1]["type"] == "stock.released" and events[-1]["data"]["reason"] == "cancelled"
    assert (await world.level(sku, world.near)).committed == 0


async def test_failure_and_expiry_events(world: World, js: JetStreamContext, running_stock: str) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 2)
    too_much = placed(world, [(sku, 3)])
    short_lived = placed(world, [(sku, 2)], reserve_for_seconds=1)
    await publish(js, orders_event(world, "placed", too_much))
    await publish(js, orders_event(world, "placed", short_lived))
    events = await stock_events(js, world, 3, within=25.0)
    by_type = {e["type"]: e for e in events}
    assert by_type["stock.reservation_failed"]["data"]["reason"] == "INSUFFICIENT_STOCK"
    assert by_type["stock.reservation_failed"]["data"]["lines"][0] | {"line_id": None} == {
        "line_id": None,
        "sku_id": str(sku),
        "requested": 3,
        "available": 2,
    }
    assert by_type["stock.released"]["data"]["reason"] == "expired"  # the app's sweeper
    pay = orders_event(
        world,
        "payment_approved",
        {
            "order_id": short_lived["order_id"],
            "reservation_id": None,
            "approved_by": None,
            "method": "setting",
        },
    )
    await publish(js, pay)
    events = await stock_events(js, world, 4)
    assert events[-1]["type"] == "stock.commit_failed"
    assert events[-1]["data"]["reason"] == "RESERVATION_EXPIRED"
    assert (await world.level(sku, world.near)).reserved == 0


async def test_batch_path_applies_each_event_once(
    world: World, stock_db: Database, js: JetStreamContext
) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 10)
    cls = consumer_class(str(world.tenant))
    consumer = cls(stock_db, js)
    e1 = orders_event(world, "placed", placed(world, [(sku, 1)]))
    e2 = orders_event(world, "placed", placed(world, [(sku, 2)]))
    assert await consumer.process_batch([e1, e1, e2]) == 2
    assert await consumer.process_batch([e1, e2]) == 0  # redelivered: already applied
    assert await consumer.process(e1) is False
    assert (await world.level(sku, world.near)).reserved == 3


async def test_consumer_killed_mid_batch_loses_and_doubles_nothing(
    world: World, stock_db: Database, js: JetStreamContext, service_urls: Any, repo_root: Path
) -> None:
    sku = uuid.uuid4()
    await world.receive(sku, world.near, 60)
    orders = [placed(world, [(sku, 1)]) for _ in range(100)]
    for data in orders:
        await publish(js, orders_event(world, "placed", data))
    app_url = app_database_url(service_urls.database_url).render_as_string(hide_password=False)
    child = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tests.subgraphs.stock.consumer_crash_child",
            app_url,
            service_urls.nats_url,
            str(world.tenant),
        ],
        cwd=repo_root,
        timeout=120,
        capture_output=True,
    )
    assert child.returncode == 17, child.stderr.decode()[-2000:]

    async def count() -> int:
        async with stock_db.tenant_session(world.tenant) as session:
            return int(await session.scalar(text("SELECT count(*) FROM stock.reservations")) or 0)

    done_by_child = await count()
    assert 16 < done_by_child < 100  # the second batch committed, the rest was left
    restarted = consumer_class(str(world.tenant))(stock_db, js)
    stop = asyncio.Event()
    task = asyncio.create_task(restarted.run(stop))
    try:
        await wait_for(lambda: _equals(count, 100), within=60)
        await asyncio.sleep(3.0)  # ack_wait passes: the unacked batch is redelivered and skipped
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert await count() == 100
    async with stock_db.tenant_session(world.tenant) as session:
        statuses = dict(
            (
                await session.execute(text("SELECT status, count(*) FROM stock.reservations GROUP BY status"))
            ).all()
        )
        held = await session.scalar(text("SELECT coalesce(sum(quantity), 0) FROM stock.reservation_lines"))
    assert statuses == {"active": 60, "failed": 40}
    level = await world.level(sku, world.near)
    assert level.reserved == held == 60
    assert level.movement_sum == level.on_hand == 60
    assert len(await world.outbox("stock.reserved")) == 60


async def _equals(fetch: Callable[[], Awaitable[int]], value: int) -> bool:
    return await fetch() == value
