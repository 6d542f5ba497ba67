"""Subscription root fields fed by a domain's JetStream stream, in a few lines per domain:

    ORDER_STREAM = EventStream(domain="orders", scope=order_scope, orgs_of=order_orgs)

    @strawberry.subscription
    async def order_events(self, info: Info, cursor: str | None = None) -> AsyncGenerator[OrderEvent, None]:
        async for event in ORDER_STREAM.follow(info, cursor=cursor, events={"placed"}):
            yield OrderEvent.of(event)

`follow` checks the caller has a tenant, reads the stream after `cursor` (the contract of
docs/subscriptions.md: the event type's `cursor` field is `event.cursor`), keeps only the tenant's
events that the principal's data scope admits, and gives each event fresh DataLoaders (the connection's
context serves every event: cached rows must not outlive the event they were loaded for).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection
from dataclasses import dataclass

from graphql import GraphQLError

from shared.context import Loaders, RequestContext
from shared.events.envelope import EventEnvelope
from shared.events.follow import CursorError, DataScope, EventFilter, StreamEvent, follow, parse_cursor
from shared.graphql.types import Info

ScopeFor = Callable[[RequestContext], Awaitable[DataScope]]
OrgsFor = Callable[[RequestContext, EventEnvelope], Awaitable[Collection[uuid.UUID]]]


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


@dataclass(frozen=True)
class EventStream:
    """One domain's stream as subscriptions read it.

    `scope(ctx)`: the principal's data scope; `orgs_of(ctx, envelope)`: the organizations an event
    concerns (an event is delivered when the scope covers one of them)."""

    domain: str
    scope: ScopeFor
    orgs_of: OrgsFor
    scope_ttl: float = 30.0

    async def follow(
        self,
        info: Info,
        *,
        cursor: str | None,
        events: Collection[str] = (),
        only_orgs: Collection[uuid.UUID] = (),
    ) -> AsyncGenerator[StreamEvent, None]:
        """`events`: event names to keep (empty: all); `only_orgs`: keep events concerning one of
        these organizations (a client's business-unit filter, inside its data scope)."""
        ctx = info.context
        if ctx.tenant_id is None:
            raise _error("this subscription needs a tenant", "FORBIDDEN")
        try:
            parse_cursor(cursor)
        except CursorError as exc:
            raise _error(str(exc), "BAD_USER_INPUT") from None
        nc = ctx.nats()
        if nc is None or not nc.is_connected:
            raise _error(f"the {self.domain} event stream is not reachable yet", "SERVICE_UNAVAILABLE")

        async def scope() -> DataScope:
            return await self.scope(ctx)

        async def orgs_of(envelope: EventEnvelope) -> Collection[uuid.UUID]:
            return await self.orgs_of(ctx, envelope)

        stream = follow(
            nc.jetstream(),
            self.domain,
            EventFilter(ctx.tenant_id, frozenset(events), frozenset(only_orgs)),
            cursor=cursor,
            scope=scope,
            orgs_of=orgs_of,
            scope_ttl=self.scope_ttl,
        )
        try:
            async for event in stream:
                ctx.loaders = Loaders(ctx)
                yield event
        finally:
            await stream.aclose()


def parse_ids(values: Collection[str] | None) -> frozenset[uuid.UUID]:
    """Filter arguments given as IDs; one that is not a UUID matches nothing (it is kept out)."""
    out: set[uuid.UUID] = set()
    for value in values or ():
        try:
            out.add(uuid.UUID(str(value)))
        except ValueError:
            raise _error(f"not an id: {str(value)[:40]!r}", "BAD_USER_INPUT") from None
    return frozenset(out)
