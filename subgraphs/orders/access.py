"""Who may see which orders inside a tenant (RLS already keeps tenants apart).

The orgs rule (subgraphs/orgs/access.py), over orders' own projection of the organization tree:
a member sees the orders of its organization and of the business units below it, whether its
organization is the order's buyer or its seller; a platform admin (role `platform_admin`) sees the
whole tenant; a principal without an organization sees nothing (fail closed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.gateway_context import Principal
from subgraphs.orders.models import SCHEMA, Order

PLATFORM_ADMIN = "platform_admin"
MAX_DEPTH = 16


def parse_uuid(value: object | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller and the organizations whose orders it may see (`all`: the whole tenant)."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    roles: frozenset[str]
    scopes: frozenset[str]
    all: bool
    org_ids: frozenset[uuid.UUID]

    def sees_org(self, org_id: uuid.UUID | None) -> bool:
        return self.all or (org_id is not None and org_id in self.org_ids)

    def sees(self, order: Order) -> bool:
        return self.sees_org(order.buyer_organization_id) or self.sees_org(order.seller_organization_id)

    def is_buyer_of(self, order: Order) -> bool:
        return self.all or order.buyer_organization_id in self.org_ids

    def is_seller_of(self, order: Order) -> bool:
        return self.all or order.seller_organization_id in self.org_ids

    @property
    def actor(self) -> str:
        return str(self.user_id) if self.user_id else "anonymous"

    def order_clause(self) -> ColumnElement[bool]:
        if self.all:
            return true()
        if not self.org_ids:
            return false()
        ids = list(self.org_ids)
        return or_(Order.buyer_organization_id.in_(ids), Order.seller_organization_id.in_(ids))


_SUBTREE_SQL = text(
    f"""
    WITH RECURSIVE sub AS (
        SELECT id, 0 AS depth FROM {SCHEMA}.org_units WHERE id = :org
        UNION ALL
        SELECT o.id, sub.depth + 1 FROM {SCHEMA}.org_units o JOIN sub ON o.parent_id = sub.id
        WHERE sub.depth < {MAX_DEPTH}
    )
    SELECT id FROM sub
    """
)

_CHAIN_SQL = text(
    f"""
    WITH RECURSIVE chain AS (
        SELECT id, parent_id, 0 AS depth FROM {SCHEMA}.org_units WHERE id = :org
        UNION ALL
        SELECT o.id, o.parent_id, chain.depth + 1
        FROM {SCHEMA}.org_units o JOIN chain ON o.id = chain.parent_id
        WHERE chain.depth < {MAX_DEPTH}
    )
    SELECT id FROM chain ORDER BY depth
    """
)


async def subtree(session: AsyncSession, org: uuid.UUID) -> frozenset[uuid.UUID]:
    """`org` and every unit below it; an organization the projection has not heard of is itself."""
    rows = (await session.execute(_SUBTREE_SQL, {"org": org})).scalars().all()
    return frozenset(rows) | {org}


async def ancestors(session: AsyncSession, org: uuid.UUID) -> list[uuid.UUID]:
    """`org`, its parent, grandparent... (nearest first)."""
    rows = list((await session.execute(_CHAIN_SQL, {"org": org})).scalars().all())
    return list(dict.fromkeys([org, *rows]))


async def viewer_of(session: AsyncSession, tenant_id: uuid.UUID, principal: Principal | None) -> Viewer:
    roles = frozenset(principal.roles) if principal else frozenset()
    scopes = frozenset(principal.scopes) if principal else frozenset()
    user = parse_uuid(principal.user_id) if principal else None
    org = parse_uuid(principal.organization_id) if principal else None
    if PLATFORM_ADMIN in roles:
        return Viewer(tenant_id, user, org, roles, scopes, True, frozenset())
    ids = await subtree(session, org) if org is not None else frozenset()
    return Viewer(tenant_id, user, org, roles, scopes, False, ids)
