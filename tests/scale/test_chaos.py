"""Chaos on loopback: two gateway processes, two replicas of every subgraph (each set on one
shared socket, as pods behind a Service) and a 3-node JetStream cluster with R3 streams, under a
bounded loop of order placements while, one after the other, a gateway process, an orders replica,
a stock replica and a NATS node are SIGKILLed and started again.

What must hold (and is reported on stdout, `-s`):
- no request fails beyond the ones in flight on the killed process: at most one per load worker
  per kill (a worker has one request in flight); a failed placement is retried with its
  idempotency key, as clients are told to, and every key ends with exactly one order;
- no event lost or applied twice: every outbox row is published, each stream holds exactly the
  outbox's events (JetStream dedupe absorbs republishing), stock applied every `orders.placed`
  once, and the stock bookkeeping matches the orders;
- no order stuck: every order reaches a final state.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import nats
import orjson
import pytest
import pytest_asyncio

from bench.orders.stack import ProcessStack, process_stack
from devstack.services import ServiceUrls
from shared.events.streams import stream_name_for
from tests.saga import helpers

pytestmark = pytest.mark.slow  # about twenty processes; a few minutes on a loaded machine

WORKERS = 4
UNITS = 100_000  # plenty: every placement confirms, so a lost or doubled event shows in the books
SETTLE = 4.0  # seconds of load between two disruptions


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chaos(
    service_urls: ServiceUrls, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProcessStack]:
    logs = tmp_path_factory.mktemp("chaos")
    async with process_stack(
        service_urls.database_url,
        service_urls.admin_url,
        service_urls.redis_url,
        logs,
        prefix="chaos",
        replicas=2,
        gateways=2,
        nats_cluster=3,
        # The gateway's breaker is per subgraph (one Service address), so the death of one of two
        # replicas must not open it: its threshold sits above what one replica has in flight.
        extra_env={"GATEWAY_SUBGRAPH_TIMEOUT": "60", "GATEWAY_BREAKER_FAILURE_THRESHOLD": str(3 * WORKERS)},
    ) as stack:
        yield stack


@dataclass
class Load:
    """The load loop's record: failures by phase and kind, the keys placed and their attempts."""

    phase: str = "warm-up"
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    keys: dict[str, int] = field(default_factory=dict)  # idempotency key -> attempts
    placed: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def _place(http: aiohttp.ClientSession, url: str, token: str, sku: uuid.UUID, key: str) -> str | None:
    """One attempt; None when it placed the order, else what went wrong."""
    payload = {"query": helpers.PLACE, "variables": {"key": key, "sku": str(sku), "q": 1}}
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    try:
        async with http.post(url, data=orjson.dumps(payload), headers=headers) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"transport:{type(exc).__name__}"
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return f"http:{status}"
    errors = body.get("errors") or []
    if errors:
        return "code:" + ",".join(sorted({str((e.get("extensions") or {}).get("code")) for e in errors}))
    result = (body.get("data") or {}).get("placeOrder") or {}
    if result.get("userErrors"):
        return "user:" + ",".join(sorted(str(e.get("code")) for e in result["userErrors"]))
    return None if result.get("orders") else f"http:{status}"


async def _worker(load: Load, url: str, token: str, sku: uuid.UUID) -> None:
    # A new connection per request: a request fails only if it was in flight on a killed process
    # (a pooled keep-alive connection to it would fail a request sent after the kill too).
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=90)) as http:
        while not load.stop.is_set():
            key = f"chaos-{uuid.uuid4()}"
            load.keys[key] = 0
            for _attempt in range(60):
                load.keys[key] += 1
                problem = await _place(http, url, token, sku, key)
                if problem is None:
                    load.placed += 1
                    break
                load.failures[(load.phase, problem)] += 1
                await asyncio.sleep(0.3)  # then the same key again: the retry is safe
            else:
                raise AssertionError(f"placement {key} never succeeded: {load.failures}")


def _kill(stack: ProcessStack, name: str) -> Callable[[], None]:
    def disrupt() -> None:
        proc = stack.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)
        proc.stop()
        time.sleep(0.5)
        if name.startswith("gateway"):
            stack.start_gateway(0 if name == "gateway" else int(name.rsplit("-", 1)[1]) - 1)
        else:
            stack.start_subgraph(name)
        stack.wait_healthy(name)

    return disrupt


async def _published_everything(stack: ProcessStack, within: float = 120) -> dict[str, tuple[int, int]]:
    """{domain: (outbox rows, messages in its stream)} once every outbox is drained and each stream
    holds as many messages as its outbox has rows. The saga goes on after the orders are final
    (shipments, pick waves, invoices), so a snapshot may catch a row committed but not yet
    published: poll until both sides agree; a lost event (fewer) or a doubled one (more) never does."""
    nc = await nats.connect(stack.nats_url.split(","))
    try:
        js = nc.jetstream()
        async with stack.db() as conn:
            found = "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
            schemas = [r["table_schema"] for r in await conn.fetch(found)]
            deadline = time.monotonic() + within
            while True:
                counts: dict[str, tuple[int, int]] = {}
                pending = 0
                for schema in schemas:
                    pending += int(await conn.fetchval(
                        f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL'))  # fmt: skip
                    rows = int(await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox'))
                    if rows:
                        info = await js.stream_info(stream_name_for(schema))
                        counts[schema] = (rows, int(info.state.messages))
                agreed = pending == 0 and all(n == m for n, m in counts.values())
                if agreed or time.monotonic() > deadline:
                    return counts
                await asyncio.sleep(1.0)
    finally:
        await nc.close()


async def test_placements_survive_killed_gateway_subgraph_replica_and_nats_node(chaos: ProcessStack) -> None:
    stack = chaos
    sku = await helpers.fresh_sku(stack, UNITS)
    token = await helpers.buyer_token(stack)
    load = Load()
    workers = [asyncio.create_task(_worker(load, stack.gateway_url, token, sku)) for _ in range(WORKERS)]
    disruptions: list[tuple[str, Callable[[], None]]] = [
        ("gateway killed", _kill(stack, "gateway")),
        ("orders replica killed", _kill(stack, "orders")),
        ("stock replica killed", _kill(stack, "stock-2")),
        ("NATS node killed", lambda: stack.restart_nats_node(0, down_for=1.0)),
    ]
    timings: dict[str, float] = {}
    try:
        await asyncio.sleep(SETTLE)
        for phase, disrupt in disruptions:
            assert not any(w.done() for w in workers), [w.exception() for w in workers if w.done()]
            load.phase = phase
            started = time.monotonic()
            await asyncio.to_thread(disrupt)
            timings[phase] = round(time.monotonic() - started, 1)
            await asyncio.sleep(SETTLE)
            load.phase = f"after {phase}"
            await asyncio.sleep(1.0)
    finally:
        load.stop.set()
        await asyncio.gather(*workers)

    by_phase: Counter[str] = Counter()
    for (phase, _problem), n in load.failures.items():
        by_phase[phase] += n
    report = {
        "placed": load.placed,
        "keys": len(load.keys),
        "failed attempts by phase": dict(by_phase),
        "failures": {f"{p} / {k}": n for (p, k), n in sorted(load.failures.items())},
        "disruption seconds": timings,
    }
    print("\nchaos report:", orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())

    # Failed requests: only those in flight on the killed process, one per worker at most per kill.
    for phase, _ in disruptions:
        assert by_phase[phase] + by_phase[f"after {phase}"] <= WORKERS, report
    assert by_phase["warm-up"] == 0, report

    # No order stuck, one order per idempotency key, the books right.
    rows = await helpers.wait_final(stack, sku, len(load.keys), within=180)
    assert len(rows) == len(load.keys) == load.placed, (len(rows), report)
    book = await helpers.bookkeeping(stack, sku)
    helpers.assert_consistent(rows, book, on_hand=UNITS)
    assert all(r["state"] == "confirmed" for r in rows), Counter(r["state"] for r in rows)

    # No event lost or doubled: each stream holds exactly its outbox's events ...
    counts = await _published_everything(stack)
    assert counts and all(n == m for n, m in counts.values()), f"outbox rows vs stream messages: {counts}"
    # ... and stock applied every placement once.
    async with stack.db() as conn:
        placed_events = await conn.fetchval(
            "SELECT count(*) FROM orders.outbox WHERE subject LIKE 'orders.%.placed'"
        )
        applied = await conn.fetchval(
            "SELECT count(*) FROM stock.processed_events WHERE consumer = 'stock-order-placed'")  # fmt: skip
    assert applied == placed_events >= len(rows), (applied, placed_events, len(rows))
    print("streams (outbox rows, stream messages):", counts)
