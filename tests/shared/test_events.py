"""Outbox, relay and consumer on the real PostgreSQL and NATS JetStream.

- an event written in a rolled-back transaction is never published;
- one written in a committed transaction is published exactly once, even when the relay dies
  between the publish and the mark (JetStream drops the republished duplicate by Nats-Msg-Id);
- a consumer that sees an event again (redelivery, duplicate copy) applies it once.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import asyncpg
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, app_database_url, libpq_url
from shared.events import (
    EventEnvelope,
    IdempotentConsumer,
    OutboxRelay,
    add_event,
    ensure_stream,
    stream_name_for,
)
from shared.migrations_helpers import outbox_sql, processed_events_sql, tenant_rls_sql
from shared.settings import get_settings

TENANT = uuid.uuid4()


@dataclass
class EventWorld:
    schema: str
    domain: str
    stream: str
    admin_url: str
    app_url: str
    nats_url: str
    db: Database
    nc: NatsClient
    js: JetStreamContext

    async def admin_fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(libpq_url(self.admin_url))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def stream_count(self, subject: str | None = None) -> int:
        info = await self.js.stream_info(self.stream, subjects_filter=subject)
        if subject is None:
            return info.state.messages
        return sum((info.state.subjects or {}).values())


@pytest.fixture
async def world(service_urls) -> AsyncIterator[EventWorld]:  # type: ignore[no-untyped-def]
    """A private schema (outbox, processed_events, an `effects` tenant table) and a private stream."""
    suffix = secrets.token_hex(4)
    schema, domain = f"evt_{suffix}", f"evt{suffix}"
    role = get_settings().app_db_role
    statements = [
        f"CREATE SCHEMA {schema}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        *outbox_sql(schema),
        *processed_events_sql(schema),
        f"CREATE TABLE {schema}.effects (tenant_id uuid NOT NULL, event_id uuid PRIMARY KEY, n int NOT NULL)",
        *tenant_rls_sql("effects", schema=schema),
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]
    conn = await asyncpg.connect(libpq_url(service_urls.database_url))
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()
    app_url = app_database_url(service_urls.database_url).render_as_string(hide_password=False)
    db = Database.from_url(app_url, pool_size=3)
    nc = await nats.connect(service_urls.nats_url)
    js = nc.jetstream()
    stream = await ensure_stream(js, domain, duplicate_window=60)
    try:
        yield EventWorld(
            schema, domain, stream, service_urls.database_url, app_url, service_urls.nats_url, db, nc, js
        )
    finally:
        await js.delete_stream(stream)
        await nc.close()
        await db.dispose()


def _event(world: EventWorld, name: str = "happened") -> EventEnvelope:
    return EventEnvelope.new(world.domain, name, tenant_id=TENANT, subject_id=uuid.uuid4(), data={"n": 1})


class Boom(Exception):
    pass


def test_envelope_subject_and_round_trip() -> None:
    event = EventEnvelope.new("orders", "placed", tenant_id=TENANT, subject_id="o-1", data={"total": "12.50"})
    assert event.subject == f"orders.{TENANT}.placed"
    assert event.type == "orders.placed"
    assert EventEnvelope.from_bytes(event.to_bytes()) == event
    with pytest.raises(ValueError):
        EventEnvelope.new("orders", "placed.twice", tenant_id=TENANT, subject_id="o-1")


async def test_rolled_back_event_is_never_published(world: EventWorld) -> None:
    lost = _event(world, "lost")
    with pytest.raises(Boom):
        async with world.db.tenant_session(TENANT) as s:
            await add_event(s, world.schema, lost)
            raise Boom
    relay = OutboxRelay(world.db, world.js, schema=world.schema)
    assert await relay.publish_pending() == 0
    kept = _event(world, "kept")
    async with world.db.tenant_session(TENANT) as s:
        await add_event(s, world.schema, kept)
    assert await relay.publish_pending() == 1
    assert await world.stream_count() == 1
    assert await world.stream_count(lost.subject) == 0
    assert await world.stream_count(kept.subject) == 1
    rows = await world.admin_fetch(f"SELECT id, published_at FROM {world.schema}.outbox")
    assert [r["id"] for r in rows] == [kept.id] and rows[0]["published_at"] is not None


async def test_tenant_session_cannot_read_the_outbox_or_write_for_another_tenant(world: EventWorld) -> None:
    async with world.db.tenant_session(TENANT) as s:
        await add_event(s, world.schema, _event(world))
        assert (await s.execute(text(f"SELECT count(*) FROM {world.schema}.outbox"))).scalar() == 0
    with pytest.raises(Exception, match="row-level security"):
        async with world.db.tenant_session(uuid.uuid4()) as s:
            await add_event(s, world.schema, _event(world))  # event of TENANT, session of another


async def test_relay_crash_between_publish_and_mark_publishes_once(world: EventWorld) -> None:
    event = _event(world, "once")
    async with world.db.tenant_session(TENANT) as s:
        await add_event(s, world.schema, event)

    async def crash(_: EventEnvelope) -> None:
        raise Boom("relay died after publish, before mark")

    with pytest.raises(Boom):
        await OutboxRelay(world.db, world.js, schema=world.schema, after_publish=crash).publish_pending()
    assert await world.stream_count(event.subject) == 1  # it did reach the stream...
    pending = await world.admin_fetch(
        f"SELECT published_at FROM {world.schema}.outbox WHERE id = $1", event.id
    )
    assert pending[0]["published_at"] is None  # ...but the mark was rolled back

    restarted = OutboxRelay(world.db, world.js, schema=world.schema)
    assert await restarted.publish_pending() == 1  # republished, dropped by JetStream as a duplicate
    assert await restarted.publish_pending() == 0
    assert await world.stream_count(event.subject) == 1
    done = await world.admin_fetch(f"SELECT published_at FROM {world.schema}.outbox WHERE id = $1", event.id)
    assert done[0]["published_at"] is not None


async def test_relay_process_killed_after_publish_publishes_once(world: EventWorld, repo_root: Path) -> None:
    events = [_event(world, "killed") for _ in range(3)]
    async with world.db.tenant_session(TENANT) as s:
        for event in events:
            await add_event(s, world.schema, event)
    child = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tests.shared.relay_crash_child",
            world.app_url,
            world.nats_url,
            world.schema,
        ],
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == 17, child.stderr.decode()[-2000:]
    assert await world.stream_count() == 1  # the first event reached the stream before the kill
    pending = await world.admin_fetch(
        f"SELECT count(*) AS n FROM {world.schema}.outbox WHERE published_at IS NULL"
    )
    assert pending[0]["n"] == 3  # nothing was marked
    assert await OutboxRelay(world.db, world.js, schema=world.schema).publish_pending() == 3
    assert await world.stream_count() == 3  # three events, each exactly once
    for event in events:
        assert await world.stream_count(event.subject) == 3  # same subject for the three
    ids = set()
    sub = await world.js.pull_subscribe(f"{world.domain}.>", stream=world.stream)
    for msg in await sub.fetch(10, timeout=2):
        ids.add(EventEnvelope.from_bytes(msg.data).id)
        assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == str(
            EventEnvelope.from_bytes(msg.data).id
        )
        await msg.ack()
    await sub.unsubscribe()
    assert ids == {e.id for e in events}


def _consumer_class(world: EventWorld) -> type[IdempotentConsumer]:
    class CountEffects(IdempotentConsumer):
        name = f"count-{world.domain}"
        schema = world.schema
        domain = world.domain
        filter_subject = f"{world.domain}.*.happened"
        ack_wait = 1.0
        nak_delay = 0.1
        dropped_acks: ClassVar[int] = 0

        async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
            await session.execute(
                text(
                    f"INSERT INTO {world.schema}.effects (tenant_id, event_id, n) VALUES (:t, :e, 1) "
                    "ON CONFLICT (event_id) DO UPDATE SET n = effects.n + 1"
                ),
                {"t": event.tenant_id, "e": event.id},
            )

    return CountEffects


async def _effects(world: EventWorld) -> dict[uuid.UUID, int]:
    rows = await world.admin_fetch(f"SELECT event_id, n FROM {world.schema}.effects")
    return {r["event_id"]: r["n"] for r in rows}


async def test_consumer_applies_an_event_once(world: EventWorld) -> None:
    consumer = _consumer_class(world)(world.db, world.js)
    event = _event(world)
    assert await consumer.process(event) is True
    assert await consumer.process(event) is False
    assert await _effects(world) == {event.id: 1}


async def test_consumer_failure_rolls_back_effect_and_record(world: EventWorld) -> None:
    base = _consumer_class(world)

    class Failing(base):  # type: ignore[misc, valid-type]
        async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
            await super().handle(session, event)
            raise Boom

    event = _event(world)
    with pytest.raises(Boom):
        await Failing(world.db, world.js).process(event)
    assert await _effects(world) == {}
    assert await base(world.db, world.js).process(event) is True  # not marked as processed
    assert await _effects(world) == {event.id: 1}


async def test_redelivered_event_is_applied_once(world: EventWorld) -> None:
    base = _consumer_class(world)

    class LosesFirstAck(base):  # type: ignore[misc, valid-type]
        """Commits its effect, then 'crashes' before acking the first delivery."""

        async def ack(self, msg: Msg) -> None:
            if msg.metadata.num_delivered == 1:
                type(self).dropped_acks += 1
                return
            await super().ack(msg)

    once, twice = _event(world), _event(world)
    for event in (once, twice):
        await world.js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    # The same event again under another message id: a copy the stream does not deduplicate.
    await world.js.publish(twice.subject, twice.to_bytes(), headers={"Nats-Msg-Id": f"{twice.id}-copy"})

    consumer = LosesFirstAck(world.db, world.js)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        async with asyncio.timeout(30):
            while True:
                await asyncio.sleep(0.2)
                try:
                    info = await world.js.consumer_info(world.stream, consumer.name)
                except nats.js.errors.NotFoundError:
                    continue
                if info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.consumer_seq >= 6:
                    break
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert LosesFirstAck.dropped_acks == 3  # every message was delivered again after ack_wait
    assert await _effects(world) == {once.id: 1, twice.id: 1}
    rows = await world.admin_fetch(f"SELECT event_id FROM {world.schema}.processed_events")
    assert sorted(r["event_id"] for r in rows) == sorted([once.id, twice.id])


def test_stream_name() -> None:
    assert stream_name_for("orders") == "ORDERS"


async def test_ensure_stream_is_idempotent(world: EventWorld) -> None:
    assert await ensure_stream(world.js, world.domain, duplicate_window=60) == world.stream
    info = await world.js.stream_info(world.stream)
    assert info.config.duplicate_window == 60
    assert info.config.subjects == [f"{world.domain}.>"]


async def test_commit_wakes_the_running_relay(world: EventWorld) -> None:
    """With a relay in this process, a committed event is published at once, not at the next poll;
    a rolled-back one wakes nothing and is never published."""
    relay = OutboxRelay(world.db, world.js, schema=world.schema, poll_interval=60.0)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.3)  # the first (empty) poll is done; the next one is a minute away
        with pytest.raises(Boom):
            async with world.db.tenant_session(TENANT) as s:
                await add_event(s, world.schema, _event(world, "never"))
                raise Boom
        event = _event(world, "prompt")
        async with world.db.tenant_session(TENANT) as s:
            await add_event(s, world.schema, event)
        async with asyncio.timeout(5):
            while True:
                if await world.stream_count(event.subject) == 1:
                    break
                await asyncio.sleep(0.05)
        assert await world.stream_count() == 1
    finally:
        stop.set()
        relay.wake()
        await asyncio.wait_for(task, timeout=5)


async def test_prune_deletes_only_old_published_rows(world: EventWorld) -> None:
    relay = OutboxRelay(world.db, world.js, schema=world.schema)
    async with world.db.tenant_session(TENANT) as s:
        await add_event(s, world.schema, _event(world, "old"))
    assert await relay.publish_pending() == 1
    async with world.db.tenant_session(TENANT) as s:
        await add_event(s, world.schema, _event(world, "pending"))
    assert await relay.prune_published() == 0  # within the retention
    await asyncio.sleep(0.05)
    assert await relay.prune_published(older_than=0.01) == 1
    rows = await world.admin_fetch(f"SELECT type, published_at FROM {world.schema}.outbox")
    assert [(r["type"], r["published_at"]) for r in rows] == [(f"{world.domain}.pending", None)]
