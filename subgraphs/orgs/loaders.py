"""Per-request DataLoaders of the orgs subgraph: `info.context.loaders.get(organization_loader)`.

Each batch opens its own tenant transaction, so loaders work from any resolver, concurrently.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiodataloader import DataLoader

from shared.context import RequestContext
from subgraphs.orgs import service
from subgraphs.orgs.models import Membership, Organization, User


def organization_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Organization | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[Organization | None]:
        async with ctx.session() as session:
            found = await service.organizations_by_id(session, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load)


def children_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Organization]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[Organization]]:
        async with ctx.session() as session:
            found = await service.children_by_parent(session, ids)
        return [found[i] for i in ids]

    return DataLoader(load)


def user_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, User | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[User | None]:
        async with ctx.session() as session:
            found = await service.users_by_id(session, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load)


def memberships_of_user_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Membership]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[Membership]]:
        async with ctx.session() as session:
            found = await service.memberships_by(session, "user_id", ids)
        return [found[i] for i in ids]

    return DataLoader(load)


def memberships_of_organization_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Membership]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[Membership]]:
        async with ctx.session() as session:
            found = await service.memberships_by(session, "organization_id", ids)
        return [found[i] for i in ids]

    return DataLoader(load)
