"""Per-request DataLoaders of the logistics subgraph (each batch opens its own tenant transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiodataloader import DataLoader
from sqlalchemy import select

from shared.context import RequestContext
from subgraphs.logistics import service
from subgraphs.logistics.models import Carrier, Shipment, ShipmentTransition


def carrier_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Carrier | None]:
    async def load(keys: Sequence[uuid.UUID]) -> list[Carrier | None]:
        async with ctx.session() as session:
            rows = {
                c.id: c
                for c in (await session.execute(select(Carrier).where(Carrier.id.in_(keys)))).scalars()
            }
        return [rows.get(k) for k in keys]

    return DataLoader(load)


def shipment_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Shipment | None]:
    async def load(keys: Sequence[uuid.UUID]) -> list[Shipment | None]:
        async with ctx.session() as session:
            rows = {
                s.id: s
                for s in (await session.execute(select(Shipment).where(Shipment.id.in_(keys)))).scalars()
            }
        return [rows.get(k) for k in keys]

    return DataLoader(load)


def order_shipments_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Shipment]]:
    async def load(keys: Sequence[uuid.UUID]) -> list[list[Shipment]]:
        async with ctx.session() as session:
            found = await service.shipments_by_orders(session, keys)
        return [found.get(k, []) for k in keys]

    return DataLoader(load)


def transitions_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[ShipmentTransition]]:
    async def load(keys: Sequence[uuid.UUID]) -> list[list[ShipmentTransition]]:
        async with ctx.session() as session:
            found = await service.transitions_of(session, keys)
        return [found.get(k, []) for k in keys]

    return DataLoader(load)
