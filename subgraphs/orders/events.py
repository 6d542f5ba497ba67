"""Events of the orders domain (payloads per docs/saga.md).

Published (stream `ORDERS`, subjects `orders.<tenant>.<event>`, `subject_id` = order id), written
to `orders.outbox` in the transaction of the change:

- `orders.placed`: {order_id, purchase_id, number, buyer_organization_id, seller_organization_id,
  placed_by, currency, total, delivery | null, lines: [{line_id, sku_id, quantity, unit_price,
  line_total, sku_code, product_name, category_id}], reserve_for_seconds | null} (`unit_price`,
  `line_total`: decimal strings; these and the line's SKU code, product name and catalog
  category are additions to the contract for finance's invoices and product-line sharing)
- `orders.payment_approved`: {order_id, reservation_id, approved_by | null, method}
- `orders.<to-state>` for every other transition (pending_approval, reserved, confirmed,
  cancelled, rejected, expired, reservation_failed, shipped, ...): {order_id, from, to, reason,
  actor, reservation_id | null}
- `orders.return_<state>`: {return_id, order_id, state, lines: [{order_line_id, quantity, reason}]}

Consumed: `orgs.*.organization_*` (org tree projection), `stock.*.reserved`,
`stock.*.reservation_failed`, `stock.*.committed`, `stock.*.commit_failed`, `stock.*.released`,
`pricing.*.quote_accepted`, `finance.*.payment_authorized` / `payment_declined`,
`logistics.*.shipment_shipped` / `shipment_delivered` (see consumers.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.events import EventEnvelope
from subgraphs.orders.models import Order, OrderLine, ReturnRequest

DOMAIN = "orders"
PLACED = "placed"
PAYMENT_APPROVED = "payment_approved"


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


# The delivery keys of the contract (docs/saga.md); anything else stored stays in orders.
DELIVERY_KEYS = ("country", "region", "postal_code", "city", "latitude", "longitude")


def placed(order: Order, lines: list[OrderLine], reserve_for_seconds: int | None) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        PLACED,
        tenant_id=order.tenant_id,
        subject_id=order.id,
        data={
            "order_id": str(order.id),
            "purchase_id": str(order.purchase_id),
            "number": order.number,
            "buyer_organization_id": str(order.buyer_organization_id),
            "seller_organization_id": str(order.seller_organization_id),
            "placed_by": _str(order.placed_by),
            "currency": order.currency,
            "total": format(order.total, "f"),
            "delivery": {k: order.delivery.get(k) for k in DELIVERY_KEYS} if order.delivery else None,
            "lines": [
                {
                    "line_id": str(line.id),
                    "sku_id": str(line.sku_id),
                    "quantity": line.quantity,
                    "unit_price": format(line.unit_price, "f"),
                    "line_total": format(line.line_total, "f"),
                    "sku_code": line.sku_code,
                    "product_name": line.product_name,
                    "category_id": _str(line.category_id),
                }
                for line in sorted(lines, key=lambda li: li.position)
            ],
            "reserve_for_seconds": reserve_for_seconds,
        },
    )


def transitioned(
    order: Order, from_state: str, to_state: str, reason: str | None, actor: str
) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        to_state,
        tenant_id=order.tenant_id,
        subject_id=order.id,
        data={
            "order_id": str(order.id),
            "from": from_state,
            "to": to_state,
            "reason": reason,
            "actor": actor,
            "reservation_id": _str(order.reservation_id),
        },
    )


def payment_approved(order: Order, approved_by: uuid.UUID | None, method: str) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        PAYMENT_APPROVED,
        tenant_id=order.tenant_id,
        subject_id=order.id,
        data={
            "order_id": str(order.id),
            "reservation_id": _str(order.reservation_id),
            "approved_by": _str(approved_by),
            "method": method,
        },
    )


def return_changed(ret: ReturnRequest, lines: list[dict[str, Any]]) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        f"return_{ret.state}",
        tenant_id=ret.tenant_id,
        subject_id=ret.order_id,
        data={"return_id": str(ret.id), "order_id": str(ret.order_id), "state": ret.state, "lines": lines},
    )
