"""Issue 10, "Done when" 2: killing the stock or the orders process (SIGKILL), or cutting every NATS
connection (the NATS server restarted), in the middle of 100 placements through the gateway, then
starting it again: every order ends confirmed or compensated, none is stuck, and no unit is lost or
held twice (levels, reservation lines and movements against the orders' final states)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bench.orders.stack import ProcessStack
from tests.saga import helpers

pytestmark = [pytest.mark.saga, pytest.mark.slow]

PLACEMENTS = 100
UNITS = 60  # fewer than the placements: both outcomes happen around the disruption


async def _placements_with(procs: ProcessStack, disrupt: Callable[[], None]) -> tuple[list[Any], Any]:
    sku = await helpers.fresh_sku(procs, UNITS)
    token = await helpers.buyer_token(procs)
    gate = asyncio.Semaphore(16)
    done = 0
    third = asyncio.Event()

    async def one() -> Any:
        nonlocal done
        async with gate:
            try:
                return await helpers.place(procs, token, sku)
            except Exception as exc:  # the orders process died under this request
                return {"errors": [{"message": repr(exc)}]}
            finally:
                done += 1
                if done >= PLACEMENTS // 3:
                    third.set()

    tasks = [asyncio.create_task(one()) for _ in range(PLACEMENTS)]
    await third.wait()
    await asyncio.to_thread(disrupt)
    replies = await asyncio.gather(*tasks)
    accepted = [r for r in replies if not r.get("errors") and not r["data"]["placeOrder"]["userErrors"]]
    assert len(accepted) >= PLACEMENTS // 3, replies[-3:]
    existing = await helpers.orders_of(procs, sku)
    assert len(existing) >= len(accepted)
    rows = await helpers.wait_final(procs, sku, len(existing), within=180)
    book = await helpers.bookkeeping(procs, sku)
    helpers.assert_consistent(rows, book, on_hand=UNITS)
    assert {r["state"] for r in rows} <= {"confirmed", "reservation_failed"}, rows
    confirmed = sum(1 for r in rows if r["state"] == "confirmed")
    assert confirmed == min(UNITS, len(rows)), (confirmed, len(rows))
    return rows, book


def _restart(procs: ProcessStack, name: str) -> Callable[[], None]:
    def disrupt() -> None:
        procs.kill(name)
        procs.start_subgraph(name)
        procs.wait_healthy(name)

    return disrupt


async def test_stock_killed_mid_placements(procs: ProcessStack) -> None:
    await _placements_with(procs, _restart(procs, "stock"))


async def test_orders_killed_mid_placements(procs: ProcessStack) -> None:
    await _placements_with(procs, _restart(procs, "orders"))


async def test_nats_connections_cut_mid_placements(procs: ProcessStack) -> None:
    await _placements_with(procs, lambda: procs.restart_nats(down_for=1.0))
