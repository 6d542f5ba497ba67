"""`python -m bench.orders` on a small load, on the saga process stack: every pass reaches its final
states and the flash-sale passes oversell nothing (figures come from the benchmark, not from here)."""

from __future__ import annotations

import pytest

from bench.orders.run import report, run_bench
from bench.orders.stack import ProcessStack

pytestmark = [pytest.mark.saga, pytest.mark.slow]


async def test_bench_orders_small_run(procs: ProcessStack) -> None:
    results = await run_bench(procs, orders=40, hot_orders=60, hot_stock=40, concurrency=16)
    assert [(r.confirmed, r.failed) for r in results] == [(40, 0), (40, 0), (40, 20), (40, 20)]
    text = report(results)
    assert "through the gateway" in text and "vs direct" in text
