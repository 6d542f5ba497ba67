"""The outbox relay: publishes committed outbox rows to JetStream, then marks them published.

Delivery is at-least-once from the relay (a crash between publish and mark republishes the row)
and exactly-once in the stream, because each message carries `Nats-Msg-Id` = event id and the
stream drops ids it has already stored inside its duplicate window.

Every replica of a subgraph runs a relay; they take turns on a transaction-scoped advisory lock
per outbox schema (`shared.lease.transaction_lock`), one batch each, so a second replica neither
publishes the same rows nor reorders the stream, and a replica that dies mid-batch frees the
lock with its connection (its batch stays pending and the next holder publishes it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import text

from shared.db import Database
from shared.events.envelope import EventEnvelope
from shared.events.outbox import TRACE_KEY, register_relay_waker, unregister_relay_waker
from shared.lease import transaction_lock
from shared.migrations_helpers import sql_ident
from shared.observability.event_metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = logging.getLogger(__name__)

PublishHook = Callable[[EventEnvelope], Awaitable[None]]


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        *,
        schema: str,
        batch_size: int = 100,
        poll_interval: float = 0.25,
        publish_timeout: float = 5.0,
        after_publish: PublishHook | None = None,
        retention: float = 7 * 24 * 3600.0,
        prune_every: float = 3600.0,
        lock_wait: float = 30.0,
    ) -> None:
        self.db = db
        self.js = js
        self.schema = sql_ident(schema)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout
        # Test seam: runs after a message is acknowledged by JetStream and before its row is marked.
        self.after_publish = after_publish
        self._wake = asyncio.Event()
        # Published rows are kept `retention` seconds (audit, debugging), then pruned.
        self.retention = retention
        self.prune_every = prune_every
        self._last_prune = 0.0
        self.lock_wait = lock_wait  # how long a replica waits for another's batch before retrying
        self._last_backlog = 0.0

    def wake(self) -> None:
        """Ask the loop to look at the outbox now (call after committing events)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows in outbox order; returns how many were published."""
        published: list[int] = []
        async with self.db.session() as session:
            await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
            # Replicas take turns, one batch each: waiting here (not skipping rows) keeps the stream
            # in outbox order, and the batch after the wait sees what the other one marked published.
            await transaction_lock(session, f"outbox:{self.schema}", timeout_ms=int(self.lock_wait * 1000))
            rows = (
                await session.execute(
                    text(
                        f"SELECT seq, id, subject, envelope FROM {self.schema}.outbox "
                        "WHERE published_at IS NULL ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"n": self.batch_size},
                )
            ).all()
            for seq, event_id, subject, envelope in rows:
                event = EventEnvelope.model_validate(envelope)
                headers = {"Nats-Msg-Id": str(event_id)}
                traceparent = envelope.get(TRACE_KEY) if isinstance(envelope, dict) else None
                if isinstance(traceparent, str):
                    headers["traceparent"] = traceparent  # the writer's trace, on to the consumers
                await self.js.publish(
                    subject,
                    event.to_bytes(),
                    timeout=self.publish_timeout,
                    headers=headers,
                )
                published.append(seq)
                EVENTS_PUBLISHED.labels(self.schema, event.type).inc()
                if self.after_publish is not None:
                    await self.after_publish(event)
            # Any failure above rolls this transaction back, so every row of the batch stays
            # pending; the ones already in the stream are dropped as duplicates when republished.
            if published:
                await session.execute(
                    text(f"UPDATE {self.schema}.outbox SET published_at = now() WHERE seq = ANY(:seqs)"),
                    {"seqs": published},
                )
            if len(rows) < self.batch_size:
                OUTBOX_BACKLOG.labels(self.schema).set(0)  # drained (what others committed meanwhile aside)
            elif time.monotonic() - self._last_backlog > 1.0:
                self._last_backlog = time.monotonic()
                pending = await session.execute(
                    text(f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))
                OUTBOX_BACKLOG.labels(self.schema).set(int(pending.scalar_one()))
        return len(published)

    async def prune_published(self, older_than: float | None = None) -> int:
        """Delete rows published more than `older_than` seconds ago (default: the retention)."""
        age = self.retention if older_than is None else older_than
        async with self.db.session() as session:
            await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
            result = await session.execute(
                text(
                    f"DELETE FROM {self.schema}.outbox WHERE published_at IS NOT NULL "
                    "AND published_at < now() - make_interval(secs => :age)"
                ),
                {"age": age},
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Publish until cancelled (or `stop` is set), polling when idle."""
        stop = stop or asyncio.Event()
        register_relay_waker(self.schema, self.wake)
        try:
            await self._loop(stop)
        finally:
            unregister_relay_waker(self.schema, self.wake)

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            # Cleared before the batch, so a commit that wakes us during the batch is not lost.
            self._wake.clear()
            try:
                count = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay (%s) failed; retrying", self.schema)
                count = 0
                await asyncio.sleep(min(5.0, self.poll_interval * 8))
            if count >= self.batch_size:
                continue  # more waiting
            if time.monotonic() - self._last_prune > self.prune_every:
                self._last_prune = time.monotonic()
                try:
                    await self.prune_published()
                except Exception:
                    log.exception("outbox relay (%s): pruning failed", self.schema)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def start(self) -> asyncio.Task[Any]:
        return asyncio.create_task(self.run(), name=f"outbox-relay-{self.schema}")
