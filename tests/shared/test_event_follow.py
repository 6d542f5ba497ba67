"""shared.events.follow, the reader behind every partner ERP subscription, on a real JetStream:
another tenant's events and events outside the principal's data scope never reach a subscriber
(property test over generated events and principals), every admitted event arrives once and in
stream order, and a cursor resumes exactly after itself."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

import nats
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.js import JetStreamContext

from devstack.services import ServiceUrls
from shared.events.envelope import EventEnvelope
from shared.events.follow import (
    CursorError,
    DataScope,
    EventFilter,
    StreamEvent,
    follow,
    parse_cursor,
)
from shared.events.streams import ensure_stream

DOMAIN = f"erpprop{uuid.uuid4().hex[:8]}"
TENANTS = [uuid.UUID(int=i) for i in (1, 2, 3)]
ORGS = [uuid.UUID(int=100 + i) for i in range(5)]
EVENTS = ["placed", "confirmed", "cancelled"]
IDLE = 0.4  # seconds without a message: the reader has seen everything published


@dataclass
class Bus:
    nc: nats.NATS
    js: JetStreamContext

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(DOMAIN.upper())
        return int(info.state.last_seq)


@pytest_asyncio.fixture(loop_scope="session")
async def bus(service_urls: ServiceUrls) -> AsyncIterator[Bus]:
    nc = await nats.connect(service_urls.nats_url)
    js = nc.jetstream()
    await ensure_stream(js, DOMAIN)
    try:
        yield Bus(nc, js)
    finally:
        with contextlib.suppress(Exception):
            await js.delete_stream(DOMAIN.upper())
        await nc.close()


def _envelope(tenant: uuid.UUID, event: str, orgs: Collection[uuid.UUID]) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN, event, tenant_id=tenant, subject_id=str(uuid.uuid4()), data={"orgs": [str(o) for o in orgs]}
    )


async def _orgs_of(envelope: EventEnvelope) -> Collection[uuid.UUID]:
    return [uuid.UUID(o) for o in envelope.data["orgs"]]


async def _read(
    bus: Bus, event_filter: EventFilter, scope: DataScope, cursor: str | None
) -> list[StreamEvent]:
    async def scope_of() -> DataScope:
        return scope

    got: list[StreamEvent] = []
    reader = follow(bus.js, DOMAIN, event_filter, cursor=cursor, scope=scope_of, orgs_of=_orgs_of)
    try:
        while True:
            try:
                got.append(await asyncio.wait_for(anext(reader), IDLE))
            except TimeoutError:
                return got
    finally:
        await reader.aclose()


published_events = st.lists(
    st.tuples(
        st.sampled_from(TENANTS),
        st.sampled_from(EVENTS),
        st.frozensets(st.sampled_from(ORGS), max_size=3),
    ),
    min_size=1,
    max_size=12,
)
scopes = st.one_of(
    st.just(DataScope(all=True)),
    st.builds(
        lambda ids: DataScope(all=False, org_ids=ids), st.frozensets(st.sampled_from(ORGS), max_size=3)
    ),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=published_events,
    tenant=st.sampled_from(TENANTS),
    scope=scopes,
    types=st.frozensets(st.sampled_from(EVENTS), max_size=2),
    units=st.frozensets(st.sampled_from(ORGS), max_size=2),
)
async def test_only_the_tenants_events_in_scope_reach_a_reader(
    bus: Bus,
    events: list[tuple[uuid.UUID, str, frozenset[uuid.UUID]]],
    tenant: uuid.UUID,
    scope: DataScope,
    types: frozenset[str],
    units: frozenset[uuid.UUID],
) -> None:
    start = await bus.last_sequence()
    published: list[EventEnvelope] = []
    for event_tenant, name, orgs in events:
        envelope = _envelope(event_tenant, name, orgs)
        await bus.js.publish(envelope.subject, envelope.to_bytes())
        published.append(envelope)
    got = await _read(bus, EventFilter(tenant, types, units), scope, str(start))

    for item in got:  # the property: nothing from another tenant or outside the data scope
        orgs = set(await _orgs_of(item.envelope))
        assert item.envelope.tenant_id == tenant
        assert scope.all or orgs & scope.org_ids
        assert not types or item.envelope.event in types
        assert not units or orgs & units
    expected = [
        e.id
        for e in published
        if e.tenant_id == tenant
        and (not types or e.event in types)
        and (not units or set(await _orgs_of(e)) & units)
        and (scope.all or set(await _orgs_of(e)) & scope.org_ids)
    ]
    assert [item.envelope.id for item in got] == expected  # each once, in publish order
    sequences = [item.sequence for item in got]
    assert sequences == sorted(set(sequences)) and all(s > start for s in sequences)


async def test_a_cursor_resumes_exactly_after_itself(bus: Bus) -> None:
    tenant = TENANTS[0]
    start = await bus.last_sequence()
    sent = []
    for _ in range(4):
        envelope = _envelope(tenant, "placed", ORGS[:1])
        await bus.js.publish(envelope.subject, envelope.to_bytes())
        sent.append(envelope.id)
    everything = DataScope(all=True)
    first = await _read(bus, EventFilter(tenant), everything, str(start))
    assert [e.envelope.id for e in first] == sent
    rest = await _read(bus, EventFilter(tenant), everything, first[1].cursor)
    assert [e.envelope.id for e in rest] == sent[2:]


def test_cursors_are_stream_sequences() -> None:
    assert parse_cursor(None) is None and parse_cursor("") is None and parse_cursor("42") == 42
    for bad in ("-1", "abc", "1.5", "9" * 30):
        with pytest.raises(CursorError):
            parse_cursor(bad)
