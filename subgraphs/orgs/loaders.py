"""Per-request DataLoaders of the orgs subgraph: `info.context.loaders.get(organization_loader)`.

Each batch opens its own tenant transaction, so loaders work from any resolver, concurrently.
"""

from __future__ import annotations

import uuid

from aiodataloader import DataLoader

from shared.context import RequestContext
from shared.loaders import groups_by_key, rows_by_key
from subgraphs.orgs import service
from subgraphs.orgs.models import Membership, Organization, User


def organization_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, Organization | None]:
    return rows_by_key(ctx, service.organizations_by_id)


def children_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Organization]]:
    return groups_by_key(ctx, service.children_by_parent)


def user_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, User | None]:
    return rows_by_key(ctx, service.users_by_id)


def memberships_of_user_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Membership]]:
    return groups_by_key(ctx, lambda session, ids: service.memberships_by(session, "user_id", ids))


def memberships_of_organization_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Membership]]:
    return groups_by_key(ctx, lambda session, ids: service.memberships_by(session, "organization_id", ids))
