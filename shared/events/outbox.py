"""Writing events: the outbox, appended in the same transaction as the state change.

    async with db.tenant_session(tenant) as session:
        session.add(org)
        await add_event(session, "orgs", EventEnvelope.new("orgs", "organization_created", ...))

If the transaction rolls back, the event never existed; if it commits, the relay publishes it.
"""

from __future__ import annotations

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import EventEnvelope
from shared.migrations_helpers import sql_ident


async def add_event(session: AsyncSession, schema: str, event: EventEnvelope) -> None:
    """Append `event` to `<schema>.outbox` in the session's current transaction. The session must
    be a tenant session for `event.tenant_id` (RLS refuses other tenants' events)."""
    await session.execute(
        text(
            f"INSERT INTO {sql_ident(schema)}.outbox (id, tenant_id, subject, type, envelope) "
            "VALUES (:id, :tenant_id, :subject, :type, CAST(:envelope AS jsonb))"
        ),
        {
            "id": event.id,
            "tenant_id": event.tenant_id,
            "subject": event.subject,
            "type": event.type,
            "envelope": orjson.dumps(event.model_dump(mode="json")).decode(),
        },
    )
