"""The organization tree projection (from orgs events): ancestors of a buyer unit."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.finance.models import KnownTenant, OrgUnit

MAX_DEPTH = 32


async def remember_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    await session.execute(insert(KnownTenant).values(tenant_id=tenant_id).on_conflict_do_nothing())


async def upsert_org_unit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    org_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None,
    kind: str | None = None,
    name: str | None = None,
) -> None:
    statement = insert(OrgUnit).values(
        tenant_id=tenant_id, id=org_id, parent_id=parent_id, kind=kind, name=name
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[OrgUnit.tenant_id, OrgUnit.id],
            set_={
                "parent_id": statement.excluded.parent_id,
                "kind": statement.excluded.kind,
                "name": statement.excluded.name,
            },
        )
    )
    await remember_tenant(session, tenant_id)


async def chain(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    """`org_id` then its ancestors, nearest first (just `[org_id]` when the tree does not know it)."""
    rows = (
        (
            await session.execute(
                text(
                    "WITH RECURSIVE up(id, parent_id, depth) AS ("
                    " SELECT id, parent_id, 0 FROM finance.org_units WHERE id = :o"
                    " UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM finance.org_units u"
                    " JOIN up ON u.id = up.parent_id WHERE up.depth < :max)"
                    " SELECT id FROM up ORDER BY depth"
                ),
                {"o": org_id, "max": MAX_DEPTH},
            )
        )
        .scalars()
        .all()
    )
    return list(rows) or [org_id]


async def kind_of(session: AsyncSession, org_id: uuid.UUID) -> str | None:
    value = (
        await session.execute(text("SELECT kind FROM finance.org_units WHERE id = :o"), {"o": org_id})
    ).scalar_one_or_none()
    return str(value) if value is not None else None
