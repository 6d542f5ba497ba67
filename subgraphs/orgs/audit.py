"""The audit log of role, membership, key and user changes. `record` is called by the service
inside the transaction of the change, so an entry exists exactly when the change committed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadUserInputError
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.models import AuditEntry


async def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        tenant_id=tenant_id,
        actor_user_id=actor.user_id,
        actor_organization_id=actor.organization_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=data or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession, scope: Scope, *, limit: int, after: list[Any] | None
) -> tuple[list[tuple[AuditEntry, list[Any]]], int]:
    """Newest first, keyset on (created_at, id) descending. Non-platform admins see the entries
    made from inside their organization's subtree."""
    filters = [] if scope.all else [AuditEntry.actor_organization_id.in_(scope.ids)]
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*filters)) or 0
    query = select(AuditEntry).where(*filters)
    if after is not None:
        try:
            at, after_id = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        except (IndexError, ValueError) as exc:
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from exc
        query = query.where(tuple_(AuditEntry.created_at, AuditEntry.id) < tuple_(at, after_id))
    rows = await session.scalars(
        query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit + 1)
    )
    return [(e, [e.created_at.isoformat(), str(e.id)]) for e in rows], total
