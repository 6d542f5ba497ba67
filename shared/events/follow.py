"""Reading a domain's JetStream stream live, from a cursor, for one tenant (partner ERP subscriptions).

The cursor contract of docs/subscriptions.md: a cursor is the decimal JetStream stream sequence of
the last event the reader processed; reading resumes *after* it (`by_start_sequence`, `seq + 1`);
no cursor reads only new events. Each reader is an ordered, ephemeral push consumer filtered on the
tenant's subjects (`<domain>.<tenant>.>` or one event's subject), so another tenant's events are
never even delivered to this process for it; `EventFilter` then checks the tenant again and applies
the principal's data scope (business units) and the reader's own filters.

No GraphQL here: `shared.graphql.streams` turns these into subscription root fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from shared.events.envelope import EventEnvelope
from shared.events.streams import ensure_stream, stream_name_for

log = logging.getLogger(__name__)


class CursorError(ValueError):
    """The cursor is not a stream sequence (a decimal string >= 0)."""


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    text = cursor.strip()
    if not text.isdigit() or len(text) > 20:
        raise CursorError(f"not a cursor of this stream: {cursor[:40]!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class DataScope:
    """The business units (organizations) whose events a principal may see; `all`: the tenant."""

    all: bool
    org_ids: frozenset[uuid.UUID] = frozenset()

    def allows_any(self, orgs: Collection[uuid.UUID]) -> bool:
        return self.all or any(o in self.org_ids for o in orgs)


NOTHING = DataScope(all=False)
EVERYTHING = DataScope(all=True)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    sequence: int  # JetStream stream sequence: the event's cursor
    envelope: EventEnvelope

    @property
    def cursor(self) -> str:
        return str(self.sequence)


# The organizations an event concerns (buyer, seller, location owner...): may read the database.
OrgsOf = Callable[[EventEnvelope], Awaitable[Collection[uuid.UUID]]]
# The principal's current data scope (computed by the domain, e.g. its org-tree projection).
ScopeOf = Callable[[], Awaitable[DataScope]]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events of a stream one reader receives. Pure: the property tests drive it directly."""

    tenant_id: uuid.UUID
    events: frozenset[str] = frozenset()  # event names (`placed`); empty: every event
    orgs: frozenset[uuid.UUID] = frozenset()  # the reader's business-unit filter; empty: any

    def admits_tenant_and_type(self, envelope: EventEnvelope) -> bool:
        if envelope.tenant_id != self.tenant_id:
            return False  # second line behind the subject filter
        return not self.events or envelope.event in self.events

    def admits(self, envelope: EventEnvelope, scope: DataScope, orgs: Collection[uuid.UUID]) -> bool:
        """`orgs`: the organizations the event concerns. The data scope must cover one of them (an
        event concerning nobody is seen only by a tenant-wide principal)."""
        if not self.admits_tenant_and_type(envelope):
            return False
        if self.orgs and not any(o in self.orgs for o in orgs):
            return False
        return scope.allows_any(orgs)


class ScopeCache:
    """The principal's data scope, recomputed every `ttl` seconds: a subscription lives for days and
    the org tree (or the principal's units) may change under it."""

    def __init__(self, compute: ScopeOf, ttl: float = 30.0) -> None:
        self._compute = compute
        self._ttl = ttl
        self._value: DataScope | None = None
        self._at = 0.0

    async def get(self) -> DataScope:
        now = time.monotonic()
        if self._value is None or now - self._at > self._ttl:
            self._value = await self._compute()
            self._at = now
        return self._value


def filter_subject(domain: str, tenant_id: uuid.UUID, events: Collection[str]) -> str:
    """One subject per consumer (NATS 2.9 has no multi-subject filters): one event, or all of them."""
    if len(events) == 1:
        return f"{domain}.{tenant_id}.{next(iter(events))}"
    return f"{domain}.{tenant_id}.>"


async def follow(
    js: JetStreamContext,
    domain: str,
    event_filter: EventFilter,
    *,
    cursor: str | None,
    scope: ScopeOf,
    orgs_of: OrgsOf,
    scope_ttl: float = 30.0,
    pending_limit: int = 10_000,
) -> AsyncGenerator[StreamEvent, None]:
    """Yield the events of `domain`'s stream after `cursor` that `event_filter` and the data scope
    admit, in stream order, until the caller stops iterating (the consumer is then deleted)."""
    start = parse_cursor(cursor)
    stream = await ensure_stream(js, domain)
    if start is None:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
    else:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start + 1)
    subscription = await js.subscribe(
        filter_subject(domain, event_filter.tenant_id, event_filter.events),
        stream=stream or stream_name_for(domain),
        ordered_consumer=True,
        config=config,
        idle_heartbeat=5.0,
        pending_msgs_limit=pending_limit,
    )
    scopes = ScopeCache(scope, scope_ttl)
    try:
        while True:
            msg = await subscription.next_msg(timeout=None)
            sequence = msg.metadata.sequence.stream
            try:
                envelope = EventEnvelope.from_bytes(msg.data)
            except ValueError:
                log.warning("stream %s: message %s is not an event envelope; skipped", stream, sequence)
                continue
            if not event_filter.admits_tenant_and_type(envelope):
                continue
            orgs = await orgs_of(envelope)
            if not event_filter.admits(envelope, await scopes.get(), orgs):
                continue
            yield StreamEvent(sequence, envelope)
    finally:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await subscription.unsubscribe()
