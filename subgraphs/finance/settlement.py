"""Settlement: T+delay (7 days by default, per tenant) after delivery, the sale is shared by the
sharing rules: one SETTLEMENT entry empties clearing into the platform's revenue, the
supplier's payable and the distributors' commissions, then one PAYOUT entry per party pays it
out (the sandbox pays at once).

Each order line is shared by its product line's rule (the line's catalog category, when finance
has a rule for it), else by the tenant's rule (else the S2B2C default). Lines are worth their
part of the invoice total (`sharing.allocate` by their line totals, exact in minor units), less
what credit notes took off them; other refunds before settlement come off all lines pro rata."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import credit, events, invoices, journal, ledger
from subgraphs.finance.ledger import AccountKind
from subgraphs.finance.models import (
    Account,
    CreditNoteRow,
    JournalEntryRow,
    JournalLineRow,
    OrderRow,
    PayoutRow,
    ProductLineRuleRow,
    SettlementRow,
    SharingRuleRow,
    TenantFinance,
)
from subgraphs.finance.money import text as money_text
from subgraphs.finance.sharing import (
    DEFAULT_RULE,
    RemainderPolicy,
    Shares,
    SharingRule,
    allocate,
    split_lines,
)

DEFAULT_DELAY = 7 * 24 * 3600


async def sharing_rule(session: AsyncSession) -> SharingRule:
    row = (await session.execute(select(SharingRuleRow))).scalar_one_or_none()
    if row is None:
        return DEFAULT_RULE
    return SharingRule(
        row.platform_fee, row.supplier, row.level1, row.level2, RemainderPolicy(row.remainder_policy)
    )


def _rule_of(row: SharingRuleRow | ProductLineRuleRow) -> SharingRule:
    return SharingRule(
        row.platform_fee, row.supplier, row.level1, row.level2, RemainderPolicy(row.remainder_policy)
    )


async def product_line_rules(session: AsyncSession) -> dict[str, SharingRule]:
    rows = (await session.execute(select(ProductLineRuleRow))).scalars()
    return {row.product_line: _rule_of(row) for row in rows}


async def set_product_line_rule(
    session: AsyncSession, tenant_id: uuid.UUID, product_line: str, rule: SharingRule | None
) -> None:
    """The rule for one product line (None: remove it, its lines fall back to the tenant's)."""
    if rule is None:
        row = await session.get(ProductLineRuleRow, (tenant_id, product_line))
        if row is not None:
            await session.delete(row)
        return
    values = {
        "platform_fee": rule.platform_fee,
        "supplier": rule.supplier,
        "level1": rule.level1,
        "level2": rule.level2,
        "remainder_policy": rule.remainder_policy.value,
        "updated_at": utcnow(),
    }
    statement = insert(ProductLineRuleRow).values(tenant_id=tenant_id, product_line=product_line, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ProductLineRuleRow.tenant_id, ProductLineRuleRow.product_line], set_=values
        )
    )


def rule_for(product_line: str | None, by_line: dict[str, SharingRule], default: SharingRule) -> SharingRule:
    """Precedence: the line's product-line rule, else the tenant's rule (else the default)."""
    return by_line.get(product_line, default) if product_line else default


def line_values(order: OrderRow, total: Decimal) -> list[Decimal]:
    """Each line's part of `total` (the invoice total), proportional to the line totals orders
    sent; exact, summing to `total`. Lines without a line total (older events) weigh nothing
    unless none has one, then the parts are equal."""
    weights = [Decimal(str(line.get("line_total") or 0)) for line in order.lines]
    if not weights:
        return []
    return allocate(total, weights, order.currency)


async def credited_by_line(session: AsyncSession, order_id: uuid.UUID) -> dict[str, Decimal]:
    """What credit notes took off each line of the order."""
    out: dict[str, Decimal] = {}
    for note in (
        await session.execute(select(CreditNoteRow).where(CreditNoteRow.order_id == order_id))
    ).scalars():
        for line in note.lines:
            key = str(line.get("order_line_id"))
            out[key] = out.get(key, Decimal(0)) + Decimal(str(line.get("amount") or 0))
    return out


async def set_sharing_rule(session: AsyncSession, tenant_id: uuid.UUID, rule: SharingRule) -> None:
    values = {
        "platform_fee": rule.platform_fee,
        "supplier": rule.supplier,
        "level1": rule.level1,
        "level2": rule.level2,
        "remainder_policy": rule.remainder_policy.value,
        "updated_at": utcnow(),
    }
    statement = insert(SharingRuleRow).values(tenant_id=tenant_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[SharingRuleRow.tenant_id], set_=values)
    )


async def settlement_delay(session: AsyncSession) -> int:
    row = (await session.execute(select(TenantFinance))).scalar_one_or_none()
    return row.settlement_delay_seconds if row else DEFAULT_DELAY


async def set_settlement_delay(session: AsyncSession, tenant_id: uuid.UUID, seconds: int) -> None:
    statement = insert(TenantFinance).values(tenant_id=tenant_id, settlement_delay_seconds=seconds)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[TenantFinance.tenant_id], set_={"settlement_delay_seconds": seconds}
        )
    )


@dataclass(frozen=True, slots=True)
class Earnings:
    """Who gets what of a sale (the preview shown on a placed order, and what settlement books)."""

    shares: Shares
    supplier_id: uuid.UUID
    level1_id: uuid.UUID | None
    level2_id: uuid.UUID | None
    currency: str

    @property
    def platform_total(self) -> Decimal:
        """The platform's revenue, including the shares of distributor levels nobody holds."""
        extra = (self.shares.level1 if self.level1_id is None else 0) + (
            self.shares.level2 if self.level2_id is None else 0
        )
        return self.shares.platform + extra

    def as_json(self) -> dict[str, Any]:
        s = self.shares
        return {
            "platform": money_text(s.platform, self.currency),
            "supplier": money_text(s.supplier, self.currency),
            "level1": money_text(s.level1, self.currency),
            "level2": money_text(s.level2, self.currency),
            "rounding": money_text(s.rounding, self.currency),
            "supplier_id": str(self.supplier_id),
            "level1_id": str(self.level1_id) if self.level1_id else None,
            "level2_id": str(self.level2_id) if self.level2_id else None,
        }


async def earnings(
    session: AsyncSession,
    order: OrderRow,
    amount: Decimal | None = None,
    credited: dict[str, Decimal] | None = None,
) -> Earnings:
    """The split of `amount` (default: the order total) over the order's lines by their rules.
    `credited`: what credit notes took off each line (those lines are worth that much less)."""
    default = await sharing_rule(session)
    by_line = await product_line_rules(session)
    buyer = await credit.profile(session, order.buyer_organization_id)
    total = order.total if amount is None else amount
    values = line_values(order, order.total)
    if credited:
        values = [
            max(v - credited.get(str(line.get("line_id")), Decimal(0)), Decimal(0))
            for v, line in zip(values, order.lines, strict=True)
        ]
    if values and (sum(values) > 0 or total == 0):
        parts = allocate(total, values, order.currency)
        rules = [rule_for(line.get("product_line"), by_line, default) for line in order.lines]
        shares = split_lines(list(zip(parts, rules, strict=True)), order.currency)
    else:
        shares = split_lines([(total, default)], order.currency)
    return Earnings(
        shares,
        order.seller_organization_id,
        buyer.level1_distributor_id,
        buyer.level2_distributor_id,
        order.currency,
    )


async def schedule(session: AsyncSession, order: OrderRow, delivered_at: datetime | None = None) -> None:
    """On delivery: the settlement falls due after the tenant's delay (once per order)."""
    delay = await settlement_delay(session)
    due = (delivered_at or utcnow()) + timedelta(seconds=delay)
    await session.execute(
        insert(SettlementRow)
        .values(
            id=uuid.uuid4(),
            tenant_id=order.tenant_id,
            order_id=order.id,
            currency=order.currency,
            status="SCHEDULED",
            due_at=due,
        )
        .on_conflict_do_nothing()
    )


async def _refunded(session: AsyncSession, order_id: uuid.UUID) -> Decimal:
    """What the order's refunds and credit notes put in REFUNDS (the contra account the
    settlement empties): the ledger says, not the payments table (a credit balance paid back
    after a credit note does not go through REFUNDS)."""
    value = (
        await session.execute(
            select(func.coalesce(func.sum(JournalLineRow.debit - JournalLineRow.credit), 0))
            .join(JournalEntryRow, JournalEntryRow.id == JournalLineRow.entry_id)
            .join(Account, Account.id == JournalLineRow.account_id)
            .where(JournalEntryRow.order_id == order_id, Account.kind == AccountKind.REFUNDS.value)
        )
    ).scalar_one()
    return max(Decimal(value), Decimal(0))


async def settle(session: AsyncSession, row: SettlementRow, now: datetime) -> bool:
    """Book one due settlement and its payouts. False when it cannot be settled yet (no invoice)."""
    order = await credit.lock_order(session, row.order_id)
    invoice = await invoices.for_order(session, row.order_id)
    if order is None or invoice is None or invoice.status == "VOID":
        return False
    # Refunds booked before settlement come out of the shared amount (see ledger.settlement).
    refunded = min(await _refunded(session, order.id), invoice.total)
    net = invoice.total - refunded
    share = await earnings(session, order, net, await credited_by_line(session, order.id))
    s = share.shares
    parts = ledger.SettlementParts(
        s.platform,
        s.supplier,
        s.level1,
        s.level2,
        s.rounding,
        share.supplier_id,
        share.level1_id,
        share.level2_id,
    )
    entry_id: uuid.UUID | None = None
    if invoice.total > 0:
        entry_id = await journal.post(
            session, order.tenant_id, ledger.settlement(order.id, parts, order.currency, refunded=refunded)
        )
    payouts: list[dict[str, Any]] = []
    for kind, party, amount in (
        (AccountKind.SUPPLIER_PAYABLE, share.supplier_id, s.supplier),
        (AccountKind.DISTRIBUTOR_COMMISSION, share.level1_id, s.level1),
        (AccountKind.DISTRIBUTOR_COMMISSION, share.level2_id, s.level2),
    ):
        if party is None or amount <= 0:
            continue
        payout_entry = await journal.post(
            session, order.tenant_id, ledger.payout(order.id, kind, party, amount, order.currency)
        )
        session.add(
            PayoutRow(
                id=uuid.uuid4(),
                tenant_id=order.tenant_id,
                settlement_id=row.id,
                order_id=order.id,
                party_kind=kind.value,
                party_id=party,
                amount=amount,
                currency=order.currency,
                status="PAID",
                entry_id=payout_entry,
                created_at=now,
            )
        )
        payouts.append(
            {"party_kind": kind.value, "party_id": str(party), "amount": money_text(amount, order.currency)}
        )
    row.status = "SETTLED"
    row.settled_at = now
    row.amount = net
    row.shares = share.as_json()
    row.entry_id = entry_id
    await session.flush()
    await events.publish(
        session,
        order.tenant_id,
        "settlement_done",
        order.id,
        {
            "order_id": str(order.id),
            "settlement_id": str(row.id),
            "amount": money_text(net, order.currency),
            "currency": order.currency,
            "shares": share.as_json(),
            "payouts": payouts,
        },
    )
    return True


async def sweep_due(session: AsyncSession, now: datetime | None = None) -> list[SettlementRow]:
    """Settle the session tenant's settlements that are due."""
    now = now or utcnow()
    query = (
        select(SettlementRow)
        .where(SettlementRow.status == "SCHEDULED", SettlementRow.due_at <= now)
        .order_by(SettlementRow.due_at)
        .with_for_update(skip_locked=True)
    )
    done = []
    for row in (await session.execute(query)).scalars():
        if await settle(session, row, now):
            done.append(row)
    return done
