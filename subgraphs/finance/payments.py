"""Payments and refunds: bank transfers recorded by finance staff, provider captures from signed
webhooks (applied once per provider event id), partial payments, refunds of what was received.
Each one is a journal entry, a `payments` row and a move of the invoice's state; a prepaid
order waiting for its money is authorized once payments cover it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import consolidation, credit, events, invoices, journal, ledger
from subgraphs.finance.errors import refuse
from subgraphs.finance.models import ConsolidatedInvoiceRow, OrderRow, PaymentRow, ProviderEventRow
from subgraphs.finance.money import text as money_text
from subgraphs.finance.providers import CAPTURED, ProviderEvent


async def _order(session: AsyncSession, order_id: uuid.UUID, currency: str) -> OrderRow:
    order = await credit.lock_order(session, order_id)
    if order is None:
        raise refuse("orderId", "no such order", "NOT_FOUND")
    if order.currency != currency:
        raise refuse("currency", f"the order is in {order.currency}", "CURRENCY_MISMATCH")
    return order


async def record_payment(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    *,
    method: str,
    reference: str | None = None,
    provider: str | None = None,
    actor: uuid.UUID | None = None,
) -> PaymentRow:
    order = await _order(session, order_id, currency)
    if order.status in ("CANCELLED", "DECLINED"):
        raise refuse("orderId", f"the order is {order.status}", "ORDER_CLOSED")
    entry_id = await journal.post(
        session,
        tenant_id,
        ledger.payment_received(order.id, order.buyer_organization_id, amount, currency, memo=method.lower()),
    )
    payment = PaymentRow(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        order_id=order.id,
        buyer_organization_id=order.buyer_organization_id,
        kind="PAYMENT",
        method=method,
        provider=provider,
        reference=reference,
        amount=amount,
        currency=currency,
        recorded_by=actor,
        entry_id=entry_id,
        created_at=utcnow(),
    )
    session.add(payment)
    await session.flush()
    await events.publish(
        session,
        tenant_id,
        "payment_captured",
        order.id,
        {
            "order_id": str(order.id),
            "payment_id": str(payment.id),
            "method": method,
            "amount": money_text(amount, currency),
            "currency": currency,
            "reference": reference,
        },
    )
    invoice = await invoices.for_order(session, order.id, lock=True)
    if invoice is not None:
        await invoices.apply_payment(session, invoice, amount, payment.created_at)
    if order.status == "AWAITING_PAYMENT" and await credit.net_paid(session, order.id) >= order.total:
        await credit.authorize(session, order, "prepaid", payment.id)
    return payment


async def record_refund(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    *,
    reference: str | None = None,
    actor: uuid.UUID | None = None,
) -> PaymentRow:
    """Give money back, at most what the order has received net of earlier refunds."""
    order = await _order(session, order_id, currency)
    refundable = await credit.net_paid(session, order.id)
    if amount > refundable:
        raise refuse("amount", f"at most {refundable} can be refunded", "REFUND_EXCEEDS_PAYMENTS")
    invoice = await invoices.for_order(session, order.id, lock=True)
    invoiced = invoice is not None and invoice.status != "VOID"
    entry_id = await journal.post(
        session,
        tenant_id,
        ledger.refund_paid(order.id, order.buyer_organization_id, amount, currency, invoiced=invoiced),
    )
    refund = PaymentRow(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        order_id=order.id,
        buyer_organization_id=order.buyer_organization_id,
        kind="REFUND",
        method="BANK_TRANSFER",
        reference=reference,
        amount=amount,
        currency=currency,
        recorded_by=actor,
        entry_id=entry_id,
        created_at=utcnow(),
    )
    session.add(refund)
    await session.flush()
    await events.publish(
        session,
        tenant_id,
        "refund_paid",
        order.id,
        {
            "order_id": str(order.id),
            "payment_id": str(refund.id),
            "amount": money_text(amount, currency),
            "currency": currency,
        },
    )
    return refund


async def pay_consolidated(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    consolidated_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    *,
    reference: str | None = None,
    actor: uuid.UUID | None = None,
) -> list[PaymentRow]:
    """A bank transfer against a consolidated invoice: one payment per line it covers, oldest
    line first (each is a PAYMENT_RECEIVED entry of its order, as any payment)."""
    row = (
        await session.execute(
            select(ConsolidatedInvoiceRow)
            .where(ConsolidatedInvoiceRow.id == consolidated_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise refuse("consolidatedInvoiceId", "no such consolidated invoice", "NOT_FOUND")
    if row.currency != currency:
        raise refuse("currency", f"the invoice is in {row.currency}", "CURRENCY_MISMATCH")
    lines = await consolidation.members(session, row.id)
    return [
        await record_payment(
            session,
            tenant_id,
            invoice.order_id,
            part,
            currency,
            method="BANK_TRANSFER",
            reference=reference,
            actor=actor,
        )
        for invoice, part in consolidation.spread(amount, lines)
    ]


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    status: str  # applied | duplicate | failed_recorded
    payment_id: uuid.UUID | None = None


async def apply_provider_event(session: AsyncSession, provider: str, event: ProviderEvent) -> WebhookOutcome:
    """Apply a verified provider event once: its id is stored in the same transaction, so a
    replay (or a concurrent duplicate, which waits on the key) changes nothing."""
    claimed = (
        await session.execute(
            insert(ProviderEventRow)
            .values(tenant_id=event.tenant_id, provider=provider, event_id=event.event_id, type=event.type)
            .on_conflict_do_nothing()
            .returning(ProviderEventRow.event_id)
        )
    ).first()
    if claimed is None:
        return WebhookOutcome("duplicate")
    if event.type != CAPTURED:
        await events.publish(
            session,
            event.tenant_id,
            "payment_failed",
            event.order_id,
            {
                "order_id": str(event.order_id),
                "provider": provider,
                "reference": event.reference,
                "amount": money_text(event.amount, event.currency),
                "currency": event.currency,
            },
        )
        return WebhookOutcome("failed_recorded")
    payment = await record_payment(
        session,
        event.tenant_id,
        event.order_id,
        event.amount,
        event.currency,
        method="PROVIDER",
        reference=event.reference,
        provider=provider,
    )
    await session.execute(
        update(ProviderEventRow)
        .where(
            ProviderEventRow.tenant_id == event.tenant_id,
            ProviderEventRow.provider == provider,
            ProviderEventRow.event_id == event.event_id,
        )
        .values(payment_id=payment.id)
    )
    return WebhookOutcome("applied", payment.id)
