"""What the saga tests share: a SKU with exactly N units, placing through the gateway, waiting for
every order to end, and the whole-system bookkeeping checks (levels vs movements vs orders)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

from bench.orders import run
from bench.orders.stack import ProcessStack
from subgraphs.orgs import seed as orgs
from subgraphs.stock import seed as stock_seed

TENANT = orgs.DEMO_TENANT_ID
RETRYABLE = frozenset({"DEPENDENCY_UNAVAILABLE", "SUBGRAPH_UNAVAILABLE"})
FINAL = ("confirmed", "reservation_failed", "expired", "cancelled", "rejected")
PLACE = """mutation($key: String!, $sku: ID!, $q: Int!) {
  placeOrder(input: {idempotencyKey: $key, lines: [{skuId: $sku, quantity: $q}]}) {
    replayed orders { id state } userErrors { field code message } } }"""


async def fresh_sku(stack: ProcessStack, available: int) -> uuid.UUID:
    """A demo SKU held in one place only, counted to `available` (`bench.orders.run.fresh_sku`)."""
    return await run.fresh_sku(stack, available)


async def buyer_token(stack: ProcessStack) -> str:
    return await stack.login("bea@northwind.example", orgs.BUYER_ID)


async def place(
    stack: ProcessStack, token: str, sku: uuid.UUID, quantity: int = 1, key: str | None = None
) -> Any:
    """One `placeOrder` with `lines` through the gateway; the reply's body. `DEPENDENCY_UNAVAILABLE`
    (pricing/catalog slow on a loaded machine) and `SUBGRAPH_UNAVAILABLE` (the gateway's breaker for
    orders open or half-open, e.g. after a restart) are retried with the same key, as clients are
    told to: the key makes a retry safe."""
    variables = {"key": key or f"saga-{uuid.uuid4()}", "sku": str(sku), "q": quantity}
    for _attempt in range(40):
        reply = await stack.query(PLACE, variables, token=token)
        codes = {(e.get("extensions") or {}).get("code") for e in reply.errors}
        if not codes or not codes <= RETRYABLE:
            break
        await asyncio.sleep(0.3)
    return reply.body


async def orders_of(stack: ProcessStack, sku: uuid.UUID) -> list[Any]:
    async with stack.db() as conn:
        return list(
            await conn.fetch(
                """SELECT o.id, o.state, o.state_reason, ol.quantity FROM orders.orders o
                   JOIN orders.order_lines ol ON ol.order_id = o.id WHERE ol.sku_id = $1""",
                sku,
            )
        )


async def wait_final(stack: ProcessStack, sku: uuid.UUID, expected: int, within: float = 120) -> list[Any]:
    """Poll until `expected` orders of `sku` exist and all are in a final state (or time runs out)."""
    deadline = time.monotonic() + within
    while True:
        rows = await orders_of(stack, sku)
        if (len(rows) >= expected and all(r["state"] in FINAL for r in rows)) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.5)


async def bookkeeping(stack: ProcessStack, sku: uuid.UUID) -> dict[str, Any]:
    """The SKU's level, its movement sum, and the reservation lines by status."""
    async with stack.db() as conn:
        level = await conn.fetchrow(
            "SELECT on_hand, reserved, committed FROM stock.levels WHERE sku_id = $1 AND location_id = $2",
            sku,
            stock_seed.CHICAGO_ID,
        )
        movements = await conn.fetchval(
            "SELECT coalesce(sum(delta), 0) FROM stock.movements WHERE sku_id = $1 AND location_id = $2",
            sku,
            stock_seed.CHICAGO_ID,
        )
        lines = await conn.fetch(
            """SELECT r.order_id, r.status, rl.quantity FROM stock.reservations r
               JOIN stock.reservation_lines rl ON rl.reservation_id = r.id WHERE rl.sku_id = $1""",
            sku,
        )
    by_status: Counter[str] = Counter()
    per_order: Counter[uuid.UUID] = Counter()
    for row in lines:
        by_status[row["status"]] += row["quantity"]
        if row["status"] in ("active", "committed"):
            per_order[row["order_id"]] += row["quantity"]
    return {
        "on_hand": level["on_hand"],
        "reserved": level["reserved"],
        "committed": level["committed"],
        "movements": movements,
        "by_status": by_status,
        "held_per_order": per_order,
        "reservations": list(lines),
    }


def assert_consistent(rows: list[Any], book: dict[str, Any], on_hand: int) -> None:
    """Orders' final states against stock: every confirmed order holds exactly its units committed,
    no other order holds any, nothing is active, on-hand unchanged and equal to the movement sum,
    and never more held than there is."""
    assert book["on_hand"] == on_hand == book["movements"], book
    assert book["reserved"] == 0 and book["by_status"].get("active", 0) == 0, book
    confirmed = {r["id"]: r["quantity"] for r in rows if r["state"] == "confirmed"}
    assert dict(book["held_per_order"]) == confirmed, (book["held_per_order"], confirmed)
    assert book["committed"] == sum(confirmed.values()) <= on_hand, book
    stuck = [r for r in rows if r["state"] not in FINAL]
    assert not stuck, stuck
