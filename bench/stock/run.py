"""Flash-sale benchmark: reservations per second on ONE hot SKU, zero oversell checked at the end.

    python -m bench.stock [--orders 3000] [--stock 2000] [--workers 32] [--batch 128]

Uses DATABASE_URL / NATS_URL when set (servers: a fresh `bench_stock_*` database is created and
dropped), else starts the embedded PostgreSQL and NATS in a temporary folder. Every pass uses its
own SKU with `--stock` units and `--orders` one-unit orders (more demand than stock, as in a flash
sale), application role with RLS on, and checks at the end: reserved == min(orders, stock), the
reservation lines sum to the level, on_hand unchanged, every order has exactly one outcome event.

Passes (side by side in one run; the first is the reference the others are divided by):
- `sql, one order per transaction`: `--workers` concurrent reservers calling the service
  (`reserve_orders`) directly, each order its own transaction (the unbatched consumer path);
- `sql, batched`: the same orders in transactions of `--batch` orders (what the consumer does
  with one JetStream fetch);
- `end to end (JetStream)`: the stock subgraph in its own process (uvicorn, as deployed: batched
  `ReserveOnOrderPlaced` consumer, outbox relay, sweeper); `orders.placed` events published to the
  ORDERS stream from this process (as the orders subgraph would), timed until every
  `stock.reserved` / `stock.reservation_failed` has arrived on the STOCK stream.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import nats
import orjson
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.runlock import exclusive_run
from devstack.migrate import upgrade_all
from devstack.ports import free_port
from devstack.services import start_services
from shared.db import Database, app_database_url, libpq_url
from shared.events import EventEnvelope, ensure_stream
from shared.gateway_context import Principal
from subgraphs.stock import reservations, service
from subgraphs.stock.allocation import Line
from subgraphs.stock.consumers import ReserveOnOrderPlaced

TENANT = uuid.UUID("5c0ffee0-0000-4000-8000-0000000057c0")
SELLER = uuid.UUID("5c0ffee0-0000-4000-8000-000000000002")
LOCATION = uuid.UUID("5c0ffee0-0000-4000-8000-0000000000a1")
ADMIN = Principal(str(TENANT), None, None, ("platform_admin",), ())


@dataclass
class PassResult:
    name: str
    orders: int
    seconds: float
    reserved: int
    failed: int

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


@contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    """(PostgreSQL server URL, NATS URL): from the environment, or embedded for this run."""
    if os.environ.get("DATABASE_URL") and os.environ.get("NATS_URL"):
        yield os.environ["DATABASE_URL"], os.environ["NATS_URL"]
        return
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        env = {**os.environ, "REDIS_URL": "redis://unused"}
        services = start_services(Path(tmp), persistent=False, env=env)
        try:
            yield services.database_url, services.nats_url
        finally:
            services.stop()


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    name = f"bench_stock_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(libpq_url(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_all, url, ["stock"])
        yield url
    finally:
        admin = await asyncpg.connect(libpq_url(server_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _prepare(db: Database, stock: int) -> uuid.UUID:
    """A fresh hot SKU with `stock` units received at the seller's warehouse."""
    sku = uuid.uuid4()
    async with db.tenant_session(TENANT) as session:
        exists = await session.scalar(text("SELECT 1 FROM stock.locations WHERE id = :id"), {"id": LOCATION})
        if not exists:
            await service.create_location(
                session,
                TENANT,
                ADMIN,
                service.NewLocation(SELLER, "HOT", "Hot warehouse", "warehouse", id=LOCATION),
            )
        await service.adjust(
            session, TENANT, ADMIN, [service.Adjustment("receipt", sku, LOCATION, stock, "bench")]
        )
    return sku


def _order(sku: uuid.UUID) -> reservations.PlacedOrder:
    return reservations.PlacedOrder(uuid.uuid4(), SELLER, (Line("1", sku, 1),))


async def _check(db: Database, sku: uuid.UUID, stock: int, orders: int, outcomes: int) -> tuple[int, int]:
    """Zero oversell: returns (reserved, failed); raises when any invariant is broken."""
    async with db.tenant_session(TENANT) as session:
        level = (
            await session.execute(
                text("SELECT on_hand, reserved, committed FROM stock.levels WHERE sku_id = :s"), {"s": sku}
            )
        ).one()
        held = await session.scalar(
            text("SELECT coalesce(sum(quantity), 0) FROM stock.reservation_lines WHERE sku_id = :s"),
            {"s": sku},
        )
    reserved = int(level.reserved)
    expected = min(stock, orders)
    problems = []
    if level.on_hand != stock:
        problems.append(f"on_hand {level.on_hand} != {stock}")
    if reserved != expected or held != reserved:
        problems.append(f"reserved {reserved}, lines {held}, expected {expected}")
    if outcomes != orders:
        problems.append(f"{outcomes} outcomes for {orders} orders")
    if problems:
        raise AssertionError("oversell check failed: " + "; ".join(problems))
    return reserved, orders - reserved


async def pass_sql_single(db: Database, orders: int, stock: int, workers: int) -> PassResult:
    sku = await _prepare(db, stock)
    queue = [_order(sku) for _ in range(orders)]
    outcomes = 0

    async def worker() -> None:
        nonlocal outcomes
        while queue:
            order = queue.pop()
            async with db.tenant_session(TENANT) as session:
                await reservations.reserve_orders(session, TENANT, [order])
            outcomes += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    seconds = time.perf_counter() - t0
    reserved, failed = await _check(db, sku, stock, orders, outcomes)
    return PassResult("sql, one order per transaction", orders, seconds, reserved, failed)


async def pass_sql_batched(db: Database, orders: int, stock: int, workers: int, batch: int) -> PassResult:
    sku = await _prepare(db, stock)
    queue = [_order(sku) for _ in range(orders)]
    outcomes = 0

    async def worker() -> None:
        nonlocal outcomes
        while queue:
            chunk = [queue.pop() for _ in range(min(batch, len(queue)))]
            async with db.tenant_session(TENANT) as session:
                done = await reservations.reserve_orders(session, TENANT, chunk)
            outcomes += len(done)  # after the await: `x += await ...` would read x before it

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, workers // 8))))
    seconds = time.perf_counter() - t0
    reserved, failed = await _check(db, sku, stock, orders, outcomes)
    return PassResult(f"sql, batches of {batch}", orders, seconds, reserved, failed)


@contextmanager
def stock_subgraph(database_url: str, nats_url: str) -> Iterator[str]:
    """The real stock subgraph in its own process (uvicorn, consumers, relay, sweeper)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url, "B2B_DB_POOL_SIZE": "10"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "subgraphs.stock.app:create_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _wait_ready(base_url: str) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            try:
                async with client.get(f"{base_url}/healthz") as response:
                    body = await response.json()
                    if body.get("events") == "connected":
                        await asyncio.sleep(1.0)  # consumers subscribed
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the stock subgraph did not start")


async def pass_jetstream(
    db: Database, js: JetStreamContext, database_url: str, nats_url: str, orders: int, stock: int
) -> PassResult:
    """`orders.placed` in (published here, as the orders subgraph would) -> the stock subgraph
    process -> `stock.reserved` / `stock.reservation_failed` out on the STOCK stream."""
    sku = await _prepare(db, stock)
    await ensure_stream(js, "orders")
    await ensure_stream(js, "stock")
    seen = 0
    reserved_events = 0
    done = asyncio.Event()

    async def on_stock(msg: Any) -> None:
        nonlocal seen, reserved_events
        event = orjson.loads(msg.data)
        kind = event["type"]
        if kind == "stock.reserved":
            mine = event["data"]["allocations"][0]["sku_id"] == str(sku)
        elif kind == "stock.reservation_failed":
            mine = event["data"]["lines"][0]["sku_id"] == str(sku)
        else:
            return
        if mine:
            seen += 1
            reserved_events += kind == "stock.reserved"
            if seen >= orders:
                done.set()

    events = [
        EventEnvelope.new(
            "orders",
            "placed",
            tenant_id=TENANT,
            subject_id=o.order_id,
            data={
                "order_id": str(o.order_id),
                "seller_organization_id": str(SELLER),
                "lines": [{"line_id": "1", "sku_id": str(sku), "quantity": 1}],
                "delivery": None,
                "reserve_for_seconds": None,
            },
        )
        for o in (_order(sku) for _ in range(orders))
    ]
    with stock_subgraph(database_url, nats_url) as base_url:
        await _wait_ready(base_url)
        sub = await js.subscribe(f"stock.{TENANT}.>", ordered_consumer=True, cb=on_stock)
        t0 = time.perf_counter()
        try:
            for start in range(0, len(events), 500):
                await asyncio.gather(
                    *(
                        js.publish(e.subject, e.to_bytes(), headers={"Nats-Msg-Id": str(e.id)})
                        for e in events[start : start + 500]
                    )
                )
            await asyncio.wait_for(done.wait(), timeout=max(60.0, orders / 20))
        finally:
            seconds = time.perf_counter() - t0
            await sub.unsubscribe()
    reserved, failed = await _check(db, sku, stock, orders, seen)
    if reserved != reserved_events:
        raise AssertionError(f"{reserved_events} stock.reserved events for {reserved} reserved units")
    batch = ReserveOnOrderPlaced.batch
    return PassResult(f"end to end (JetStream, fetch {batch})", orders, seconds, reserved, failed)


async def run_bench(
    database_url: str, nats_url: str, *, orders: int, stock: int, workers: int, batch: int
) -> list[PassResult]:
    """All passes against an already migrated database (owner URL); the app role is used."""
    db = Database.from_url(app_database_url(database_url), pool_size=min(workers, 40), max_overflow=4)
    nc = await nats.connect(nats_url)
    try:
        results = [await pass_sql_single(db, orders, stock, workers)]
        results.append(await pass_sql_batched(db, orders, stock, workers, batch))
        results.append(await pass_jetstream(db, nc.jetstream(), database_url, nats_url, orders, stock))
        return results
    finally:
        await nc.close()
        await db.dispose()


def report(results: list[PassResult]) -> str:
    reference = results[0].per_second or 1.0
    lines = [
        f"{'pass':<36} {'orders':>7} {'seconds':>8} {'orders/s':>9} {'reserved':>9} "
        f"{'failed':>7} {'ratio':>6}",
    ]
    for r in results:
        lines.append(
            f"{r.name:<36} {r.orders:>7} {r.seconds:>8.2f} {r.per_second:>9.0f} {r.reserved:>9} "
            f"{r.failed:>7} {r.per_second / reference:>5.2f}x"
        )
    lines.append("one hot SKU; zero oversell checked after every pass; ratio vs the first pass (same run)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stock", description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--stock", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)

    async def go(server_url: str, nats_url: str) -> list[PassResult]:
        async with scratch_database(server_url) as url:
            return await run_bench(
                url, nats_url, orders=args.orders, stock=args.stock, workers=args.workers, batch=args.batch
            )

    with exclusive_run(), _servers() as (server_url, nats_url):
        results = asyncio.run(go(server_url, nats_url))
    print(report(results))
    return 0
