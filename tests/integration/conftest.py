"""The four saga subgraphs together on the real PostgreSQL and JetStream: orders, stock, finance
and logistics apps in-process (relays and durable consumers running), over a scratch database
migrated and seeded like `make up` (so stock's locations, logistics' warehouses and finance's
terms are the demo seed's, and the ids have to line up). No gateway: the tests drive the domains
through their services and check that each one's events move the others."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from devstack.asgi import serve_asgi
from shared.db import Database, app_database_url
from shared.events import EventEnvelope, ensure_stream
from shared.settings import Settings
from subgraphs.orders import service as orders_service
from subgraphs.orders.models import Order
from subgraphs.orgs import seed as orgs_seed
from subgraphs.stock import seed as stock_seed
from tests.scratch import scratch_database

TENANT = orgs_seed.DEMO_TENANT_ID
SUBGRAPHS = ("orgs", "catalog", "pricing", "orders", "stock", "finance", "logistics")


@dataclass
class Saga:
    db: Database
    nc: NatsClient
    js: JetStreamContext
    urls: dict[str, str]

    async def publish(self, envelope: EventEnvelope, *, msg_id: str | None = None) -> None:
        await ensure_stream(self.js, envelope.domain)
        await self.js.publish(
            envelope.subject, envelope.to_bytes(), headers={"Nats-Msg-Id": msg_id or str(envelope.id)}
        )

    async def settings(self, *, finance_decides: bool, reserve_for_seconds: int | None = 600) -> None:
        async with self.db.tenant_session(TENANT) as session:
            await orders_service.put_settings(
                session, TENANT, orders_service.Settings(not finance_decides, reserve_for_seconds)
            )

    async def place(
        self, buyer: uuid.UUID, lines: list[tuple[uuid.UUID, int, str]], *, seller: uuid.UUID | None = None
    ) -> Order:
        """One order of `seller` (Bolt Industrial) for [(sku, quantity, unit price)] in USD."""
        new_lines = [
            orders_service.NewLine(
                sku,
                qty,
                Decimal(price),
                (Decimal(price) * qty).quantize(Decimal("0.01")),
                seller or orgs_seed.SUPPLIER_ID,
                f"SKU-{i}",
                "demo item",
            )
            for i, (sku, qty, price) in enumerate(lines)
        ]
        async with self.db.tenant_session(TENANT) as session:
            _, orders = await orders_service.create_purchase(
                session,
                TENANT,
                orders_service.Placement(buyer, orgs_seed.BUYER_USER_ID, "USD", new_lines),
                actor="integration-test",
            )
        assert len(orders) == 1
        return orders[0]

    async def order(self, order_id: uuid.UUID) -> Order:
        async with self.db.tenant_session(TENANT) as session:
            order = await session.get(Order, order_id)
        assert order is not None
        return order

    async def state_is(self, order_id: uuid.UUID, state: str, within: float = 30.0) -> Order:
        async def probe() -> Order | None:
            order = await self.order(order_id)
            return order if order.state == state else None

        found: Order = await eventually(probe, within=within, what=f"order {order_id} {state}")
        return found

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.tenant_session(TENANT) as session:
            return list(await session.execute(text(sql), params))

    async def level(self, sku: uuid.UUID, location: uuid.UUID) -> tuple[int, int, int]:
        """(on_hand, reserved, committed) of a stock level."""
        rows = await self.rows(
            "SELECT on_hand, reserved, committed FROM stock.levels WHERE sku_id = :s AND location_id = :l",
            s=sku,
            l=location,
        )
        assert rows, (sku, location)
        return int(rows[0].on_hand), int(rows[0].reserved), int(rows[0].committed)


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, within: float = 30.0, what: str = "condition"
) -> Any:
    """Poll until `probe()` is truthy (loose bound: a busy CI machine)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not reached in {within}s")
        await asyncio.sleep(0.1)


def split_sku() -> tuple[uuid.UUID, int]:
    """A Bolt SKU the stock seed holds in Chicago and Dallas, and its Chicago on-hand."""
    chicago = {
        r["sku_id"]: r["on_hand"]
        for r in stock_seed.demo_levels()
        if r["location_id"] == stock_seed.CHICAGO_ID
    }
    dallas = {r["sku_id"] for r in stock_seed.demo_levels() if r["location_id"] == stock_seed.DALLAS_ID}
    hub = {r["sku_id"] for r in stock_seed.demo_levels() if r["location_id"] == stock_seed.HUB_ID}
    sku = next(s for s in sorted(chicago) if s in dallas and s not in hub)
    return sku, int(chicago[sku])


def chicago_skus(count: int, skip: int = 0) -> list[uuid.UUID]:
    """Bolt SKUs held in Chicago only (one location: one parcel)."""
    levels = stock_seed.demo_levels()
    elsewhere = {r["sku_id"] for r in levels if r["location_id"] != stock_seed.CHICAGO_ID}
    only = sorted(
        r["sku_id"]
        for r in levels
        if r["location_id"] == stock_seed.CHICAGO_ID and r["sku_id"] not in elsewhere and r["on_hand"] >= 20
    )
    return only[skip : skip + count]


@pytest.fixture(scope="package")
async def saga(service_urls: Any) -> AsyncIterator[Saga]:
    from devstack.migrate import upgrade_all_async
    from devstack.seed import seed_all
    from subgraphs.finance.app import create_app as finance_app
    from subgraphs.logistics.app import create_app as logistics_app
    from subgraphs.orders.app import create_app as orders_app
    from subgraphs.stock.app import create_app as stock_app

    async with scratch_database(service_urls.admin_url, "saga") as name:
        url = make_url(service_urls.database_url).set(database=name).render_as_string(hide_password=False)
        await upgrade_all_async(url, list(SUBGRAPHS))
        await seed_all(url, list(SUBGRAPHS))
        db = Database.from_url(app_database_url(url), pool_size=10)
        apps = {
            "orders": orders_app(Settings(), database=db),
            "stock": stock_app(Settings(), database=db),
            "finance": finance_app(Settings(), database=db),
            "logistics": logistics_app(Settings(), database=db, run_jobs=False),
        }
        nc = await nats.connect(service_urls.nats_url)
        try:
            async with (
                serve_asgi(apps["orders"]) as orders_url,
                serve_asgi(apps["stock"]) as stock_url,
                serve_asgi(apps["finance"]) as finance_url,
                serve_asgi(apps["logistics"]) as logistics_url,
            ):
                for app in apps.values():
                    await asyncio.wait_for(app.state.runtime.events_ready.wait(), timeout=30)
                urls = {
                    "orders": orders_url,
                    "stock": stock_url,
                    "finance": finance_url,
                    "logistics": logistics_url,
                }
                yield Saga(db, nc, nc.jetstream(), urls)
        finally:
            await nc.close()
            await db.dispose()
