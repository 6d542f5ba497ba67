"""Who may see what inside a tenant (RLS already keeps tenants apart).

Data scope rule: a member sees its own organization and the business units below it; a platform
admin (role `platform_admin`) sees the whole tenant. A principal without an organization that is
not a platform admin sees nothing (fail closed). Entity references (`_entities`) are not limited:
other subgraphs show a counterparty's organization card (name, kind) to anyone in the tenant;
what is limited is listing, members, keys and administration.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ForbiddenError
from shared.gateway_context import Principal
from subgraphs.orgs.models import Organization
from subgraphs.orgs.roles import PLATFORM_ADMIN


@dataclass(frozen=True, slots=True)
class Scope:
    """The organizations a principal may see: `all` (platform admin) or the ids in `ids`."""

    all: bool
    ids: frozenset[uuid.UUID]

    def allows(self, org_id: uuid.UUID | None) -> bool:
        return self.all or (org_id is not None and org_id in self.ids)


NOTHING = Scope(all=False, ids=frozenset())


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change (for the audit log)."""

    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None

    @classmethod
    def of(cls, principal: Principal | None) -> Actor:
        if principal is None:
            return cls(None, None)
        return cls(_uuid(principal.user_id), _uuid(principal.organization_id))


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def is_platform_admin(principal: Principal | None) -> bool:
    return principal is not None and PLATFORM_ADMIN in principal.roles


async def subtree(session: AsyncSession, root: uuid.UUID) -> frozenset[uuid.UUID]:
    """`root` and every business unit below it (recursive CTE; RLS keeps it in the tenant)."""
    tree = select(Organization.id).where(Organization.id == root).cte("tree", recursive=True)
    tree = tree.union_all(select(Organization.id).where(Organization.parent_id == tree.c.id))
    rows = await session.scalars(select(tree.c.id).where(literal(True)))
    return frozenset(rows)


async def scope_of(session: AsyncSession, principal: Principal | None) -> Scope:
    if is_platform_admin(principal):
        return Scope(all=True, ids=frozenset())
    org = _uuid(principal.organization_id) if principal is not None else None
    if org is None:
        return NOTHING
    return Scope(all=False, ids=await subtree(session, org))


def require_in_scope(scope: Scope, org_id: uuid.UUID | None, what: str = "organization") -> None:
    if not scope.allows(org_id):
        raise ForbiddenError(f"this {what} is outside your organization")
