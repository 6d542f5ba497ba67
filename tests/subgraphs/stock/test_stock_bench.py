"""The flash-sale benchmark runs end to end on a small load and its oversell checks hold
(figures come from `python -m bench.stock`, not from here)."""

from __future__ import annotations

from typing import Any

from bench.stock.run import report, run_bench


async def test_bench_stock_small_run(service_urls: Any) -> None:
    results = await run_bench(
        service_urls.database_url, service_urls.nats_url, orders=60, stock=40, workers=8, batch=16
    )
    assert [(r.reserved, r.failed) for r in results] == [(40, 20)] * 3
    assert "end to end" in report(results)
