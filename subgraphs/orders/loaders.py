"""Per-request DataLoaders of the orders subgraph: `info.context.loaders.get(order_loader)`.

`viewer_loader` computes the caller's data scope once per request; entity loaders apply it, so an
order outside the scope is "not found" exactly like another tenant's (RLS).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from aiodataloader import DataLoader

from shared.context import RequestContext
from subgraphs.orders import service
from subgraphs.orders.access import Viewer, viewer_of
from subgraphs.orders.models import (
    Order,
    OrderApproval,
    OrderLine,
    OrderTransition,
    Purchase,
    ReturnLine,
    ReturnRequest,
)

VIEWER_KEY = "viewer"


def viewer_loader(ctx: RequestContext) -> DataLoader[str, Viewer]:
    async def load(keys: Sequence[str]) -> list[Viewer]:
        async with ctx.session() as session:
            viewer = await viewer_of(session, ctx.require_tenant(), ctx.principal)
        return [viewer for _ in keys]

    return DataLoader(load)


async def viewer(ctx: RequestContext) -> Viewer:
    return await ctx.loaders.get(viewer_loader).load(VIEWER_KEY)


def order_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Order | None]:
    async def load(keys: Sequence[uuid.UUID]) -> list[Order | None]:
        v = await viewer(ctx)
        async with ctx.session() as session:
            found = await service.visible_orders(session, v, keys)
        return [found.get(k) for k in keys]

    return DataLoader(load)


def purchase_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Purchase | None]:
    async def load(keys: Sequence[uuid.UUID]) -> list[Purchase | None]:
        v = await viewer(ctx)
        async with ctx.session() as session:
            found = await service.visible_purchases(session, v, keys)
        return [found.get(k) for k in keys]

    return DataLoader(load)


def purchase_orders_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Order]]:
    async def load(keys: Sequence[uuid.UUID]) -> list[list[Order]]:
        v = await viewer(ctx)
        async with ctx.session() as session:
            found = await service.orders_of_purchases(session, v, keys)
        return [found[k] for k in keys]

    return DataLoader(load)


def _grouped(ctx: RequestContext, model: Any, key: Any, order_by: Any) -> DataLoader[uuid.UUID, list[Any]]:
    async def load(keys: Sequence[uuid.UUID]) -> list[list[Any]]:
        async with ctx.session() as session:
            found = await service.grouped(session, model, key, keys, order_by)
        return [found[k] for k in keys]

    return DataLoader(load)


def lines_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    return _grouped(ctx, OrderLine, OrderLine.order_id, OrderLine.position)


def transitions_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    return _grouped(ctx, OrderTransition, OrderTransition.order_id, OrderTransition.at)


def approvals_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    return _grouped(ctx, OrderApproval, OrderApproval.order_id, OrderApproval.tier)


def returns_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    return _grouped(ctx, ReturnRequest, ReturnRequest.order_id, ReturnRequest.created_at)


def return_lines_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    return _grouped(ctx, ReturnLine, ReturnLine.return_id, ReturnLine.order_line_id)


def cart_lines_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Any]]:
    async def load(keys: Sequence[uuid.UUID]) -> list[list[Any]]:
        async with ctx.session() as session:
            found = await service.cart_lines(session, keys)
        return [list(found[k]) for k in keys]

    return DataLoader(load)
