"""Batch jobs: pick wave release and the no-progress exception sweep.

Both visit every tenant in `job_tenants`, each in its own tenant transaction (RLS applies), and
take their rows with `FOR UPDATE SKIP LOCKED`: several processes may run them at once and never
take the same shipment. One wave = one transaction (rows, wave, `wave_released` event), so a job
killed mid-batch loses nothing: the uncommitted wave's shipments are still queued for the next run.

A location's queue becomes a wave when it holds `wave_size` shipments (trigger SIZE) or when its
oldest queued shipment has waited `wave_interval_seconds` (trigger INTERVAL).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from shared.db import Database
from shared.events import add_event
from shared.lease import run_leased
from subgraphs.logistics import events, service
from subgraphs.logistics.models import SCHEMA, JobTenant, PickWave, Shipment
from subgraphs.logistics.shipment_states import ShipmentStatus

log = logging.getLogger(__name__)

# Called inside a wave's transaction, before its commit (tests kill the process there).
WaveHook = Callable[[int], Awaitable[None]]


async def job_tenants(db: Database) -> list[uuid.UUID]:
    async with db.session() as session:
        return list(
            (await session.execute(select(JobTenant.tenant_id).order_by(JobTenant.tenant_id))).scalars()
        )


async def _queued_locations(db: Database, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    async with db.tenant_session(tenant_id) as session:
        rows = await session.execute(
            select(Shipment.location_id)
            .where(Shipment.wave_id.is_(None), Shipment.status != ShipmentStatus.CANCELLED.value)
            .group_by(Shipment.location_id)
            .order_by(Shipment.location_id)
        )
        return list(rows.scalars())


async def _release_one(
    db: Database,
    tenant_id: uuid.UUID,
    location_id: uuid.UUID,
    now: datetime,
    number: int,
    hook: WaveHook | None,
) -> bool:
    """Release at most one wave of this location; False when nothing (more) is due."""
    async with db.tenant_session(tenant_id) as session:
        settings = await service.tenant_settings(session, tenant_id)
        rows = (
            (
                await session.execute(
                    select(Shipment)
                    .where(
                        Shipment.location_id == location_id,
                        Shipment.wave_id.is_(None),
                        Shipment.status != ShipmentStatus.CANCELLED.value,
                    )
                    .order_by(Shipment.created_at, Shipment.id)
                    .limit(settings.wave_size)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            return False
        if len(rows) >= settings.wave_size:
            trigger = "SIZE"
        elif rows[0].created_at <= now - timedelta(seconds=settings.wave_interval_seconds):
            trigger = "INTERVAL"
        else:
            return False  # rolled back with the session: nothing taken
        picks: dict[str, int] = defaultdict(int)
        for s in rows:
            for line in s.lines:
                picks[line["sku_id"]] += int(line["quantity"])
        wave = PickWave(
            tenant_id=tenant_id,
            location_id=location_id,
            released_at=now,
            shipment_count=len(rows),
            pick_list=[{"sku_id": sku, "quantity": q} for sku, q in sorted(picks.items())],
            trigger=trigger,
        )
        session.add(wave)
        await session.flush()
        ids = [s.id for s in rows]
        await session.execute(
            update(Shipment).where(Shipment.id.in_(ids), Shipment.wave_id.is_(None)).values(wave_id=wave.id)
        )
        await add_event(
            session,
            SCHEMA,
            events.wave_released(
                tenant_id,
                wave_id=wave.id,
                location_id=location_id,
                shipment_ids=ids,
                order_ids=sorted({s.order_id for s in rows}),
                pick_list=wave.pick_list,
                trigger=trigger,
                released_at=now,
            ),
        )
        if hook is not None:
            await hook(number)
    return True


async def release_waves(db: Database, *, now: datetime | None = None, hook: WaveHook | None = None) -> int:
    """Release every due wave of every tenant; returns how many this call released."""
    released = 0
    for tenant_id in await job_tenants(db):
        for location_id in await _queued_locations(db, tenant_id):
            while await _release_one(
                db, tenant_id, location_id, now or service.now_utc(), released + 1, hook
            ):
                released += 1
    return released


async def sweep_stale_shipments(db: Database, *, now: datetime | None = None, limit: int = 200) -> int:
    """Shipments with the carrier and no tracking progress for `stale_after_seconds` -> EXCEPTION
    (reason NO_TRACKING_PROGRESS). Returns how many."""
    raised = 0
    for tenant_id in await job_tenants(db):
        async with db.tenant_session(tenant_id) as session:
            settings = await service.tenant_settings(session, tenant_id)
            moment = now or service.now_utc()
            cutoff = moment - timedelta(seconds=settings.stale_after_seconds)
            stale = (
                (
                    await session.execute(
                        select(Shipment.id)
                        .where(
                            Shipment.status.in_(
                                [ShipmentStatus.DISPATCHED.value, ShipmentStatus.IN_TRANSIT.value]
                            ),
                            func.coalesce(Shipment.last_progress_at, Shipment.dispatched_at) < cutoff,
                        )
                        .order_by(Shipment.last_progress_at)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
            for shipment_id in stale:
                # Locked the way mutations lock (order, then shipment), then checked again: another
                # process or a tracking event may have moved it meanwhile.
                shipment = await service.locked_shipment(session, tenant_id, shipment_id)
                progress = shipment.last_progress_at or shipment.dispatched_at
                if shipment.status not in (ShipmentStatus.DISPATCHED.value, ShipmentStatus.IN_TRANSIT.value):
                    continue
                if progress is None or progress >= cutoff:
                    continue
                await service.raise_exception(session, shipment, "NO_TRACKING_PROGRESS", moment, "MONITOR")
                raised += 1
    return raised


async def run_forever(db: Database, *, every: float = 30.0) -> None:
    """The jobs loop every subgraph process runs in the background; one replica at a time runs
    the jobs, the one holding the lease `logistics-jobs` (shared.lease)."""

    async def tick() -> None:
        for job in (release_waves, sweep_stale_shipments):
            try:
                await job(db)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("logistics job %s failed", job.__name__)

    await run_leased(db, "logistics-jobs", tick, every=every)
