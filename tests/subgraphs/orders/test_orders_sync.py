"""`syncOrderStatuses` on the real database: an ERP's status updates in bulk, only the state
machine's steps, all rows or none, idempotent per external reference."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from shared.db import Database, app_database_url
from shared.settings import get_settings
from shared.testing import gateway_headers, graphql
from subgraphs.orders import service

SYNC = """
mutation($input: SyncOrderStatusesInput!) {
  syncOrderStatuses(input: $input) {
    applied unchanged replayed
    results { externalReference orderId state outcome }
    userErrors { field code }
  }
}"""


@dataclass
class Shop:
    db: Database
    url: str
    tenant: uuid.UUID
    buyer: uuid.UUID
    seller: uuid.UUID

    async def orders(self, count: int, state: str = "confirmed") -> list[tuple[uuid.UUID, str]]:
        """`count` orders of the seller, moved to `state` directly (test setup, not a transition)."""
        out = []
        async with self.db.tenant_session(self.tenant) as session:
            for _ in range(count):
                line = service.NewLine(uuid.uuid4(), 1, Decimal("2.00"), Decimal("2.00"), self.seller)
                _, (order,) = await service.create_purchase(
                    session, self.tenant, service.Placement(self.buyer, None, "EUR", [line]), actor="test"
                )
                out.append((order.id, order.number))
            await session.execute(
                text("UPDATE orders.orders SET state = :s WHERE id = ANY(:ids)"),
                {"s": state, "ids": [o for o, _ in out]},
            )
        return out

    async def sync(self, rows: list[dict[str, Any]], org: uuid.UUID | None = None) -> Any:
        headers = gateway_headers(
            self.tenant, organization_id=org or self.seller, scopes=("orders:read",), user_id=uuid.uuid4()
        )
        status, body = await graphql(self.url, SYNC, {"input": {"rows": rows}}, headers=headers)
        assert status == 200 and "errors" not in body, body
        return body["data"]["syncOrderStatuses"]

    async def counts(self) -> tuple[int, int, int]:
        async with self.db.tenant_session(self.tenant) as session:
            transitions = await session.scalar(text("SELECT count(*) FROM orders.order_transitions"))
            synced = await session.scalar(text("SELECT count(*) FROM orders.sync_rows"))
        async with self.db.session() as session:
            await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
            outbox = await session.scalar(
                text("SELECT count(*) FROM orders.outbox WHERE tenant_id = :t"), {"t": self.tenant}
            )
        return int(transitions or 0), int(synced or 0), int(outbox or 0)

    async def states(self, ids: list[uuid.UUID]) -> list[str]:
        async with self.db.tenant_session(self.tenant) as session:
            found = dict(
                (
                    await session.execute(
                        text("SELECT id, state FROM orders.orders WHERE id = ANY(:ids)"), {"ids": ids}
                    )
                ).all()
            )
        return [found[i] for i in ids]


@pytest.fixture(scope="module")
async def orders_db(service_urls: Any) -> AsyncIterator[Database]:
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=4)
    yield db
    await db.dispose()


@pytest.fixture
async def shop(orders_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> Shop:
    from subgraphs.orders.app import create_app

    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    url = await serve_app(create_app(settings, database=orders_db))
    tenant, buyer, seller = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with orders_db.tenant_session(tenant) as session:
        for org in (buyer, seller):
            await service.upsert_org_unit(session, tenant, org, parent_id=None)
        await service.put_settings(session, tenant, service.Settings())
    return Shop(orders_db, url, tenant, buyer, seller)


def row(
    ref: str, status: str, *, order_id: uuid.UUID | None = None, number: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"externalReference": ref, "status": status}
    if order_id is not None:
        out["orderId"] = str(order_id)
    if number is not None:
        out["orderNumber"] = number
    return out


async def test_statuses_apply_in_order_replay_and_refuse_reuse(shop: Shop) -> None:
    (a, a_no), (b, _), (c, _) = await shop.orders(3)
    rows = [
        row("erp-a-ship", "SHIPPED", number=a_no),
        row("erp-a-deliver", "DELIVERED", order_id=a),  # the same order, later step, same call
        row("erp-b-partial", "PARTIALLY_SHIPPED", order_id=b),
        row("erp-c-cancel", "CANCELLED", order_id=c),
    ]
    before = await shop.counts()
    done = await shop.sync(rows)
    assert done["userErrors"] == [] and done["applied"] == 4
    assert [r["state"] for r in done["results"]] == ["SHIPPED", "DELIVERED", "PARTIALLY_SHIPPED", "CANCELLED"]
    assert await shop.states([a, b, c]) == ["delivered", "partially_shipped", "cancelled"]
    after = await shop.counts()
    assert after == (before[0] + 4, 4, before[2] + 4)  # a transition and an event per step

    again = await shop.sync(rows)
    assert again["replayed"] == 4 and await shop.counts() == after
    reused = await shop.sync([row("erp-b-partial", "SHIPPED", order_id=b)])
    assert reused["userErrors"] == [
        {"field": ["rows", "0", "externalReference"], "code": "EXTERNAL_REFERENCE_REUSED"}
    ]
    # Already there (logistics reported it first): no transition, recorded as unchanged.
    same = await shop.sync([row("erp-b-partial-2", "PARTIALLY_SHIPPED", order_id=b)])
    assert [r["outcome"] for r in same["results"]] == ["UNCHANGED"] and (await shop.counts())[0] == after[0]


async def test_a_refused_step_or_a_foreign_order_leaves_nothing_applied(shop: Shop) -> None:
    confirmed = await shop.orders(20)
    ((placed_id, _),) = await shop.orders(1, state="placed")
    rows = [row(f"ok-{i}", "SHIPPED", order_id=o) for i, (o, _) in enumerate(confirmed)]
    rows.append(row("bad-step", "DELIVERED", order_id=placed_id))  # placed -> delivered: not an edge
    before = await shop.counts()
    refused = await shop.sync(rows)
    assert refused["userErrors"] == [{"field": ["rows", "20", "status"], "code": "INVALID_TRANSITION"}]
    assert await shop.counts() == before
    assert set(await shop.states([o for o, _ in confirmed])) == {"confirmed"}
    # Another organization (not buyer nor seller) cannot name the orders; another tenant neither.
    stranger = await shop.sync(rows[:2], org=uuid.uuid4())
    assert [e["code"] for e in stranger["userErrors"]] == ["NOT_FOUND", "NOT_FOUND"]
    # The buyer may cancel but not report fulfilment.
    buyer = await shop.sync(rows[:1], org=shop.buyer)
    assert [e["code"] for e in buyer["userErrors"]] == ["FORBIDDEN"]
    assert await shop.counts() == before
    bad = await shop.sync(
        [
            {"externalReference": "x", "status": "SHIPPED"},
            {"externalReference": "y", "status": "SHIPPED", "orderId": "nope"},
        ]
    )
    assert [e["code"] for e in bad["userErrors"]] == ["ORDER_ID_OR_NUMBER", "INVALID"]
    too_many = await shop.sync([row(f"r{i}", "SHIPPED", order_id=placed_id) for i in range(5001)])
    assert [e["code"] for e in too_many["userErrors"]] == ["TOO_MANY_ROWS"]


@pytest.mark.slow
async def test_a_5000_row_batch(shop: Shop) -> None:
    orders = await shop.orders(2500)
    rows = [
        r
        for i, (o, _) in enumerate(orders)
        for r in (row(f"s{i}", "SHIPPED", order_id=o), row(f"d{i}", "DELIVERED", order_id=o))
    ]
    started = time.monotonic()
    done = await shop.sync(rows)
    elapsed = time.monotonic() - started
    assert done["userErrors"] == [] and done["applied"] == 5000
    assert set(await shop.states([o for o, _ in orders])) == {"delivered"}
    print(f"5,000 status rows: {elapsed:.1f} s")
    assert elapsed < 120
