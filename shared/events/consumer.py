"""The durable, idempotent consumer base.

A subclass names itself, says what it listens to, and applies one event inside a tenant
transaction of its own database:

    class ReserveStockOnOrderPlaced(IdempotentConsumer):
        name = "stock-order-placed"            # durable consumer name, also the idempotency key
        schema = "stock"                       # where processed_events lives
        domain = "orders"                      # stream ORDERS
        filter_subject = "orders.*.placed"

        async def handle(self, session: AsyncSession, event: EventEnvelope) -> None: ...

For each message: in one transaction, insert (consumer, event id) into `<schema>.processed_events`;
if it was already there the effect was applied before and is skipped; otherwise `handle` runs.
Commit, then ack. A crash before the commit redelivers and re-applies cleanly; a crash after the
commit but before the ack redelivers and is skipped. A failing `handle` rolls back and naks.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from typing import Any, ClassVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events.envelope import EventEnvelope
from shared.events.streams import ensure_stream, stream_name_for
from shared.migrations_helpers import sql_ident
from shared.observability.event_metrics import EVENTS_CONSUMED
from shared.observability.events import observed_message, report_lag

log = logging.getLogger(__name__)


class IdempotentConsumer(abc.ABC):
    name: ClassVar[str]
    schema: ClassVar[str]
    domain: ClassVar[str]
    filter_subject: ClassVar[str]
    ack_wait: ClassVar[float] = 30.0
    max_deliver: ClassVar[int] = 20
    nak_delay: ClassVar[float] = 1.0
    batch: ClassVar[int] = 32

    def __init__(self, db: Database, js: JetStreamContext, *, stream: str | None = None) -> None:
        self.db = db
        self.js = js
        self.stream = stream or stream_name_for(self.domain)

    @abc.abstractmethod
    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        """Apply `event`. Runs inside a transaction scoped to `event.tenant_id`."""

    async def process(self, event: EventEnvelope) -> bool:
        """Apply `event` at most once; returns False when it had already been applied."""
        async with self.db.tenant_session(event.tenant_id) as session:
            first_time = (
                await session.execute(
                    text(
                        f"INSERT INTO {sql_ident(self.schema)}.processed_events "
                        "(consumer, event_id, tenant_id) "
                        "VALUES (:consumer, :event_id, :tenant_id) ON CONFLICT DO NOTHING RETURNING event_id"
                    ),
                    {"consumer": self.name, "event_id": event.id, "tenant_id": event.tenant_id},
                )
            ).first() is not None
            if first_time:
                await self.handle(session, event)
        return first_time

    async def ack(self, msg: Msg) -> None:
        await msg.ack()

    async def on_message(self, msg: Msg) -> None:
        await observed_message(self.name, msg, self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = EventEnvelope.from_bytes(msg.data)
        except (ValidationError, ValueError):
            log.error("consumer %s: malformed event on %s; terminated", self.name, msg.subject)
            EVENTS_CONSUMED.labels(self.name, "malformed").inc()
            await msg.term()
            return
        try:
            applied = await self.process(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("consumer %s: event %s (%s) failed; redelivering", self.name, event.id, event.type)
            EVENTS_CONSUMED.labels(self.name, "failed").inc()
            await msg.nak(delay=self.nak_delay)
            return
        EVENTS_CONSUMED.labels(self.name, "applied" if applied else "duplicate").inc()
        if not applied:
            log.debug("consumer %s: event %s already applied", self.name, event.id)
        await self.ack(msg)

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            filter_subject=self.filter_subject,
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Pull and apply messages until cancelled (or `stop` is set)."""
        stop = stop or asyncio.Event()
        await ensure_stream(self.js, self.domain, name=self.stream)
        sub = await self.js.pull_subscribe(
            self.filter_subject, durable=self.name, stream=self.stream, config=self.consumer_config()
        )
        try:
            while not stop.is_set():
                await report_lag(self.name, sub)
                try:
                    messages = await sub.fetch(self.batch, timeout=1.0)
                except (NatsTimeoutError, TimeoutError):
                    # nats-py raises either when nothing arrived within the fetch timeout
                    continue
                for msg in messages:
                    await self.on_message(msg)
        finally:
            await sub.unsubscribe()

    def start(self) -> asyncio.Task[Any]:
        return asyncio.create_task(self.run(), name=f"consumer-{self.name}")
