"""Pick waves: 1,000 confirmed orders released into waves, each in exactly one wave, none lost
when the wave job is killed mid-batch (a child process exits inside a wave's transaction) and
restarted as two concurrent jobs (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from shared.db import Database, app_database_url
from subgraphs.logistics import jobs, service
from subgraphs.logistics.models import PickWave, Shipment
from tests.subgraphs.logistics.helpers import World, apply_in, order_spec

ORDERS = 1000
WAVE_SIZE = 40


async def _confirmed_orders(w: World, count: int) -> None:
    """`count` confirmed single-parcel orders, half per warehouse, through the consumers' service calls."""
    for start in range(0, count, 100):
        async with w.db.tenant_session(w.tenant) as session:
            for i in range(start, min(start + 100, count)):
                spec = order_spec(w, [(uuid.uuid4(), 1 + i % 3, w.main if i % 2 else w.south)])
                await apply_in(session, w.tenant, "orders", "placed", spec.id, spec.placed)
                await apply_in(
                    session,
                    w.tenant,
                    "stock",
                    "reserved",
                    spec.id,
                    {"order_id": str(spec.id), "allocations": spec.allocations},
                )
                await apply_in(session, w.tenant, "orders", "confirmed", spec.id, {"order_id": str(spec.id)})


async def test_thousand_orders_each_in_exactly_one_wave_despite_a_crash(
    http_world: World, service_urls: Any, repo_root: Path
) -> None:
    w = http_world
    async with w.db.tenant_session(w.tenant) as session:
        await service.update_settings(session, w.tenant, wave_size=WAVE_SIZE, wave_interval_seconds=3600)
    await _confirmed_orders(w, ORDERS)
    child = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tests.subgraphs.logistics.wave_crash_child",
            app_database_url(service_urls.database_url).render_as_string(hide_password=False),
            "4",
        ],
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == 17, child.stderr.decode()[-2000:]

    async def counts() -> tuple[int, int, int]:
        async with w.db.tenant_session(w.tenant) as session:
            waves = (await session.execute(select(func.count()).select_from(PickWave))).scalar_one()
            waved = (
                await session.execute(
                    select(func.count()).select_from(Shipment).where(Shipment.wave_id.is_not(None))
                )
            ).scalar_one()
            total = (await session.execute(select(func.count()).select_from(Shipment))).scalar_one()
        return waves, waved, total

    waves, waved, total = await counts()
    assert total == ORDERS
    assert (waves, waved) == (3, 3 * WAVE_SIZE)  # the 4th wave died uncommitted: its rows are queued again

    # Restart: two jobs at once (as two processes would), each with its own connections.
    other = Database.for_app(pool_size=2, max_overflow=0)
    try:
        released = await asyncio.gather(jobs.release_waves(w.db), jobs.release_waves(other))
    finally:
        await other.dispose()
    waves, waved, _ = await counts()
    assert sum(released) == waves - 3
    full_per_location = ORDERS // 2 // WAVE_SIZE * WAVE_SIZE
    assert waved == 2 * full_per_location  # full waves only: each warehouse's rest waits...
    # ...until its interval has passed.
    later = service.now_utc() + timedelta(hours=2)
    await jobs.release_waves(w.db, now=later)
    waves, waved, _ = await counts()
    assert waved == ORDERS

    async with w.db.tenant_session(w.tenant) as session:
        per_order = (
            await session.execute(
                text(
                    "SELECT count(*) AS orders, count(DISTINCT order_id) AS distinct_orders, "
                    "count(*) FILTER (WHERE wave_id IS NULL) AS unwaved FROM logistics.shipments"
                )
            )
        ).one()
        mismatched = (
            await session.execute(
                text(
                    "SELECT count(*) FROM logistics.pick_waves w WHERE w.shipment_count <> "
                    "(SELECT count(*) FROM logistics.shipments s WHERE s.wave_id = w.id) "
                    "OR w.location_id <> ALL "
                    "(SELECT s.location_id FROM logistics.shipments s WHERE s.wave_id = w.id)"
                )
            )
        ).scalar_one()
        triggers = dict(
            (
                await session.execute(
                    text("SELECT trigger, count(*) FROM logistics.pick_waves GROUP BY trigger")
                )
            ).all()
        )
    assert (per_order.orders, per_order.distinct_orders, per_order.unwaved) == (ORDERS, ORDERS, 0)
    assert mismatched == 0
    assert triggers["SIZE"] == ORDERS // 2 // WAVE_SIZE * 2 and triggers.get("INTERVAL", 0) == 2
    async with w.db.session() as session:
        await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
        events = (
            await session.execute(
                text(
                    "SELECT count(*) FROM logistics.outbox "
                    "WHERE type = 'logistics.wave_released' AND tenant_id = :t"
                ),
                {"t": w.tenant},
            )
        ).scalar_one()
    assert events == waves  # one wave_released per committed wave, none for the killed one


async def test_stale_shipments_become_exceptions(http_world: World) -> None:
    w = http_world
    spec = order_spec(w, [(uuid.uuid4(), 1, w.main)])
    async with w.db.tenant_session(w.tenant) as session:
        for domain, event, data in (
            ("orders", "placed", spec.placed),
            ("stock", "reserved", {"order_id": str(spec.id), "allocations": spec.allocations}),
            ("orders", "confirmed", {"order_id": str(spec.id)}),
        ):
            await apply_in(session, w.tenant, domain, event, spec.id, data)
    [shipment] = await w.shipments(spec.id)
    async with w.db.tenant_session(w.tenant) as session:
        await service.create_label(session, w.tenant, shipment.id)
        await service.dispatch(session, w.tenant, shipment.id)
        await service.update_settings(session, w.tenant, stale_after_seconds=3600)
    assert await jobs.sweep_stale_shipments(w.db) == 0  # fresh
    later = service.now_utc() + timedelta(hours=2)
    assert await jobs.sweep_stale_shipments(w.db, now=later) == 1
    assert await jobs.sweep_stale_shipments(w.db, now=later) == 0  # once
    [row] = await w.shipments(spec.id)
    assert (row.status, row.exception_reason) == ("EXCEPTION", "NO_TRACKING_PROGRESS")


async def test_waves_and_settings_through_graphql(http_world: World) -> None:
    w = http_world
    update = await w.gql(
        "mutation { logisticsSettingsUpdate(input: {waveSize: 2, waveIntervalSeconds: 60}) {"
        " settings { waveSize waveIntervalSeconds staleAfterSeconds routingWeights { parcels } }"
        " userErrors { field code } } }"
    )
    assert update["logisticsSettingsUpdate"]["settings"] == {
        "waveSize": 2,
        "waveIntervalSeconds": 60,
        "staleAfterSeconds": 72 * 3600,
        "routingWeights": {"parcels": "5"},
    }
    bad = await w.gql(
        "mutation { logisticsSettingsUpdate(input: {waveSize: 0}) {"
        " settings { waveSize } userErrors { field code } } }"
    )
    assert bad["logisticsSettingsUpdate"]["userErrors"] == [{"field": ["waveSize"], "code": "INVALID"}]
    await _confirmed_orders(w, 5)  # 3 at south, 2 at main
    assert await jobs.release_waves(w.db) == 2  # one full wave per warehouse; one south order waits
    later = service.now_utc() + timedelta(minutes=5)
    assert await jobs.release_waves(w.db, now=later) == 1
    data = await w.gql(
        "{ pickWaves(first: 10) { totalCount edges { node { id tenantId locationId shipmentCount trigger "
        "pickList { skuId quantity } shipments { id waveId } } } } }"
    )
    waves = [e["node"] for e in data["pickWaves"]["edges"]]
    assert data["pickWaves"]["totalCount"] == 3
    assert sorted(wv["trigger"] for wv in waves) == ["INTERVAL", "SIZE", "SIZE"]
    for wave in waves:
        assert wave["tenantId"] == str(w.tenant)
        assert len(wave["shipments"]) == wave["shipmentCount"] == len(wave["pickList"])
        assert {s["waveId"] for s in wave["shipments"]} == {wave["id"]}
    only_main = await w.gql("query($l: ID!) { pickWaves(locationId: $l) { totalCount } }", {"l": str(w.main)})
    assert only_main["pickWaves"]["totalCount"] == 1
