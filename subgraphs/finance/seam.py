"""What finance does on each orders event (docs/saga.md, "The finance seam"). Every handler is
safe on a state it has already left: a replayed event changes nothing."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import credit, invoices, orgtree, settlement
from subgraphs.finance.models import OrderRow
from subgraphs.finance.money import MAX_AMOUNT, round_to_minor
from subgraphs.finance.terms import Terms, invoice_on_delivery

log = logging.getLogger(__name__)

CLOSING = frozenset({"cancelled", "expired", "rejected", "reservation_failed"})


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _decimal_text(value: Any) -> str | None:
    """A price as orders sent it (a decimal string), or None when absent or not a number."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return format(amount, "f") if value is not None and amount.is_finite() and amount >= 0 else None


def _line(line: dict[str, Any]) -> dict[str, Any]:
    """What finance keeps of an order line: the prices orders computed (invoices print them and
    never recompute), and the catalog category, which is the line's product line for sharing."""
    return {
        "line_id": str(line.get("line_id")),
        "sku_id": str(line.get("sku_id")),
        "quantity": int(line.get("quantity", 0)),
        "unit_price": _decimal_text(line.get("unit_price")),
        "line_total": _decimal_text(line.get("line_total")),
        "sku_code": str(line["sku_code"])[:64] if line.get("sku_code") else None,
        "product_name": str(line["product_name"])[:200] if line.get("product_name") else None,
        "product_line": str(line["category_id"])[:64] if line.get("category_id") else None,
    }


async def on_placed(session: AsyncSession, tenant_id: uuid.UUID, data: dict[str, Any]) -> bool:
    order_id = _uuid(data.get("order_id"))
    buyer = _uuid(data.get("buyer_organization_id"))
    seller = _uuid(data.get("seller_organization_id"))
    currency = str(data.get("currency") or "").upper()
    if order_id is None or buyer is None or seller is None or len(currency) != 3:
        log.error("finance: orders.placed without order, buyer, seller or currency: %s", data)
        return False
    try:
        total = round_to_minor(Decimal(str(data.get("total"))), currency)
    except (InvalidOperation, ValueError, ArithmeticError):
        total = Decimal(-1)
    if not total.is_finite() or total < 0 or total >= MAX_AMOUNT:
        log.error("finance: orders.placed with a bad total: %s", data.get("total"))
        return False
    lines = [_line(line) for line in data.get("lines") or [] if isinstance(line, dict)]
    await session.execute(
        insert(OrderRow)
        .values(
            tenant_id=tenant_id,
            id=order_id,
            number=str(data.get("number") or order_id)[:64],
            buyer_organization_id=buyer,
            seller_organization_id=seller,
            currency=currency,
            total=total,
            lines=lines,
            status="PLACED",
            placed_at=utcnow(),
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    await orgtree.remember_tenant(session, tenant_id)
    return True


async def on_transition(session: AsyncSession, event: str, data: dict[str, Any]) -> str | None:
    """orders.<to-state>: reserved -> decide; confirmed -> invoice; delivered -> settle later."""
    order_id = _uuid(data.get("order_id"))
    if order_id is None:
        return None
    if event == "reserved":
        return await credit.decide(session, order_id)
    order = await credit.lock_order(session, order_id)
    if order is None:
        return None
    now = utcnow()
    if event in CLOSING:
        if order.status in ("CANCELLED", "DECLINED"):
            return None
        order.status = "CANCELLED"
        order.decision_reason = str(data.get("reason") or event)[:500]
        order.updated_at = now
        await invoices.void(session, order)
        return order.status
    if event == "confirmed":
        if order.status not in ("PLACED", "AWAITING_PAYMENT", "AUTHORIZED", "HELD"):
            return None
        if order.terms is None:
            order.terms = (await credit.profile(session, order.buyer_organization_id)).terms.value
        if order.credit_organization_id is None:
            line = await credit.credit_line_for(session, order.buyer_organization_id, order.currency)
            order.credit_organization_id = line.organization_id if line else order.buyer_organization_id
        order.status = "CONFIRMED"
        order.updated_at = now
        if not invoice_on_delivery(Terms(order.terms)):
            await invoices.issue(session, order, now)
        return order.status
    if event == "delivered":
        if order.status in ("DELIVERED", "CANCELLED", "DECLINED"):
            return None
        order.status = "DELIVERED"
        order.updated_at = now
        await invoices.issue(session, order, now)  # no-op unless the terms invoice on delivery
        await settlement.schedule(session, order, now)
        return order.status
    return None
