"""Where the returns flow of orders ends: `orders.return_refund_requested` (the seller has the
goods back) -> a credit note for the returned lines, money back if the buyer had paid more than
it now owes, and, if the sale was already settled, the parties' shares reversed pro rata.

Entries (all balanced, in the order's currency):
- CREDIT_NOTE: debit REFUNDS, credit BUYER_RECEIVABLE(buyer) by the returned value;
- REFUND_PAID (only for a credit balance): debit BUYER_RECEIVABLE(buyer), credit CASH by what
  was paid beyond the invoice less its credit notes (a `payments` REFUND row, so reconciliation
  sees it);
- SHARES_REVERSED (only after settlement): debit each party's account (supplier payable,
  distributor commissions, platform revenue, rounding) by its part of the returned value,
  proportional to what the settlement gave it, credit REFUNDS by the same total. Payouts already
  made stay made: a party's payable goes negative, to be taken off its next payouts.
Before settlement nothing more is needed: the settlement shares only the invoice total less
what REFUNDS holds for the order (settlement.py).

A returned line is worth its part of the invoice times returned / ordered quantity, computed on
the running total of returned units so that returning every unit credits the line exactly.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import credit, events, invoices, journal, ledger, settlement
from subgraphs.finance.ledger import AccountKind, AccountRef
from subgraphs.finance.models import CreditNoteRow, OrderRow, PaymentRow, SettlementRow
from subgraphs.finance.money import round_to_minor
from subgraphs.finance.money import text as money_text
from subgraphs.finance.sharing import allocate

log = logging.getLogger(__name__)
ZERO = Decimal(0)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def returned_values(
    order: OrderRow,
    line_values: list[Decimal],
    returned_before: dict[str, int],
    returning: dict[str, int],
) -> list[dict[str, Any]]:
    """The credit of each returned line (pure): value * (units returned so far, this return
    included) / ordered units, rounded half-even, minus what earlier returns credited."""
    out = []
    for line, value in zip(order.lines, line_values, strict=True):
        key = str(line.get("line_id"))
        qty = returning.get(key, 0)
        ordered = int(line.get("quantity") or 0)
        if qty <= 0 or ordered <= 0:
            continue
        before = min(returned_before.get(key, 0), ordered)
        after = min(before + qty, ordered)
        credit_before = round_to_minor(value * before / ordered, order.currency)
        credit_after = value if after == ordered else round_to_minor(value * after / ordered, order.currency)
        amount = credit_after - credit_before
        if amount > 0:
            out.append(
                {
                    "order_line_id": key,
                    "sku_id": line.get("sku_id"),
                    "quantity": after - before,
                    "amount": money_text(amount, order.currency),
                }
            )
    return out


def clawback_parts(row: SettlementRow, amount: Decimal, currency: str) -> list[tuple[AccountRef, Decimal]]:
    """`amount` cut over the accounts the settlement credited, in proportion to what each got."""
    s = row.shares or {}
    weights: list[tuple[AccountRef, Decimal]] = []
    platform = Decimal(str(s.get("platform") or 0))
    supplier = _uuid(s.get("supplier_id"))
    if supplier is not None:
        weights.append(
            (
                ledger.account(AccountKind.SUPPLIER_PAYABLE, currency, supplier),
                Decimal(str(s.get("supplier") or 0)),
            )
        )
    for level in ("level1", "level2"):
        party = _uuid(s.get(f"{level}_id"))
        part = Decimal(str(s.get(level) or 0))
        if party is None:
            platform += part  # a level nobody held was platform revenue
        else:
            weights.append((ledger.account(AccountKind.DISTRIBUTOR_COMMISSION, currency, party), part))
    weights.append((ledger.account(AccountKind.PLATFORM_REVENUE, currency), platform))
    weights.append((ledger.account(AccountKind.ROUNDING, currency), Decimal(str(s.get("rounding") or 0))))
    parts = allocate(amount, [w for _, w in weights], currency)
    return [(ref, part) for (ref, _), part in zip(weights, parts, strict=True) if part > 0]


async def on_refund_requested(
    session: AsyncSession, tenant_id: uuid.UUID, data: dict[str, Any]
) -> CreditNoteRow | None:
    return_id = _uuid(data.get("return_id"))
    order_id = _uuid(data.get("order_id"))
    if return_id is None or order_id is None:
        log.error("finance: return event without return or order id: %s", data)
        return None
    order = await credit.lock_order(session, order_id)
    if order is None:
        log.error("finance: return %s of an order finance does not know", return_id)
        return None
    existing = (
        await session.execute(select(CreditNoteRow).where(CreditNoteRow.return_id == return_id))
    ).scalar_one_or_none()
    if existing is not None:
        return existing  # a replay of the same return (the unique key would refuse it anyway)
    invoice = await invoices.for_order(session, order.id, lock=True)
    if invoice is None or invoice.status == "VOID":
        log.error("finance: return %s of order %s without a live invoice", return_id, order.id)
        return None
    returning: dict[str, int] = {}
    for line in data.get("lines") or []:
        if isinstance(line, dict) and line.get("order_line_id"):
            key = str(line["order_line_id"])
            returning[key] = returning.get(key, 0) + max(int(line.get("quantity") or 0), 0)
    before: dict[str, int] = {}
    for note in (
        await session.execute(select(CreditNoteRow).where(CreditNoteRow.order_id == order.id))
    ).scalars():
        for line in note.lines:
            key = str(line.get("order_line_id"))
            before[key] = before.get(key, 0) + int(line.get("quantity") or 0)
    lines = returned_values(order, settlement.line_values(order, invoice.total), before, returning)
    amount = min(sum((Decimal(line["amount"]) for line in lines), ZERO), invoice.payable)
    if amount <= 0:
        log.warning("finance: return %s credits nothing", return_id)
        return None
    now = utcnow()
    count = (
        await session.execute(
            select(func.count()).select_from(CreditNoteRow).where(CreditNoteRow.order_id == order.id)
        )
    ).scalar_one()
    number = f"CN-{order.number}-{count + 1}"
    entry_id = await journal.post(
        session,
        tenant_id,
        ledger.credit_note(order.id, order.buyer_organization_id, amount, order.currency, number),
    )
    was = invoice.status
    invoice.credited += amount
    # A credit balance (paid more than is now owed) goes back to the buyer.
    over = await credit.net_paid(session, order.id) - invoice.payable
    cash = min(max(over, ZERO), amount)
    refund: PaymentRow | None = None
    if cash > 0:
        refund_entry = await journal.post(
            session,
            tenant_id,
            ledger.refund_paid(
                order.id,
                order.buyer_organization_id,
                cash,
                order.currency,
                invoiced=False,
                memo=f"refund of {number}",
            ),
        )
        refund = PaymentRow(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            order_id=order.id,
            buyer_organization_id=order.buyer_organization_id,
            kind="REFUND",
            method="BANK_TRANSFER",
            reference=number,
            amount=cash,
            currency=order.currency,
            entry_id=refund_entry,
            created_at=now,
        )
        session.add(refund)
        invoice.paid = max(invoice.paid - cash, ZERO)
    await invoices.restate(session, invoice, was, now)
    clawback = ZERO
    settled = await settlement_of(session, order.id)
    if settled is not None and settled.status == "SETTLED" and settled.amount:
        taken = (
            await session.execute(
                select(func.coalesce(func.sum(CreditNoteRow.clawback), 0)).where(
                    CreditNoteRow.order_id == order.id
                )
            )
        ).scalar_one()
        clawback = min(amount, max(settled.amount - Decimal(taken), ZERO))
        if clawback > 0:
            parts = clawback_parts(settled, clawback, order.currency)
            await journal.post(session, tenant_id, ledger.shares_reversed(order.id, parts, order.currency))
    note = CreditNoteRow(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        number=number,
        order_id=order.id,
        invoice_id=invoice.id,
        return_id=return_id,
        currency=order.currency,
        amount=amount,
        cash_refund=cash,
        clawback=clawback,
        lines=lines,
        entry_id=entry_id,
        created_at=now,
    )
    session.add(note)
    await session.flush()
    await events.publish(
        session,
        tenant_id,
        "credit_note_issued",
        order.id,
        {
            "order_id": str(order.id),
            "return_id": str(return_id),
            "credit_note_id": str(note.id),
            "number": number,
            "invoice_id": str(invoice.id),
            "amount": money_text(amount, order.currency),
            "cash_refund": money_text(cash, order.currency),
            "clawback": money_text(clawback, order.currency),
            "currency": order.currency,
            "lines": lines,
        },
    )
    if refund is not None:
        await events.publish(
            session,
            tenant_id,
            "refund_paid",
            order.id,
            {
                "order_id": str(order.id),
                "payment_id": str(refund.id),
                "amount": money_text(cash, order.currency),
                "currency": order.currency,
            },
        )
    return note


async def settlement_of(session: AsyncSession, order_id: uuid.UUID) -> SettlementRow | None:
    query = select(SettlementRow).where(SettlementRow.order_id == order_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()
