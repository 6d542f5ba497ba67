"""Many outbox rows in one statement (a consumer batch publishes one event per order).

The first event goes through `shared.events.add_event`, which also arranges for this process's
relay to be woken after the commit; the others follow in ONE multi-row INSERT into the same
table, in order (their `seq` follows the first's), instead of one round trip each.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, add_event
from subgraphs.stock.models import SCHEMA


async def add_events(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
    if not events:
        return
    await add_event(session, SCHEMA, events[0])
    rest = events[1:]
    if not rest:
        return
    await session.execute(
        text(
            "INSERT INTO stock.outbox (id, tenant_id, subject, type, envelope) "
            "SELECT e.id, e.tenant_id, e.subject, e.type, e.envelope FROM unnest("
            "CAST(:ids AS uuid[]), CAST(:tenants AS uuid[]), CAST(:subjects AS text[]), "
            "CAST(:types AS text[]), CAST(:envelopes AS jsonb[])) WITH ORDINALITY "
            "AS e(id, tenant_id, subject, type, envelope, n) ORDER BY e.n"
        ),
        {
            "ids": [e.id for e in rest],
            "tenants": [e.tenant_id for e in rest],
            "subjects": [e.subject for e in rest],
            "types": [e.type for e in rest],
            "envelopes": [orjson.dumps(e.model_dump(mode="json")).decode() for e in rest],
        },
    )
