"""Writing events: the outbox, appended in the same transaction as the state change.

    async with db.tenant_session(tenant) as session:
        session.add(org)
        await add_event(session, "orgs", EventEnvelope.new("orgs", "organization_created", ...))

If the transaction rolls back, the event never existed; if it commits, the relay publishes it:
at once when a relay for that schema runs in this process (it is woken after the commit), else at
its next poll.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shared.events.envelope import EventEnvelope
from shared.migrations_helpers import sql_ident
from shared.observability.tracing import current_traceparent

TRACE_KEY = "_traceparent"  # in the stored envelope only; EventEnvelope ignores unknown keys

# schema -> wake() of the relay running in this process (registered by OutboxRelay.run).
_RELAY_WAKERS: dict[str, Callable[[], None]] = {}


def register_relay_waker(schema: str, wake: Callable[[], None]) -> None:
    _RELAY_WAKERS[schema] = wake


def unregister_relay_waker(schema: str, wake: Callable[[], None]) -> None:
    """Forget `wake` unless another relay of the same schema has registered since."""
    if _RELAY_WAKERS.get(schema) == wake:
        del _RELAY_WAKERS[schema]


def _wake_after_commit(session: AsyncSession, schema: str) -> None:
    wake = _RELAY_WAKERS.get(schema)
    if wake is None:
        return
    sync: Session = session.sync_session
    flag = f"outbox_wake_{schema}"
    if sync.info.get(flag):
        return
    sync.info[flag] = True

    def on_commit(_session: Session) -> None:
        sync.info.pop(flag, None)
        wake()

    def on_rollback(_session: Session, _previous: object) -> None:
        sync.info.pop(flag, None)

    # Commit: publish now. Rollback: nothing to publish, only forget the flag.
    sa_event.listen(sync, "after_commit", on_commit, once=True)
    sa_event.listen(sync, "after_soft_rollback", on_rollback, once=True)


def _with_trace(envelope: dict[str, object]) -> dict[str, object]:
    """The writer's trace context rides in the stored row (not the published event): the relay sends
    it as the message's ``traceparent`` header, so consumers continue the writer's trace."""
    traceparent = current_traceparent()
    if traceparent is not None:
        envelope[TRACE_KEY] = traceparent
    return envelope


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
            "envelope": orjson.dumps(_with_trace(event.model_dump(mode="json"))).decode(),
        },
    )
    _wake_after_commit(session, schema)
