"""Payment terms, credit lines and the payment decision of the saga's finance seam.

A credit line belongs to an organization and covers the units below it (the nearest line up the
tree, in the order's currency). Exposure of a line = totals of its authorized orders not yet
invoiced + the unpaid rest of its open invoices. Deciding an order locks the line's row
(`SELECT ... FOR UPDATE`), so concurrent decisions on one line are serialized and can never
together pass the limit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import events, orgtree
from subgraphs.finance.errors import refuse
from subgraphs.finance.models import BuyerProfile, CreditLine, OrderRow, PaymentRow
from subgraphs.finance.money import text as money_text
from subgraphs.finance.terms import (
    DEFAULT_PERIOD,
    DEFAULT_TERMS,
    InvoicePeriod,
    Terms,
    authorization_method,
    check_credit,
    is_credit,
)

OPEN_ORDER_STATES = ("AUTHORIZED", "CONFIRMED", "DELIVERED")
OPEN_INVOICE_STATES = ("ISSUED", "PARTIALLY_PAID", "OVERDUE")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Profile:
    """A buyer unit's effective finance settings and where each came from."""

    terms: Terms
    terms_source: uuid.UUID | None
    level1_distributor_id: uuid.UUID | None
    level2_distributor_id: uuid.UUID | None
    invoice_period: InvoicePeriod = DEFAULT_PERIOD


async def profile(session: AsyncSession, org_id: uuid.UUID) -> Profile:
    ancestors = await orgtree.chain(session, org_id)
    rows = {
        r.organization_id: r
        for r in (
            await session.execute(select(BuyerProfile).where(BuyerProfile.organization_id.in_(ancestors)))
        ).scalars()
    }
    terms: Terms = DEFAULT_TERMS
    source: uuid.UUID | None = None
    level1: uuid.UUID | None = None
    level2: uuid.UUID | None = None
    period: InvoicePeriod | None = None
    found_terms = found_dist = False
    for org in ancestors:
        row = rows.get(org)
        if row is None:
            continue
        if not found_terms and row.terms is not None:
            terms, source, found_terms = Terms(row.terms), org, True
        if not found_dist and (row.level1_distributor_id or row.level2_distributor_id):
            level1, level2, found_dist = row.level1_distributor_id, row.level2_distributor_id, True
        if period is None and row.invoice_period is not None:
            period = InvoicePeriod(row.invoice_period)
    return Profile(terms, source, level1, level2, period or DEFAULT_PERIOD)


async def set_invoice_period(
    session: AsyncSession, tenant_id: uuid.UUID, org_id: uuid.UUID, period: InvoicePeriod | None
) -> None:
    """Per-order or consolidated invoicing for a buyer organization (None: inherit)."""
    statement = insert(BuyerProfile).values(
        tenant_id=tenant_id,
        organization_id=org_id,
        invoice_period=period.value if period else None,
        updated_at=utcnow(),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[BuyerProfile.tenant_id, BuyerProfile.organization_id],
            set_={
                "invoice_period": statement.excluded.invoice_period,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
    await orgtree.remember_tenant(session, tenant_id)


async def set_terms(
    session: AsyncSession, tenant_id: uuid.UUID, org_id: uuid.UUID, terms: Terms | None
) -> None:
    """Set (None: clear, so the unit inherits) the terms of a buyer organization."""
    statement = insert(BuyerProfile).values(
        tenant_id=tenant_id, organization_id=org_id, terms=terms.value if terms else None, updated_at=utcnow()
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[BuyerProfile.tenant_id, BuyerProfile.organization_id],
            set_={"terms": statement.excluded.terms, "updated_at": statement.excluded.updated_at},
        )
    )
    await orgtree.remember_tenant(session, tenant_id)


async def set_distributors(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    org_id: uuid.UUID,
    level1: uuid.UUID | None,
    level2: uuid.UUID | None,
) -> None:
    """The S2B2C shops a buyer organization buys through (level 1 nearest the buyer)."""
    if level2 is not None and level1 is None:
        raise refuse("level2DistributorId", "a level-2 distributor needs a level-1 distributor", "INVALID")
    statement = insert(BuyerProfile).values(
        tenant_id=tenant_id,
        organization_id=org_id,
        level1_distributor_id=level1,
        level2_distributor_id=level2,
        updated_at=utcnow(),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[BuyerProfile.tenant_id, BuyerProfile.organization_id],
            set_={
                "level1_distributor_id": statement.excluded.level1_distributor_id,
                "level2_distributor_id": statement.excluded.level2_distributor_id,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


async def set_credit_limit(
    session: AsyncSession, tenant_id: uuid.UUID, org_id: uuid.UUID, currency: str, limit: Decimal
) -> CreditLine:
    statement = insert(CreditLine).values(
        tenant_id=tenant_id,
        organization_id=org_id,
        currency=currency,
        credit_limit=limit,
        updated_at=utcnow(),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CreditLine.tenant_id, CreditLine.organization_id, CreditLine.currency],
            set_={
                "credit_limit": statement.excluded.credit_limit,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
    await orgtree.remember_tenant(session, tenant_id)
    line = await session.get(CreditLine, (tenant_id, org_id, currency), populate_existing=True)
    assert line is not None
    return line


async def credit_line_for(
    session: AsyncSession, org_id: uuid.UUID, currency: str, *, lock: bool = False
) -> CreditLine | None:
    """The nearest credit line up the tree from `org_id` in `currency` (locked when asked)."""
    ancestors = await orgtree.chain(session, org_id)
    query = select(CreditLine).where(
        CreditLine.organization_id.in_(ancestors), CreditLine.currency == currency
    )
    if lock:
        query = query.with_for_update()
    lines = {line.organization_id: line for line in (await session.execute(query)).scalars()}
    for org in ancestors:
        if org in lines:
            return lines[org]
    return None


async def exposure(session: AsyncSession, credit_org: uuid.UUID, currency: str) -> Decimal:
    """Open orders (authorized, not yet invoiced) + unpaid rest of open invoices of one line."""
    value = (
        await session.execute(
            text(
                "SELECT COALESCE((SELECT sum(o.total) FROM finance.orders o "
                "  WHERE o.credit_organization_id = :c AND o.currency = :cur AND o.status = ANY(:os)"
                "  AND NOT EXISTS "
                "  (SELECT 1 FROM finance.invoices i WHERE i.order_id = o.id)), 0) + "
                "COALESCE((SELECT sum((i.total - i.credited) - LEAST(i.paid, i.total - i.credited)) "
                "  FROM finance.invoices i "
                "  WHERE i.credit_organization_id = :c AND i.currency = :cur AND i.status = ANY(:is)), 0)"
            ),
            {
                "c": credit_org,
                "cur": currency,
                "os": list(OPEN_ORDER_STATES),
                "is": list(OPEN_INVOICE_STATES),
            },
        )
    ).scalar_one()
    return Decimal(value)


async def net_paid(session: AsyncSession, order_id: uuid.UUID) -> Decimal:
    """Payments minus refunds of an order."""
    rows = (
        await session.execute(
            select(PaymentRow.kind, func.sum(PaymentRow.amount))
            .where(PaymentRow.order_id == order_id)
            .group_by(PaymentRow.kind)
        )
    ).all()
    sums = {kind: Decimal(total) for kind, total in rows}
    return sums.get("PAYMENT", ZERO) - sums.get("REFUND", ZERO)


async def lock_order(session: AsyncSession, order_id: uuid.UUID) -> OrderRow | None:
    query = select(OrderRow).where(OrderRow.id == order_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def authorize(
    session: AsyncSession, order: OrderRow, method: str, payment_id: uuid.UUID | None = None
) -> None:
    order.status = "AUTHORIZED"
    order.updated_at = utcnow()
    await events.publish(
        session,
        order.tenant_id,
        "payment_authorized",
        order.id,
        {
            "order_id": str(order.id),
            "method": method,
            "payment_id": str(payment_id) if payment_id else None,
            "amount": money_text(order.total, order.currency),
            "currency": order.currency,
        },
    )


async def decide(session: AsyncSession, order_id: uuid.UUID) -> str | None:
    """On `orders.reserved`: the payment decision. Returns the order's new status (None: not
    an order finance knows, or one already decided: a replay changes nothing)."""
    order = await lock_order(session, order_id)
    if order is None or order.status != "PLACED":
        return None
    buyer = await profile(session, order.buyer_organization_id)
    order.terms = buyer.terms.value
    if not is_credit(buyer.terms):
        paid = await net_paid(session, order.id)
        if paid >= order.total:
            await authorize(session, order, "prepaid", await last_payment_id(session, order.id))
        else:
            order.status = "AWAITING_PAYMENT"
            order.updated_at = utcnow()
        return order.status
    line = await credit_line_for(session, order.buyer_organization_id, order.currency, lock=True)
    order.credit_organization_id = line.organization_id if line else order.buyer_organization_id
    current = await exposure(session, order.credit_organization_id, order.currency)
    check = check_credit(line.credit_limit if line else None, current, order.total)
    if check.within_limit:
        await authorize(session, order, authorization_method(buyer.terms))
        return order.status
    order.status = "HELD"
    order.decision_reason = "CREDIT_LIMIT_EXCEEDED"
    order.updated_at = utcnow()
    await events.publish(
        session,
        order.tenant_id,
        "credit_hold",
        order.id,
        {
            "order_id": str(order.id),
            "buyer_organization_id": str(order.buyer_organization_id),
            "amount": money_text(order.total, order.currency),
            "currency": order.currency,
            "exposure": money_text(check.exposure, order.currency),
            "credit_limit": money_text(check.credit_limit, order.currency),
        },
    )
    return order.status


async def last_payment_id(session: AsyncSession, order_id: uuid.UUID) -> uuid.UUID | None:
    query = (
        select(PaymentRow.id)
        .where(PaymentRow.order_id == order_id, PaymentRow.kind == "PAYMENT")
        .order_by(PaymentRow.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def release_hold(session: AsyncSession, order_id: uuid.UUID, actor: uuid.UUID | None) -> OrderRow:
    """A finance approver lets a held order through (over the limit, on purpose)."""
    order = await _held(session, order_id)
    order.decided_by = actor
    order.decision_reason = "RELEASED"
    await events.publish(
        session,
        order.tenant_id,
        "credit_approved",
        order.id,
        {
            "order_id": str(order.id),
            "buyer_organization_id": str(order.buyer_organization_id),
            "approved_by": str(actor) if actor else None,
        },
    )
    await authorize(session, order, authorization_method(Terms(order.terms or DEFAULT_TERMS)))
    return order


async def decline_hold(
    session: AsyncSession, order_id: uuid.UUID, actor: uuid.UUID | None, reason: str | None
) -> OrderRow:
    order = await _held(session, order_id)
    order.status = "DECLINED"
    order.decided_by = actor
    order.decision_reason = (reason or "CREDIT_LIMIT_EXCEEDED")[:500]
    order.updated_at = utcnow()
    await events.publish(
        session,
        order.tenant_id,
        "payment_declined",
        order.id,
        {"order_id": str(order.id), "reason": order.decision_reason},
    )
    return order


async def _held(session: AsyncSession, order_id: uuid.UUID) -> OrderRow:
    order = await lock_order(session, order_id)
    if order is None:
        raise refuse("orderId", "no such order", "NOT_FOUND")
    if order.status != "HELD":
        raise refuse("orderId", f"the order is {order.status}, not held", "NOT_HELD")
    return order
