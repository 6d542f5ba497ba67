"""The saga's stock side: consumers of the orders events (docs/saga.md).

- `orders.*.placed`           -> reserve (all lines or none): stock.reserved / reservation_failed
- `orders.*.payment_approved` -> commit: stock.committed / commit_failed
- `orders.*.cancelled`        -> release an active or committed reservation (reason cancelled)
- `orders.*.expired`          -> release if still active (reason expired)
- `orders.*.rejected`         -> release if still active (reason compensation)
- `logistics.*.shipment_shipped` -> the shipped units leave: on_hand and committed drop at the
  shipment's location, `shipment` movements, once per shipment (shipments.py)

Each is a durable `IdempotentConsumer` (processed-event ids in `stock.processed_events`), and each
handler is also idempotent on the domain state (one reservation per order), so the same event
under a new id changes nothing either.

`ReserveOnOrderPlaced` takes the messages of one fetch together: per tenant, ONE transaction
records every new event id and reserves all their orders (the level rows of a hot SKU are locked
once per batch instead of once per order). If that transaction fails, the batch falls back to
one transaction per message (the base class's path), so one bad event cannot block the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import ClassVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, IdempotentConsumer
from shared.events.streams import ensure_stream
from subgraphs.stock import reservations, shipments
from subgraphs.stock.models import SCHEMA

log = logging.getLogger(__name__)


def _order_id(event: EventEnvelope) -> uuid.UUID | None:
    for value in (event.data.get("order_id"), event.subject_id):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            continue
    return None


class ReserveOnOrderPlaced(IdempotentConsumer):
    name = "stock-order-placed"
    schema = SCHEMA
    domain = "orders"
    filter_subject = "orders.*.placed"
    batch: ClassVar[int] = 128

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        try:
            order = reservations.parse_placed(event.data)
        except reservations.InvalidPayload as exc:
            log.error("event %s: %s; ignored", event.id, exc)
            return
        await reservations.reserve_orders(session, event.tenant_id, [order])

    async def process_batch(self, events: Sequence[EventEnvelope]) -> int:
        """Apply the events of one tenant in one transaction; returns how many were new."""
        tenant = events[0].tenant_id
        async with self.db.tenant_session(tenant) as session:
            rows = await session.execute(
                text(
                    "INSERT INTO stock.processed_events (consumer, event_id, tenant_id) "
                    "SELECT :consumer, unnest(CAST(:ids AS uuid[])), :tenant "
                    "ON CONFLICT DO NOTHING RETURNING event_id"
                ),
                {"consumer": self.name, "ids": [e.id for e in events], "tenant": tenant},
            )
            new = set(rows.scalars().all())
            orders: list[reservations.PlacedOrder] = []
            for event in events:
                if event.id not in new:
                    continue
                new.discard(event.id)  # the same id twice in one fetch applies once
                try:
                    orders.append(reservations.parse_placed(event.data))
                except reservations.InvalidPayload as exc:
                    log.error("event %s: %s; ignored", event.id, exc)
            await reservations.reserve_orders(session, tenant, orders)
        return len(orders)

    async def on_batch(self, messages: Sequence[Msg]) -> None:
        parsed: list[tuple[Msg, EventEnvelope]] = []
        for msg in messages:
            try:
                parsed.append((msg, EventEnvelope.from_bytes(msg.data)))
            except (ValidationError, ValueError):
                log.error("consumer %s: malformed event on %s; terminated", self.name, msg.subject)
                await msg.term()
        by_tenant: dict[uuid.UUID, list[tuple[Msg, EventEnvelope]]] = {}
        for msg, event in parsed:
            by_tenant.setdefault(event.tenant_id, []).append((msg, event))
        for group in by_tenant.values():
            try:
                await self.process_batch([event for _msg, event in group])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s: batch of %d failed; one by one", self.name, len(group))
                for msg, _event in group:
                    await self.on_message(msg)
                continue
            for msg, _event in group:
                await self.ack(msg)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Like the base class, but the next fetch runs while a batch is being applied (the
        database round trips of one batch overlap the network wait for the next)."""
        stop = stop or asyncio.Event()
        await ensure_stream(self.js, self.domain, name=self.stream)
        sub = await self.js.pull_subscribe(
            self.filter_subject, durable=self.name, stream=self.stream, config=self.consumer_config()
        )

        async def fetch() -> list[Msg]:
            try:
                return list(await sub.fetch(self.batch, timeout=1.0))
            except (NatsTimeoutError, TimeoutError):
                return []

        pending = asyncio.create_task(fetch())
        try:
            while not stop.is_set():
                messages = await pending
                pending = asyncio.create_task(fetch())
                if messages:
                    await self.on_batch(messages)
        finally:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending  # fetched but unapplied messages are redelivered after ack_wait
            await sub.unsubscribe()


class CommitOnPaymentApproved(IdempotentConsumer):
    name = "stock-order-payment-approved"
    schema = SCHEMA
    domain = "orders"
    filter_subject = "orders.*.payment_approved"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        order_id = _order_id(event)
        rid = event.data.get("reservation_id")
        try:
            reservation_id = uuid.UUID(str(rid)) if rid else None
        except ValueError:
            reservation_id = None
        if order_id is None and reservation_id is None:
            log.error("event %s: payment_approved without order or reservation id; ignored", event.id)
            return
        await reservations.commit(session, event.tenant_id, order_id, reservation_id)


class _ReleaseOn(IdempotentConsumer):
    schema = SCHEMA
    domain = "orders"
    reason: ClassVar[str]
    include_committed: ClassVar[bool] = False

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        order_id = _order_id(event)
        if order_id is None:
            log.error("event %s (%s) without order id; ignored", event.id, event.type)
            return
        await reservations.release(
            session, event.tenant_id, order_id, self.reason, include_committed=self.include_committed
        )


class ReleaseOnOrderCancelled(_ReleaseOn):
    name = "stock-order-cancelled"
    filter_subject = "orders.*.cancelled"
    reason = "cancelled"
    include_committed = True


class ReleaseOnOrderExpired(_ReleaseOn):
    name = "stock-order-expired"
    filter_subject = "orders.*.expired"
    reason = "expired"


class ReleaseOnOrderRejected(_ReleaseOn):
    name = "stock-order-rejected"
    filter_subject = "orders.*.rejected"
    reason = "compensation"


class ConsumeOnShipmentShipped(IdempotentConsumer):
    name = "stock-shipment-shipped"
    schema = SCHEMA
    domain = "logistics"
    filter_subject = "logistics.*.shipment_shipped"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await shipments.consume_shipment(session, event.tenant_id, event.data)


CONSUMERS = (
    ReserveOnOrderPlaced,
    CommitOnPaymentApproved,
    ReleaseOnOrderCancelled,
    ReleaseOnOrderExpired,
    ReleaseOnOrderRejected,
    ConsumeOnShipmentShipped,
)
