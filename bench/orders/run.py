"""Orders benchmark: placed orders per second through ONE gateway process with stock reservation
(the whole saga, to each order's final state), and reservations per second on ONE hot SKU (a flash
sale), each beside the same run's figure for the orders subgraph called directly (no gateway).

    python -m bench.orders [--orders 400] [--hot-orders 600] [--hot-stock 400] [--concurrency 64]

The stack is `bench.orders.stack` (every subgraph and the gateway as their own processes, a scratch
database, its own NATS; PostgreSQL/Redis embedded for the run, or the servers of DATABASE_URL /
REDIS_URL). Orders are `placeOrder(input: {lines: ...})` (one SKU, one unit) by Northwind's buyer;
the clock runs from the first request until every order is final (polled in the database).

Passes, in this order, each with its own SKU(s):
- `saga, spread SKUs, direct to orders` (reference) / `... through the gateway`: 8 SKUs with
  plenty of stock, every order ends `confirmed`;
- `flash sale, one SKU, direct to orders` (reference) / `... through the gateway`: `--hot-stock`
  units for `--hot-orders` one-unit orders: exactly `--hot-stock` end `confirmed`, the rest
  `reservation_failed`; zero oversell (level, reservation lines and movements checked).

`bench.stock` measures stock alone (SQL path and its subgraph fed straight from JetStream).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.orders.stack import ProcessStack, process_stack
from bench.runlock import exclusive_run
from shared.gateway_context import HEADER, Principal, sign_context
from subgraphs.orgs import seed as orgs
from subgraphs.stock import seed as stock_seed

TENANT = orgs.DEMO_TENANT_ID
FINAL = ("confirmed", "reservation_failed", "expired", "cancelled", "rejected")
PLACE = """mutation($key: String!, $sku: ID!, $q: Int!) {
  placeOrder(input: {idempotencyKey: $key, lines: [{skuId: $sku, quantity: $q}]}) {
    orders { id } userErrors { code message } } }"""
ADJUST = """mutation($i: StockAdjustInput!) { stockAdjust(input: $i) { userErrors { code message } } }"""

_used: set[uuid.UUID] = set()


@dataclass
class PassResult:
    name: str
    orders: int
    seconds: float
    confirmed: int
    failed: int
    placed_seconds: float = 0.0  # until the last placeOrder answered (the rest: the saga's events)
    retries: int = 0  # placeOrder answered DEPENDENCY_UNAVAILABLE and was sent again (same key)

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


async def fresh_sku(stack: ProcessStack, available: int) -> uuid.UUID:
    """A demo SKU of Bolt Industrial held only in Chicago and not ordered yet, counted to
    `available` (a COUNT adjustment through the gateway: the movement log stays the record)."""
    async with stack.db() as conn:
        rows = await conn.fetch(
            """SELECT l.sku_id FROM stock.levels l
               WHERE l.tenant_id = $1 AND l.location_id = $2 AND l.reserved = 0 AND l.committed = 0
                 AND l.safety_stock = 0
                 AND (SELECT count(*) FROM stock.levels o WHERE o.tenant_id = $1 AND o.sku_id = l.sku_id) = 1
                 AND NOT EXISTS (SELECT 1 FROM orders.order_lines ol WHERE ol.sku_id = l.sku_id)
               ORDER BY l.sku_id""",
            TENANT,
            stock_seed.CHICAGO_ID,
        )
    sku: uuid.UUID = next(r["sku_id"] for r in rows if r["sku_id"] not in _used)
    _used.add(sku)
    seller = await stack.login("sam@bolt-industrial.example")
    adjustment = {
        "kind": "COUNT",
        "skuId": str(sku),
        "locationId": str(stock_seed.CHICAGO_ID),
        "quantity": available,
        "reason": "counted for a saga test or benchmark",
    }
    reply = await stack.query(ADJUST, {"i": adjustment}, token=seller)
    if reply.errors or reply.data["stockAdjust"]["userErrors"]:
        raise RuntimeError(f"stockAdjust failed: {reply.body}")
    return sku


def _principal_of(token: str) -> Principal:
    """The principal the gateway derives from an orgs token (for calling a subgraph directly)."""
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return Principal(
        tenant_id=str(claims["tid"]),
        organization_id=str(claims["org_id"]),
        user_id=str(claims["sub"]),
        roles=tuple(claims.get("roles") or ()),
        scopes=tuple(str(claims.get("scope") or "").split()),
    )


class Placer:
    """Sends `placeOrder` either to the gateway (bearer token) or to the orders subgraph (a context
    signed with the gateway's secret, as the gateway would send it)."""

    def __init__(self, stack: ProcessStack, token: str, direct: bool) -> None:
        self.stack = stack
        self.direct = direct
        self.url = stack.subgraph_urls["orders"] if direct else stack.gateway_url
        self.token = token
        self.principal = _principal_of(token)
        self.retries = 0

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.direct:
            headers[HEADER] = sign_context(self.principal, self.stack.secret.encode())
        else:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    async def place(self, sku: uuid.UUID) -> str | None:
        """The order id. `DEPENDENCY_UNAVAILABLE` (pricing or catalog did not answer in time, on a
        loaded machine) and `SUBGRAPH_UNAVAILABLE` (the gateway's breaker) are retried with the
        same idempotency key, as a client is told to; counted."""
        body = {"query": PLACE, "variables": {"key": str(uuid.uuid4()), "sku": str(sku), "q": 1}}
        for _attempt in range(5):
            async with self.stack.http.post(
                self.url, data=orjson.dumps(body), headers=self._headers()
            ) as response:
                reply = orjson.loads(await response.read())
            codes = [(e.get("extensions") or {}).get("code") for e in reply.get("errors") or []]
            if codes and set(codes) <= {"DEPENDENCY_UNAVAILABLE", "SUBGRAPH_UNAVAILABLE"}:
                self.retries += 1
                await asyncio.sleep(0.2)
                continue
            break
        payload = (reply.get("data") or {}).get("placeOrder") or {}
        if reply.get("errors") or payload.get("userErrors") or not payload.get("orders"):
            raise RuntimeError(f"placeOrder failed: {reply}")
        return str(payload["orders"][0]["id"])


async def _final_counts(stack: ProcessStack, order_ids: list[str]) -> dict[str, int]:
    async with stack.db() as conn:
        rows = await conn.fetch(
            "SELECT state, count(*) AS n FROM orders.orders WHERE id = ANY($1::uuid[]) GROUP BY state",
            order_ids,
        )
    return {r["state"]: r["n"] for r in rows}


async def _run_pass(
    stack: ProcessStack, name: str, placer: Placer, skus: Sequence[uuid.UUID], orders: int, concurrency: int
) -> PassResult:
    gate = asyncio.Semaphore(concurrency)
    ids: list[str] = []

    async def one(i: int) -> None:
        async with gate:
            oid = await placer.place(skus[i % len(skus)])
            if oid:
                ids.append(oid)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(orders)))
    placed = time.perf_counter() - started
    while True:
        counts = await _final_counts(stack, ids)
        if sum(n for state, n in counts.items() if state in FINAL) >= orders:
            break
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"{name}: orders not final after 600 s: {counts}")
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    return PassResult(
        name,
        orders,
        seconds,
        counts.get("confirmed", 0),
        counts.get("reservation_failed", 0),
        placed,
        placer.retries,
    )


async def check_no_oversell(stack: ProcessStack, sku: uuid.UUID, stock: int, confirmed: int) -> None:
    """Level, reservation lines and movements agree: `confirmed` units committed, none held
    otherwise, on-hand unchanged and equal to the movement sum."""
    async with stack.db() as conn:
        level = await conn.fetchrow(
            "SELECT on_hand, reserved, committed FROM stock.levels WHERE sku_id = $1 AND location_id = $2",
            sku,
            stock_seed.CHICAGO_ID,
        )
        moved = await conn.fetchval(
            "SELECT coalesce(sum(delta), 0) FROM stock.movements WHERE sku_id = $1", sku
        )
        held = await conn.fetchval(
            """SELECT coalesce(sum(rl.quantity), 0) FROM stock.reservation_lines rl
               JOIN stock.reservations r ON r.id = rl.reservation_id
               WHERE rl.sku_id = $1 AND r.status IN ('active', 'committed')""",
            sku,
        )
    facts = (level["on_hand"], moved, level["reserved"], level["committed"], held)
    if facts != (stock, stock, 0, confirmed, confirmed) or confirmed > stock:
        raise AssertionError(
            f"oversell or lost units: on_hand, movements, reserved, committed, held = {facts}"
        )


async def run_bench(
    stack: ProcessStack, *, orders: int, hot_orders: int, hot_stock: int, concurrency: int
) -> list[PassResult]:
    token = await stack.login("bea@northwind.example", orgs.BUYER_ID)
    results: list[PassResult] = []
    for direct in (True, False):
        where = "direct to orders" if direct else "through the gateway"
        placer = Placer(stack, token, direct)
        spread = [await fresh_sku(stack, orders) for _ in range(8)]
        await placer.place(spread[0])  # warm: connections, prepared statements, caches
        result = await _run_pass(stack, f"saga, spread SKUs, {where}", placer, spread, orders, concurrency)
        if result.confirmed != orders:
            raise AssertionError(f"{result.name}: {result.confirmed} of {orders} confirmed")
        results.append(result)
    for direct in (True, False):
        where = "direct to orders" if direct else "through the gateway"
        placer = Placer(stack, token, direct)
        hot = await fresh_sku(stack, hot_stock)
        result = await _run_pass(
            stack, f"flash sale, one SKU, {where}", placer, [hot], hot_orders, concurrency
        )
        expected = (min(hot_orders, hot_stock), hot_orders - min(hot_orders, hot_stock))
        if (result.confirmed, result.failed) != expected:
            raise AssertionError(f"{result.name}: confirmed, failed = {(result.confirmed, result.failed)}")
        await check_no_oversell(stack, hot, hot_stock, result.confirmed)
        results.append(result)
    return results


def report(results: list[PassResult]) -> str:
    lines = [
        f"{'pass':<46} {'orders':>7} {'seconds':>8} {'orders/s':>9} {'vs direct':>9} {'placed in':>9}"
        "  confirmed/failed (retries)"
    ]
    reference: PassResult | None = None
    for result in results:
        if "direct" in result.name:
            reference = result
        ratio = result.per_second / reference.per_second if reference and reference.per_second else 1.0
        lines.append(
            f"{result.name:<46} {result.orders:>7} {result.seconds:>8.2f} {result.per_second:>9.1f} "
            f"{ratio:>8.2f}x {result.placed_seconds:>8.2f}s  "
            f"{result.confirmed}/{result.failed} ({result.retries})"
        )
    lines.append("zero oversell: checked on every flash-sale pass (level, reservation lines, movements)")
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> list[PassResult]:
    from devstack.services import start_services

    with tempfile.TemporaryDirectory(prefix="bench-orders-") as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        # PostgreSQL and Redis from DATABASE_URL / REDIS_URL when set, else embedded for this run.
        services = await asyncio.to_thread(start_services, Path(tmp), persistent=False)
        try:
            server = services.database_url
            async with process_stack(
                server, server, services.redis_url, logs, prefix="bench_orders"
            ) as stack:
                return await run_bench(
                    stack,
                    orders=args.orders,
                    hot_orders=args.hot_orders,
                    hot_stock=args.hot_stock,
                    concurrency=args.concurrency,
                )
        finally:
            services.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.orders", description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=400, help="orders per saga pass (default 400)")
    parser.add_argument("--hot-orders", type=int, default=600, help="one-unit orders on the hot SKU")
    parser.add_argument("--hot-stock", type=int, default=400, help="units of the hot SKU")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    args = parser.parse_args(argv)
    with exclusive_run():
        results = asyncio.run(_main(args))
    print(report(results), flush=True)
    return 0
