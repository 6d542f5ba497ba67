"""Events logistics consumes (docs/saga.md, "The logistics seam"): what it must know of an order
before it can route it. They may arrive in any order; routing runs once the order is confirmed and
both its lines (`orders.placed`) and stock's allocation (`stock.reserved`) are known."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, IdempotentConsumer
from subgraphs.logistics import service
from subgraphs.logistics.models import SCHEMA


def _order_id(event: EventEnvelope) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(event.data.get("order_id") or event.subject_id))
    except ValueError:
        return None


class OrderEvents(IdempotentConsumer):
    """`orders.placed` (lines, seller, buyer, delivery), `orders.confirmed`, `orders.cancelled`."""

    name = "logistics-orders"
    schema = SCHEMA
    domain = "orders"
    filter_subject = "orders.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        order_id = _order_id(event)
        if order_id is None:
            return
        if event.event == "placed":
            await service.record_order_placed(session, event.tenant_id, order_id, event.data)
        elif event.event == "confirmed":
            await service.record_order_confirmed(session, event.tenant_id, order_id, event.occurred_at)
        elif event.event == "cancelled":
            await service.record_order_cancelled(session, event.tenant_id, order_id, event.occurred_at)


class StockReserved(IdempotentConsumer):
    """`stock.reserved`: where stock holds each line's units (location per line)."""

    name = "logistics-stock-reserved"
    schema = SCHEMA
    domain = "stock"
    filter_subject = "stock.*.reserved"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        order_id = _order_id(event)
        if order_id is None:
            return
        await service.record_allocation(session, event.tenant_id, order_id, event.data.get("allocations"))
