"""The demo seed: idempotent, every demo SKU stocked, the movement log sums to on_hand, a few low."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from shared.db import Database
from subgraphs.catalog.demo_ids import demo_sku_codes
from subgraphs.stock import seed


async def test_seed_twice_changes_nothing(service_urls: Any, stock_db: Database) -> None:
    owner = Database.from_url(service_urls.database_url, pool_size=1)
    try:
        await seed.seed(owner)
        await seed.seed(owner)
    finally:
        await owner.dispose()
    async with stock_db.tenant_session(seed.TENANT_ID) as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM stock.locations) AS locations, "
                    "(SELECT count(DISTINCT sku_id) FROM stock.levels) AS skus, "
                    "(SELECT count(*) FROM stock.levels l WHERE l.on_hand <> "
                    " (SELECT coalesce(sum(delta), 0) FROM stock.movements m "
                    "  WHERE m.level_id = l.id)) AS drift, "
                    "(SELECT count(*) FROM stock.levels WHERE on_hand < low_threshold) AS low"
                )
            )
        ).one()
    assert counts.locations == len(seed.LOCATIONS)
    assert counts.skus == len(set(demo_sku_codes()))
    assert counts.drift == 0
    assert counts.low > 0
