"""Reconciliation of one day: the ledger vs the payments vs the provider's statement.

Checks, for the session tenant and the day (UTC):
- every payment and refund has its journal entry, of its amount (`LEDGER_MISMATCH`);
- CASH movements of the day's payment/refund entries equal the payments table (`CASH_MISMATCH`);
- each provider payment of the day is on the statement with the same amount
  (`MISSING_IN_STATEMENT`, `AMOUNT_MISMATCH`), and each statement line is a payment we recorded
  (`MISSING_IN_LEDGER`).
A run is stored with its mismatches and each mismatch is published as
`finance.reconciliation_mismatch` (a stream a subscription can follow).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from subgraphs.finance import events
from subgraphs.finance.models import ReconciliationRun
from subgraphs.finance.money import text as money_text


@dataclass(frozen=True, slots=True)
class StatementLine:
    reference: str
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    reference: str | None
    payment_id: str | None
    expected: str | None
    actual: str | None


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


async def reconcile(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    day: date,
    provider: str,
    statement: Sequence[StatementLine] | None,
    *,
    trigger: str = "MANUAL",
) -> ReconciliationRun:
    """One run (stored, mismatches published). `statement` None: the provider offers none, so
    only the ledger and the payments are compared."""
    start, end = _day_bounds(day)
    window = {"s": start, "e": end}
    mismatches: list[Mismatch] = []
    rows = (
        await session.execute(
            text(
                "SELECT p.id, p.kind, p.method, p.provider, p.reference, p.amount, p.currency, "
                "(SELECT COALESCE(sum(l.debit), 0) FROM finance.journal_lines l "
                "WHERE l.entry_id = p.entry_id) "
                "AS booked FROM finance.payments p WHERE p.created_at >= :s AND p.created_at < :e"
            ),
            window,
        )
    ).all()
    for r in rows:
        if r.booked != r.amount:
            mismatches.append(
                Mismatch(
                    "LEDGER_MISMATCH", r.reference, str(r.id), money_text(r.amount, r.currency), str(r.booked)
                )
            )
    cash = (
        await session.execute(
            text(
                "SELECT COALESCE(sum(l.debit - l.credit), 0) FROM finance.journal_lines l "
                "JOIN finance.journal_entries e ON e.id = l.entry_id "
                "JOIN finance.accounts a ON a.id = l.account_id "
                "WHERE a.kind = 'CASH' AND e.kind IN ('PAYMENT_RECEIVED', 'REFUND_PAID') "
                "AND e.posted_at >= :s AND e.posted_at < :e"
            ),
            window,
        )
    ).scalar_one()
    expected_cash = sum((r.amount if r.kind == "PAYMENT" else -r.amount for r in rows), Decimal(0))
    if cash != expected_cash:
        mismatches.append(Mismatch("CASH_MISMATCH", None, None, str(expected_cash), str(cash)))
    ours = {r.reference: r for r in rows if r.method == "PROVIDER" and r.provider == provider and r.reference}
    theirs = {line.reference: line for line in statement or ()}
    for reference, r in ours.items() if statement is not None else ():
        line = theirs.get(reference)
        if line is None:
            mismatches.append(
                Mismatch("MISSING_IN_STATEMENT", reference, str(r.id), money_text(r.amount, r.currency), None)
            )
        elif line.amount != r.amount or line.currency != r.currency:
            mismatches.append(
                Mismatch(
                    "AMOUNT_MISMATCH",
                    reference,
                    str(r.id),
                    money_text(r.amount, r.currency),
                    f"{money_text(line.amount, line.currency)} {line.currency}",
                )
            )
    for reference, line in theirs.items():
        if reference not in ours:
            mismatches.append(
                Mismatch("MISSING_IN_LEDGER", reference, None, None, money_text(line.amount, line.currency))
            )
    run = ReconciliationRun(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        day=day,
        provider=provider,
        ran_at=utcnow(),
        payments_checked=len(rows),
        statement_lines=len(statement or ()),
        mismatches=[asdict(m) for m in mismatches],
        trigger=trigger,
        statement_available=statement is not None,
    )
    session.add(run)
    await session.flush()
    for m in mismatches:
        await events.publish(
            session,
            tenant_id,
            "reconciliation_mismatch",
            run.id,
            {"run_id": str(run.id), "day": day.isoformat(), "provider": provider, **asdict(m)},
        )
    return run


async def scheduled_done(session: AsyncSession, day: date, provider: str) -> bool:
    """Has the schedule already reconciled this (tenant, day, provider)?"""
    found = (
        await session.execute(
            select(ReconciliationRun.id).where(
                ReconciliationRun.day == day,
                ReconciliationRun.provider == provider,
                ReconciliationRun.trigger == "SCHEDULED",
            )
        )
    ).first()
    return found is not None
