"""Per-request DataLoaders of the stock subgraph (one tenant transaction per batch)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from aiodataloader import DataLoader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.context import RequestContext
from shared.loaders import groups_by_key, rows_by_key
from subgraphs.stock import service
from subgraphs.stock.models import Location, Reservation, ReservationLine


async def _levels_by_sku(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> Mapping[uuid.UUID, list[service.LevelView]]:
    return await service.levels_for_skus(session, keys)


async def _locations_by_id(session: AsyncSession, keys: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Location]:
    rows = await session.scalars(select(Location).where(Location.id.in_(list(keys))))
    return {r.id: r for r in rows}


async def _reservations_by_id(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> Mapping[uuid.UUID, Reservation]:
    rows = await session.scalars(select(Reservation).where(Reservation.id.in_(list(keys))))
    return {r.id: r for r in rows}


async def _lines_by_reservation(
    session: AsyncSession, keys: Sequence[uuid.UUID]
) -> Mapping[uuid.UUID, list[ReservationLine]]:
    out: dict[uuid.UUID, list[ReservationLine]] = {k: [] for k in keys}
    rows = await session.scalars(
        select(ReservationLine)
        .where(ReservationLine.reservation_id.in_(list(keys)))
        .order_by(ReservationLine.line_id)
    )
    for r in rows:
        out[r.reservation_id].append(r)
    return out


def sku_levels_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[service.LevelView]]:
    return groups_by_key(ctx, _levels_by_sku)


def location_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Location | None]:
    return rows_by_key(ctx, _locations_by_id)


def reservation_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Reservation | None]:
    return rows_by_key(ctx, _reservations_by_id)


def reservation_lines_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[ReservationLine]]:
    return groups_by_key(ctx, _lines_by_reservation)
