"""Consolidated invoices: one invoice per buyer organization, currency and period (ISO week or
calendar month, UTC) for the orders it buys on NET terms, when its invoice period (set on the
organization or inherited down the tree, like terms) is WEEK or MONTH.

While the period runs the consolidated invoice is OPEN and each confirmed order's invoice joins
it as a line (it books its own receivable, as any invoice does, and is due when the period's
invoice is: the period end + the NET days). The sweeper closes the period: the invoice becomes
ISSUED with the total of its lines and `finance.consolidated_invoice_issued` is published. Its
state is derived from its lines (paid, partially paid, overdue); a payment against it is spread
over its lines, oldest first (`pay`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import events
from subgraphs.finance.errors import refuse
from subgraphs.finance.models import ConsolidatedInvoiceRow, InvoiceRow
from subgraphs.finance.money import text as money_text
from subgraphs.finance.terms import InvoicePeriod, Terms, consolidates, due_at, period_bounds

if TYPE_CHECKING:
    from subgraphs.finance.models import OrderRow

ZERO = Decimal(0)


def number_for(buyer: uuid.UUID, currency: str, period: InvoicePeriod, start: datetime) -> str:
    stamp = f"{start:%G-W%V}" if period is InvoicePeriod.WEEK else f"{start:%Y-%m}"
    return f"CINV-{stamp}-{buyer.hex[:8].upper()}-{currency}"


async def open_for(
    session: AsyncSession, order: OrderRow, terms: Terms, period: InvoicePeriod, now: datetime
) -> ConsolidatedInvoiceRow | None:
    """The OPEN consolidated invoice the order's invoice joins (created on first use), or None
    when the order is invoiced on its own (per-order buyer, terms not NET, or the period already
    closed: a late order is invoiced alone rather than added to an issued invoice)."""
    if not consolidates(terms, period):
        return None
    start, end = period_bounds(period, now)
    buyer = order.buyer_organization_id
    await session.execute(
        insert(ConsolidatedInvoiceRow)
        .values(
            id=uuid.uuid4(),
            tenant_id=order.tenant_id,
            number=number_for(buyer, order.currency, period, start),
            buyer_organization_id=buyer,
            currency=order.currency,
            terms=terms.value,
            period=period.value,
            period_start=start,
            period_end=end,
            status="OPEN",
            total=ZERO,
            due_at=due_at(terms, end),
        )
        .on_conflict_do_nothing(constraint="uq_consolidated_invoices_period")
    )
    row = (
        await session.execute(
            select(ConsolidatedInvoiceRow).where(
                ConsolidatedInvoiceRow.buyer_organization_id == buyer,
                ConsolidatedInvoiceRow.currency == order.currency,
                ConsolidatedInvoiceRow.period_start == start,
            )
        )
    ).scalar_one()
    return row if row.status == "OPEN" else None


async def members(
    session: AsyncSession, consolidated_id: uuid.UUID, *, lock: bool = False
) -> list[InvoiceRow]:
    query = (
        select(InvoiceRow)
        .where(InvoiceRow.consolidated_id == consolidated_id)
        .order_by(InvoiceRow.issued_at, InvoiceRow.id)
    )
    if lock:
        query = query.with_for_update()
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class Standing:
    """A consolidated invoice's figures, derived from its lines (voided lines count for nothing)."""

    total: Decimal
    credited: Decimal
    paid: Decimal
    status: str

    @property
    def outstanding(self) -> Decimal:
        return max(self.total - self.credited - self.paid, ZERO)


def standing(row: ConsolidatedInvoiceRow, lines: list[InvoiceRow]) -> Standing:
    live = [i for i in lines if i.status != "VOID"]
    total = sum((i.total for i in live), ZERO)
    credited = sum((i.credited for i in live), ZERO)
    paid = sum((min(i.paid, i.payable) for i in live), ZERO)
    if row.status == "OPEN":
        status = "OPEN"
    elif not live and lines:
        status = "VOID"
    elif all(i.status == "PAID" for i in live):
        status = "PAID"
    elif any(i.status == "OVERDUE" for i in live):
        status = "OVERDUE"
    else:
        status = "PARTIALLY_PAID" if paid > 0 else "ISSUED"
    return Standing(total, credited, paid, status)


def event_data(row: ConsolidatedInvoiceRow, lines: list[InvoiceRow]) -> dict[str, Any]:
    s = standing(row, lines)
    return {
        "consolidated_invoice_id": str(row.id),
        "number": row.number,
        "buyer_organization_id": str(row.buyer_organization_id),
        "period": row.period,
        "period_start": row.period_start.isoformat(),
        "period_end": row.period_end.isoformat(),
        "total": money_text(s.total - s.credited, row.currency),
        "currency": row.currency,
        "due_at": row.due_at.isoformat(),
        "order_ids": [str(i.order_id) for i in lines if i.status != "VOID"],
    }


async def close_due(session: AsyncSession, now: datetime | None = None) -> list[ConsolidatedInvoiceRow]:
    """Issue the session tenant's consolidated invoices whose period has ended (event each)."""
    now = now or utcnow()
    query = (
        select(ConsolidatedInvoiceRow)
        .where(ConsolidatedInvoiceRow.status == "OPEN", ConsolidatedInvoiceRow.period_end <= now)
        .with_for_update(skip_locked=True)
    )
    closed = list((await session.execute(query)).scalars())
    for row in closed:
        lines = await members(session, row.id)
        s = standing(row, lines)
        row.status = "ISSUED"
        row.issued_at = now
        row.total = s.total - s.credited
        await events.publish(
            session, row.tenant_id, "consolidated_invoice_issued", row.id, event_data(row, lines)
        )
    return closed


def spread(amount: Decimal, lines: list[InvoiceRow]) -> list[tuple[InvoiceRow, Decimal]]:
    """A payment against a consolidated invoice, spread over its unpaid lines oldest first."""
    out: list[tuple[InvoiceRow, Decimal]] = []
    left = amount
    for invoice in lines:
        if left <= 0:
            break
        if invoice.status == "VOID":
            continue
        part = min(max(invoice.payable - invoice.paid, ZERO), left)
        if part > 0:
            out.append((invoice, part))
            left -= part
    if left > 0:
        raise refuse(
            "amount",
            f"{money_text(left, lines[0].currency if lines else 'EUR')} more than is owed",
            "OVERPAYMENT",
        )
    return out
