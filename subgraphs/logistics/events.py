"""Events of the logistics domain (docs/saga.md, "The logistics seam").

Published (stream `LOGISTICS`, subjects `logistics.<tenant>.<event>`, `subject_id` = shipment id),
written to `logistics.outbox` in the transaction of the change:

- `logistics.shipment_created`, `logistics.shipment_shipped` (the carrier has it: DISPATCHED),
  `logistics.shipment_in_transit`, `logistics.shipment_delivered`, `logistics.shipment_exception`,
  `logistics.shipment_cancelled`: {shipment_id, order_id, location_id, carrier, tracking_number,
  lines: [{line_id, sku_id, quantity}], all_lines_shipped, all_shipments_delivered, status,
  reason, occurred_at}. `all_lines_shipped`: every ordered quantity is in a shipment the carrier
  has (orders: partially_shipped vs shipped); `all_shipments_delivered`: every shipment of the
  order that is not cancelled is delivered (orders: delivered).
- `logistics.shipment_returned`, `logistics.shipment_lost` (same payload): staff resolved an
  exception by returning the parcel to the sender or marking it lost;
  `logistics.shipment_exception_resolved` (same payload, `reason` = the resolution:
  RETRY_DELIVERY | RETURN_TO_SENDER | MARK_LOST) for every resolution;
  `logistics.shipment_rerouted` (same payload, of the new shipment, plus `replaces_shipment_id`):
  a cancelled, returned or lost shipment replaced by a new one (another carrier or warehouse).
  A replaced shipment no longer counts for `all_lines_shipped` / `all_shipments_delivered`.
- `logistics.wave_released` (`subject_id` = wave id): {wave_id, location_id, shipment_ids,
  order_ids, pick_list: [{sku_id, quantity}], trigger: SIZE | INTERVAL, released_at}.

Consumed: `orders.*.placed` (lines, seller, buyer, delivery address), `orders.*.confirmed`,
`orders.*.cancelled` and `stock.*.reserved` (allocation per line and location), see consumers.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.events import EventEnvelope

DOMAIN = "logistics"
SHIPMENT_CREATED = "shipment_created"
SHIPMENT_SHIPPED = "shipment_shipped"
SHIPMENT_IN_TRANSIT = "shipment_in_transit"
SHIPMENT_DELIVERED = "shipment_delivered"
SHIPMENT_EXCEPTION = "shipment_exception"
SHIPMENT_CANCELLED = "shipment_cancelled"
SHIPMENT_RETURNED = "shipment_returned"
SHIPMENT_LOST = "shipment_lost"
SHIPMENT_EXCEPTION_RESOLVED = "shipment_exception_resolved"
SHIPMENT_REROUTED = "shipment_rerouted"
WAVE_RELEASED = "wave_released"

# Which event a shipment's new status announces.
STATUS_EVENTS: dict[str, str] = {
    "CREATED": SHIPMENT_CREATED,
    "DISPATCHED": SHIPMENT_SHIPPED,
    "IN_TRANSIT": SHIPMENT_IN_TRANSIT,
    "DELIVERED": SHIPMENT_DELIVERED,
    "EXCEPTION": SHIPMENT_EXCEPTION,
    "CANCELLED": SHIPMENT_CANCELLED,
    "RETURNED": SHIPMENT_RETURNED,
    "LOST": SHIPMENT_LOST,
}


def shipment_event(
    event: str,
    tenant_id: uuid.UUID,
    *,
    shipment_id: uuid.UUID,
    order_id: uuid.UUID,
    location_id: uuid.UUID,
    carrier: str | None,
    tracking_number: str | None,
    lines: list[dict[str, Any]],
    all_lines_shipped: bool,
    all_shipments_delivered: bool,
    status: str,
    reason: str | None,
    occurred_at: datetime,
    extra: dict[str, Any] | None = None,
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        event,
        tenant_id=tenant_id,
        subject_id=shipment_id,
        data={
            "shipment_id": str(shipment_id),
            "order_id": str(order_id),
            "location_id": str(location_id),
            "carrier": carrier,
            "tracking_number": tracking_number,
            "lines": lines,
            "all_lines_shipped": all_lines_shipped,
            "all_shipments_delivered": all_shipments_delivered,
            "status": status,
            "reason": reason,
            "occurred_at": occurred_at.isoformat(),
            **(extra or {}),
        },
    )


def wave_released(
    tenant_id: uuid.UUID,
    *,
    wave_id: uuid.UUID,
    location_id: uuid.UUID,
    shipment_ids: list[uuid.UUID],
    order_ids: list[uuid.UUID],
    pick_list: list[dict[str, Any]],
    trigger: str,
    released_at: datetime,
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        WAVE_RELEASED,
        tenant_id=tenant_id,
        subject_id=wave_id,
        data={
            "wave_id": str(wave_id),
            "location_id": str(location_id),
            "shipment_ids": [str(s) for s in shipment_ids],
            "order_ids": [str(o) for o in order_ids],
            "pick_list": pick_list,
            "trigger": trigger,
            "released_at": released_at.isoformat(),
        },
    )
