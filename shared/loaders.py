"""DataLoader factories for the common case: load rows by keys in one tenant transaction.

A subgraph's loader stays a named function (it is the key of `info.context.loaders.get`):

def product_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Product | None]:
    return rows_by_key(ctx, repository.products_by_id)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from shared.context import RequestContext

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, V]]]


def rows_by_key(ctx: RequestContext, fetch: Fetch[K, V]) -> DataLoader[K, V | None]:
    """One value per key, in key order; None for a key `fetch` found nothing for."""

    async def load(keys: Sequence[K]) -> list[V | None]:
        async with ctx.session() as session:
            found = await fetch(session, keys)
        return [found.get(k) for k in keys]

    return DataLoader(load)


def groups_by_key(ctx: RequestContext, fetch: Fetch[K, V]) -> DataLoader[K, V]:
    """One value per key, in key order; `fetch` must return an entry for every key (e.g. [])."""

    async def load(keys: Sequence[K]) -> list[V]:
        async with ctx.session() as session:
            found = await fetch(session, keys)
        return [found[k] for k in keys]

    return DataLoader(load)
