"""The journal in PostgreSQL: accounts created on first use, entries posted with their lines in
the caller's transaction, balances summed from lines (never stored)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.finance.ledger import AccountKind, AccountRef, Entry, validate
from subgraphs.finance.models import Account, JournalEntryRow, JournalLineRow


async def account_id(session: AsyncSession, tenant_id: uuid.UUID, ref: AccountRef) -> uuid.UUID:
    """The id of the account `ref` of this tenant, created if it does not exist yet."""
    await session.execute(
        insert(Account)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            kind=ref.kind.value,
            currency=ref.currency,
            party_id=ref.party_id,
        )
        .on_conflict_do_nothing(constraint="uq_accounts_identity")
    )
    query = select(Account.id).where(
        Account.tenant_id == tenant_id,
        Account.kind == ref.kind.value,
        Account.currency == ref.currency,
        Account.party_id.is_(None) if ref.party_id is None else Account.party_id == ref.party_id,
    )
    return (await session.execute(query)).scalar_one()


async def post(session: AsyncSession, tenant_id: uuid.UUID, entry: Entry) -> uuid.UUID:
    """Write `entry` (validated again here; PostgreSQL checks the balance at commit)."""
    validate(entry)
    session.add(
        JournalEntryRow(
            id=entry.id,
            tenant_id=tenant_id,
            kind=entry.kind.value,
            currency=entry.currency,
            order_id=entry.order_id,
            memo=entry.memo,
            reverses_id=entry.reverses,
        )
    )
    await session.flush()
    for line in entry.lines:
        session.add(
            JournalLineRow(
                tenant_id=tenant_id,
                entry_id=entry.id,
                account_id=await account_id(session, tenant_id, line.account),
                debit=line.debit,
                credit=line.credit,
            )
        )
    await session.flush()
    return entry.id


@dataclass(frozen=True, slots=True)
class Balance:
    account_id: uuid.UUID
    ref: AccountRef
    debits: Decimal
    credits: Decimal
    entries: int

    @property
    def balance(self) -> Decimal:
        """Debits minus credits (debit-normal accounts are positive when they hold money)."""
        return self.debits - self.credits


async def balances(session: AsyncSession, currency: str | None = None) -> list[Balance]:
    """Every account of the session's tenant with its totals (zero for accounts without lines)."""
    rows = (
        await session.execute(
            text(
                "SELECT a.id, a.kind, a.currency, a.party_id, COALESCE(sum(l.debit), 0) AS debits, "
                "COALESCE(sum(l.credit), 0) AS credits, count(DISTINCT l.entry_id) AS entries "
                "FROM finance.accounts a LEFT JOIN finance.journal_lines l ON l.account_id = a.id "
                "WHERE (CAST(:c AS text) IS NULL OR a.currency = :c) "
                "GROUP BY a.id ORDER BY a.currency, a.kind, a.party_id NULLS FIRST"
            ),
            {"c": currency},
        )
    ).all()
    return [
        Balance(r.id, AccountRef(AccountKind(r.kind), r.currency, r.party_id), r.debits, r.credits, r.entries)
        for r in rows
    ]


async def trial_balance(session: AsyncSession) -> dict[str, Decimal]:
    """Per currency, the sum over all lines of debit - credit: zero in a sound ledger."""
    rows = (
        await session.execute(
            text(
                "SELECT e.currency, sum(l.debit - l.credit) AS net FROM finance.journal_lines l "
                "JOIN finance.journal_entries e ON e.id = l.entry_id GROUP BY e.currency"
            )
        )
    ).all()
    return {r.currency: r.net for r in rows}


async def balance_of(session: AsyncSession, tenant_id: uuid.UUID, ref: AccountRef) -> Decimal:
    acc = await account_id(session, tenant_id, ref)
    value = (
        await session.execute(
            text("SELECT COALESCE(sum(debit - credit), 0) FROM finance.journal_lines WHERE account_id = :a"),
            {"a": acc},
        )
    ).scalar_one()
    return Decimal(value)
