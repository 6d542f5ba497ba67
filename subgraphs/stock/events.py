"""Events the stock subgraph publishes (stream STOCK, subject `stock.<tenant>.<event>`) and consumes.

Published (payloads of docs/saga.md; docs/stock.md for adjusted/low):
- `stock.reserved` (subject = reservation): reservation_id, order_id, expires_at, allocations
  [{line_id, sku_id, location_id, quantity}]
- `stock.reservation_failed` (subject = order): order_id, reason (INSUFFICIENT_STOCK | UNKNOWN_SKU |
  NO_LOCATION), lines [{line_id, sku_id, requested, available}]
- `stock.committed`: reservation_id, order_id
- `stock.commit_failed`: reservation_id | null, order_id, reason (RESERVATION_EXPIRED |
  RESERVATION_RELEASED | UNKNOWN_RESERVATION)
- `stock.released`: reservation_id, order_id, reason (cancelled | expired | compensation),
  lines [{sku_id, location_id, quantity}]
- `stock.adjusted` (subject = level): level_id, sku_id, location_id, kind, delta, on_hand,
  available, reason, movement_id, reference
- `stock.low` (subject = level): level_id, sku_id, location_id, available, low_threshold

Consumed (consumers.py): `orders.*.placed`, `orders.*.payment_approved`, `orders.*.cancelled`,
`orders.*.expired`, `orders.*.rejected`, `logistics.*.shipment_shipped`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.events import EventEnvelope

DOMAIN = "stock"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def reserved(
    tenant_id: uuid.UUID,
    reservation_id: uuid.UUID,
    order_id: uuid.UUID,
    expires_at: datetime,
    allocations: Sequence[dict[str, Any]],
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        "reserved",
        tenant_id=tenant_id,
        subject_id=reservation_id,
        data={
            "reservation_id": str(reservation_id),
            "order_id": str(order_id),
            "expires_at": _iso(expires_at),
            "allocations": list(allocations),
        },
    )


def reservation_failed(
    tenant_id: uuid.UUID, order_id: uuid.UUID, reason: str, lines: Sequence[dict[str, Any]]
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        "reservation_failed",
        tenant_id=tenant_id,
        subject_id=order_id,
        data={"order_id": str(order_id), "reason": reason, "lines": list(lines)},
    )


def committed(tenant_id: uuid.UUID, reservation_id: uuid.UUID, order_id: uuid.UUID) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        "committed",
        tenant_id=tenant_id,
        subject_id=reservation_id,
        data={"reservation_id": str(reservation_id), "order_id": str(order_id)},
    )


def commit_failed(
    tenant_id: uuid.UUID, reservation_id: uuid.UUID | None, order_id: uuid.UUID, reason: str
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        "commit_failed",
        tenant_id=tenant_id,
        subject_id=reservation_id or order_id,
        data={
            "reservation_id": str(reservation_id) if reservation_id else None,
            "order_id": str(order_id),
            "reason": reason,
        },
    )


def released(
    tenant_id: uuid.UUID,
    reservation_id: uuid.UUID,
    order_id: uuid.UUID,
    reason: str,
    lines: Sequence[dict[str, Any]],
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        "released",
        tenant_id=tenant_id,
        subject_id=reservation_id,
        data={
            "reservation_id": str(reservation_id),
            "order_id": str(order_id),
            "reason": reason,
            "lines": list(lines),
        },
    )


def adjusted(tenant_id: uuid.UUID, level_id: uuid.UUID, data: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope.new(DOMAIN, "adjusted", tenant_id=tenant_id, subject_id=level_id, data=data)


def low(
    tenant_id: uuid.UUID,
    level_id: uuid.UUID,
    sku_id: uuid.UUID,
    location_id: uuid.UUID,
    available: int,
    low_threshold: int,
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        "low",
        tenant_id=tenant_id,
        subject_id=level_id,
        data={
            "level_id": str(level_id),
            "sku_id": str(sku_id),
            "location_id": str(location_id),
            "available": available,
            "low_threshold": low_threshold,
        },
    )
