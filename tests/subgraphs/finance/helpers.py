"""Helpers of the finance tests: a tenant with a buyer tree, and orders events as orders sends them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.db import Database
from shared.events import EventEnvelope
from subgraphs.finance import orgtree
from subgraphs.finance.consumers import OrderEvents


@dataclass
class Org:
    """A fresh tenant: COMPANY > UNIT (buyers), SELLER, DIST1, DIST2, PLATFORM."""

    db: Database
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    company: uuid.UUID = field(default_factory=uuid.uuid4)
    unit: uuid.UUID = field(default_factory=uuid.uuid4)
    seller: uuid.UUID = field(default_factory=uuid.uuid4)
    dist1: uuid.UUID = field(default_factory=uuid.uuid4)
    dist2: uuid.UUID = field(default_factory=uuid.uuid4)
    platform: uuid.UUID = field(default_factory=uuid.uuid4)

    async def setup(self) -> Org:
        async with self.db.tenant_session(self.id) as s:
            await orgtree.upsert_org_unit(s, self.id, self.platform, parent_id=None, kind="PLATFORM")
            await orgtree.upsert_org_unit(s, self.id, self.company, parent_id=None, kind="BUYER")
            await orgtree.upsert_org_unit(s, self.id, self.unit, parent_id=self.company, kind="BUYER")
            await orgtree.upsert_org_unit(s, self.id, self.seller, parent_id=None, kind="SUPPLIER")
            await orgtree.upsert_org_unit(s, self.id, self.dist1, parent_id=None, kind="DISTRIBUTOR")
            await orgtree.upsert_org_unit(s, self.id, self.dist2, parent_id=None, kind="DISTRIBUTOR")
        return self


def placed(org: Org, total: str, *, buyer: uuid.UUID | None = None, currency: str = "EUR") -> EventEnvelope:
    order_id = uuid.uuid4()
    return EventEnvelope.new(
        "orders",
        "placed",
        tenant_id=org.id,
        subject_id=order_id,
        data={
            "order_id": str(order_id),
            "purchase_id": str(uuid.uuid4()),
            "number": f"SO-{order_id.hex[:8].upper()}",
            "buyer_organization_id": str(buyer or org.unit),
            "seller_organization_id": str(org.seller),
            "placed_by": str(uuid.uuid4()),
            "currency": currency,
            "total": total,
            "delivery": None,
            "lines": [{"line_id": str(uuid.uuid4()), "sku_id": str(uuid.uuid4()), "quantity": 3}],
            "reserve_for_seconds": None,
        },
    )


def transition(org: Org, order_id: str | uuid.UUID, to: str, frm: str = "placed") -> EventEnvelope:
    return EventEnvelope.new(
        "orders",
        to,
        tenant_id=org.id,
        subject_id=order_id,
        data={
            "order_id": str(order_id),
            "from": frm,
            "to": to,
            "reason": None,
            "actor": None,
            "reservation_id": str(uuid.uuid4()),
        },
    )


async def deliver(db: Database, event: EventEnvelope) -> bool:
    """Apply an orders event the way the durable consumer does (idempotent by event id)."""
    consumer = OrderEvents(db, None)  # type: ignore[arg-type]
    return await consumer.process(event)


def oid(event: EventEnvelope) -> uuid.UUID:
    return uuid.UUID(str(event.data["order_id"]))


async def outbox(db: Database, tenant: uuid.UUID) -> list[dict[str, Any]]:
    """The finance events written for `tenant`, oldest first (read as the relay does)."""
    from sqlalchemy import text

    async with db.session() as s:
        await s.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
        rows = (
            await s.execute(
                text("SELECT type, envelope FROM finance.outbox WHERE tenant_id = :t ORDER BY seq"),
                {"t": tenant},
            )
        ).all()
    return [{"type": r.type, **r.envelope["data"]} for r in rows]


D = Decimal
