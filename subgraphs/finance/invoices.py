"""Invoices: one per order, issued on confirmation (on delivery for ON_FULFILMENT terms), due
by the terms; ISSUED -> PARTIALLY_PAID -> PAID, OVERDUE past the due date while unpaid, VOID
when the order is cancelled after issue (the invoice entry is reversed). A buyer invoiced per
period (consolidation.py) gets its orders' invoices as the lines of one consolidated invoice:
each still books its own receivable and takes its own payments, due when the period's is.

The lines are the order's lines with the unit price and line total orders computed
(`orders.placed`); finance never recomputes a price. What the buyer owes is the total less the
credit notes of returns (`credited`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import consolidation, credit, events, journal, ledger
from subgraphs.finance.models import InvoiceRow, JournalEntryRow, OrderRow
from subgraphs.finance.money import text as money_text
from subgraphs.finance.terms import Terms, due_at

OPEN = ("ISSUED", "PARTIALLY_PAID", "OVERDUE")


def status_for(total: Decimal, paid: Decimal, due: datetime, now: datetime) -> str:
    """`total`: what the buyer owes in all (the invoice total less its credit notes)."""
    if paid >= total:
        return "PAID"
    if now > due:
        return "OVERDUE"
    return "PARTIALLY_PAID" if paid > 0 else "ISSUED"


def event_data(invoice: InvoiceRow) -> dict[str, Any]:
    return {
        "order_id": str(invoice.order_id),
        "invoice_id": str(invoice.id),
        "number": invoice.number,
        "total": money_text(invoice.total, invoice.currency),
        "paid": money_text(invoice.paid, invoice.currency),
        "currency": invoice.currency,
        "due_at": invoice.due_at.isoformat(),
        "credited": money_text(invoice.credited, invoice.currency),
        "consolidated_invoice_id": str(invoice.consolidated_id) if invoice.consolidated_id else None,
    }


async def for_order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> InvoiceRow | None:
    query = select(InvoiceRow).where(InvoiceRow.order_id == order_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def issue(session: AsyncSession, order: OrderRow, now: datetime | None = None) -> InvoiceRow:
    """Issue the order's invoice (once: a second call returns the first)."""
    existing = await for_order(session, order.id)
    if existing is not None:
        return existing
    now = now or utcnow()
    buyer = await credit.profile(session, order.buyer_organization_id)
    terms = Terms(order.terms) if order.terms else buyer.terms
    order.terms = order.terms or terms.value
    paid = max(await credit.net_paid(session, order.id), Decimal(0))
    due = due_at(terms, now)
    number = f"INV-{order.number}"
    period = await consolidation.open_for(session, order, terms, buyer.invoice_period, now)
    if period is not None:
        due, number = period.due_at, f"{period.number}/{order.number}"
    invoice = InvoiceRow(
        id=uuid.uuid4(),
        tenant_id=order.tenant_id,
        number=number,
        order_id=order.id,
        buyer_organization_id=order.buyer_organization_id,
        seller_organization_id=order.seller_organization_id,
        credit_organization_id=order.credit_organization_id or order.buyer_organization_id,
        currency=order.currency,
        total=order.total,
        paid=paid,
        status=status_for(order.total, paid, due, now),
        terms=terms.value,
        lines=order.lines,
        issued_at=now,
        due_at=due,
        paid_at=now if paid >= order.total else None,
        credited=Decimal(0),
        consolidated_id=period.id if period else None,
    )
    session.add(invoice)
    if order.total > 0:
        await journal.post(
            session,
            order.tenant_id,
            ledger.invoice_issued(order.id, order.buyer_organization_id, order.total, order.currency),
        )
    await session.flush()
    await events.publish(session, order.tenant_id, "invoice_issued", order.id, event_data(invoice))
    if invoice.status == "PAID":
        await events.publish(session, order.tenant_id, "invoice_paid", order.id, event_data(invoice))
    return invoice


async def apply_payment(session: AsyncSession, invoice: InvoiceRow, amount: Decimal, now: datetime) -> None:
    """Count a payment (negative: a refund) against the invoice and move its state."""
    if invoice.status == "VOID":
        return
    was = invoice.status
    invoice.paid = max(invoice.paid + amount, Decimal(0))
    await restate(session, invoice, was, now)


async def restate(session: AsyncSession, invoice: InvoiceRow, was: str, now: datetime) -> None:
    """The state after a payment, refund or credit note (`was`: the state before it)."""
    invoice.status = status_for(invoice.payable, invoice.paid, invoice.due_at, now)
    if was == "OVERDUE" and invoice.status != "PAID":
        invoice.status = "OVERDUE"  # the sweeper's verdict stands until the invoice is paid
    if invoice.status == "PAID" and was != "PAID":
        invoice.paid_at = now
        await events.publish(
            session, invoice.tenant_id, "invoice_paid", invoice.order_id, event_data(invoice)
        )


async def void(session: AsyncSession, order: OrderRow) -> InvoiceRow | None:
    """The order was cancelled after its invoice: reverse the invoice entry, mark it VOID."""
    invoice = await for_order(session, order.id, lock=True)
    if invoice is None or invoice.status == "VOID":
        return invoice
    issued = (
        await session.execute(
            select(JournalEntryRow.id).where(
                JournalEntryRow.order_id == order.id,
                JournalEntryRow.kind == ledger.EntryKind.INVOICE_ISSUED.value,
            )
        )
    ).scalar_one_or_none()
    if issued is not None:
        original = ledger.invoice_issued(
            order.id, order.buyer_organization_id, invoice.total, invoice.currency
        )
        correction = ledger.reversal(original, memo=f"invoice {invoice.number} voided")
        await journal.post(
            session,
            order.tenant_id,
            ledger.Entry(
                ledger.EntryKind.INVOICE_VOIDED,
                correction.currency,
                correction.lines,
                memo=correction.memo,
                order_id=order.id,
                reverses=issued,
            ),
        )
    invoice.status = "VOID"
    await events.publish(session, order.tenant_id, "invoice_voided", order.id, event_data(invoice))
    return invoice


async def sweep_overdue(session: AsyncSession, now: datetime | None = None) -> list[InvoiceRow]:
    """Mark the session tenant's unpaid invoices past their due date OVERDUE (event per invoice)."""
    now = now or utcnow()
    query = (
        select(InvoiceRow)
        .where(InvoiceRow.status.in_(("ISSUED", "PARTIALLY_PAID")), InvoiceRow.due_at < now)
        .with_for_update(skip_locked=True)
    )
    changed = list((await session.execute(query)).scalars())
    for invoice in changed:
        invoice.status = "OVERDUE"
        await events.publish(
            session, invoice.tenant_id, "invoice_overdue", invoice.order_id, event_data(invoice)
        )
    return changed
