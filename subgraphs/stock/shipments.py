"""Shipped goods leave the warehouse: `logistics.shipment_shipped` -> on_hand and committed both
drop by the shipped lines at the shipment's location, with one `shipment` movement per level.

Exactly once per shipment: the movements carry the shipment id as `reference`, and a shipment
that already has them changes nothing (whatever the event id). The order's committed reservation
is what is consumed: its lines shrink by the shipped quantities (a line shipped in full is
removed), so a later release of the reservation can only give back what is still held.
Runs inside the consumer's tenant transaction; the reservation row is locked first, then the
levels in one statement (the locking order of reservations.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import add_event
from subgraphs.stock import events
from subgraphs.stock.models import SCHEMA
from subgraphs.stock.reservations import lock_levels

log = logging.getLogger(__name__)

KIND = "shipment"


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class _Held:
    id: uuid.UUID
    line_id: str
    sku_id: uuid.UUID
    level_id: uuid.UUID
    quantity: int


async def consume_shipment(session: AsyncSession, tenant_id: uuid.UUID, data: dict[str, Any]) -> str:
    """Returns what happened: consumed, already_consumed, or why nothing was done."""
    shipment_id, order_id = _uuid(data.get("shipment_id")), _uuid(data.get("order_id"))
    location_id = _uuid(data.get("location_id"))
    if shipment_id is None or order_id is None or location_id is None:
        log.error("stock: shipment_shipped without shipment, order or location: %s", data)
        return "invalid"
    reservation = (
        await session.execute(
            text("SELECT id, status FROM stock.reservations WHERE order_id = :order FOR UPDATE"),
            {"order": order_id},
        )
    ).first()
    if reservation is None or reservation.status != "committed":
        log.warning("stock: shipment %s of order %s without a committed reservation", shipment_id, order_id)
        return "no_committed_reservation"
    seen = await session.scalar(
        text("SELECT 1 FROM stock.movements WHERE kind = :kind AND reference = :ref LIMIT 1"),
        {"kind": KIND, "ref": shipment_id},
    )
    if seen:
        return "already_consumed"
    held = [
        _Held(r.id, r.line_id, r.sku_id, r.level_id, r.quantity)
        for r in await session.execute(
            text(
                "SELECT id, line_id, sku_id, level_id, quantity FROM stock.reservation_lines "
                "WHERE reservation_id = :rid AND location_id = :loc ORDER BY id"
            ),
            {"rid": reservation.id, "loc": location_id},
        )
    ]
    remaining = {h.id: h.quantity for h in held}
    taken: dict[uuid.UUID, int] = {}  # reservation line -> units shipped from it
    for line in data.get("lines") or []:
        if not isinstance(line, dict):
            continue
        want, sku = _int(line.get("quantity")), _uuid(line.get("sku_id"))
        # The order line's own allocation first, then any of the same SKU at this location.
        candidates = sorted(
            (h for h in held if h.sku_id == sku),
            key=lambda h: h.line_id != str(line.get("line_id")),
        )
        for h in candidates:
            if want <= 0:
                break
            q = min(want, remaining[h.id])
            if q > 0:
                remaining[h.id] -= q
                taken[h.id] = taken.get(h.id, 0) + q
                want -= q
        if want > 0:
            log.error("stock: shipment %s ships %d units of %s more than committed", shipment_id, want, sku)
    if not taken:
        return "nothing_to_consume"
    by_level: dict[uuid.UUID, int] = {}
    for h in held:
        if h.id in taken:
            by_level[h.level_id] = by_level.get(h.level_id, 0) + taken[h.id]
    levels = await lock_levels(session, ids=by_level)
    for h in held:
        if h.id not in taken:
            continue
        if remaining[h.id] == 0:
            await session.execute(text("DELETE FROM stock.reservation_lines WHERE id = :id"), {"id": h.id})
        else:
            await session.execute(
                text("UPDATE stock.reservation_lines SET quantity = :q WHERE id = :id"),
                {"q": remaining[h.id], "id": h.id},
            )
    for level_id, quantity in sorted(by_level.items()):
        lv = levels[level_id]
        lv.on_hand -= quantity
        lv.committed -= quantity
        await session.execute(
            text(
                "UPDATE stock.levels SET on_hand = :on_hand, committed = :committed, "
                "version = version + 1, updated_at = now() WHERE id = :id"
            ),
            {"on_hand": lv.on_hand, "committed": lv.committed, "id": level_id},
        )
        movement_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO stock.movements (id, tenant_id, level_id, sku_id, location_id, kind, delta, "
                "on_hand_after, reason, reference, created_at) VALUES (:id, :tenant, :level, :sku, :loc, "
                ":kind, :delta, :after, :reason, :ref, now())"
            ),
            {
                "id": movement_id,
                "tenant": tenant_id,
                "level": level_id,
                "sku": lv.sku_id,
                "loc": lv.location_id,
                "kind": KIND,
                "delta": -quantity,
                "after": lv.on_hand,
                "reason": f"shipment {shipment_id} of order {order_id}",
                "ref": shipment_id,
            },
        )
        await add_event(
            session,
            SCHEMA,
            events.adjusted(
                tenant_id,
                level_id,
                {
                    "level_id": str(level_id),
                    "sku_id": str(lv.sku_id),
                    "location_id": str(lv.location_id),
                    "kind": KIND,
                    "delta": -quantity,
                    "on_hand": lv.on_hand,
                    "available": lv.available,
                    "reason": f"shipment {shipment_id}",
                    "movement_id": str(movement_id),
                    "reference": str(shipment_id),
                },
            ),
        )
    return "consumed"
