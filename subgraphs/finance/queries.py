"""Read side for the GraphQL layer: keyset pages and data-scope checks (no GraphQL here)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadUserInputError
from subgraphs.finance import orgtree
from subgraphs.finance.models import (
    InvoiceRow,
    JournalEntryRow,
    JournalLineRow,
    OrderRow,
    PaymentRow,
    PayoutRow,
    SettlementRow,
)

RowT = TypeVar("RowT")


async def descendants(session: AsyncSession, org_id: uuid.UUID) -> list[uuid.UUID]:
    rows = (
        await session.execute(
            text(
                "WITH RECURSIVE down(id, depth) AS (SELECT CAST(:o AS uuid), 0 UNION ALL "
                "SELECT u.id, down.depth + 1 FROM finance.org_units u JOIN down ON u.parent_id = down.id "
                "WHERE down.depth < 32) SELECT DISTINCT id FROM down"
            ),
            {"o": org_id},
        )
    ).scalars()
    return list(rows)


async def buyer_scope(session: AsyncSession, caller_org: uuid.UUID | None) -> list[uuid.UUID] | None:
    """The buyer organizations a caller may see: a buyer's own units (its subtree); None = all
    (a seller's or the platform's finance staff)."""
    if caller_org is None:
        return []
    if await orgtree.kind_of(session, caller_org) == "BUYER":
        return await descendants(session, caller_org)
    return None


async def may_see_buyer(session: AsyncSession, caller_org: uuid.UUID | None, buyer: uuid.UUID) -> bool:
    scope = await buyer_scope(session, caller_org)
    return scope is None or buyer in scope


def _cursor_value(value: Any) -> Any:
    """Cursor keys come back as JSON: ISO timestamps and UUID strings become typed again."""
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return value


def _after(query: Select[Any], columns: tuple[Any, ...], after: list[Any] | None) -> Select[Any]:
    if not after:
        return query
    values = [_cursor_value(v) for v in after]
    return query.where(tuple_(*columns) > tuple_(*values))


def _check_cursor(columns: tuple[Any, ...], after: list[Any] | None) -> None:
    """A cursor from another list (or made up) is a BAD_USER_INPUT, never a database error."""
    if after is None:
        return
    if len(after) != len(columns):
        raise BadUserInputError("invalid cursor", extensions={"argument": "after"})
    for column, value in zip(columns, (_cursor_value(v) for v in after), strict=True):
        python_type = column.type.python_type
        if not isinstance(value, python_type) or isinstance(value, bool):
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"})


async def page(
    session: AsyncSession, query: Select[Any], columns: tuple[Any, ...], limit: int, after: list[Any] | None
) -> tuple[list[Any], int]:
    _check_cursor(columns, after)
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await session.execute(_after(query, columns, after).order_by(*columns).limit(limit + 1))
    ).scalars()
    return list(rows), int(total)


def invoice_query(
    status: str | None, buyers: list[uuid.UUID] | None, order_id: uuid.UUID | None
) -> Select[Any]:
    query = select(InvoiceRow)
    if status:
        query = query.where(InvoiceRow.status == status)
    if buyers is not None:
        query = query.where(InvoiceRow.buyer_organization_id.in_(buyers))
    if order_id is not None:
        query = query.where(InvoiceRow.order_id == order_id)
    return query


def payment_query(order_id: uuid.UUID | None, buyers: list[uuid.UUID] | None) -> Select[Any]:
    query = select(PaymentRow)
    if order_id is not None:
        query = query.where(PaymentRow.order_id == order_id)
    if buyers is not None:
        query = query.where(PaymentRow.buyer_organization_id.in_(buyers))
    return query


def entry_query(order_id: uuid.UUID | None) -> Select[Any]:
    query = select(JournalEntryRow)
    if order_id is not None:
        query = query.where(JournalEntryRow.order_id == order_id)
    return query


def held_query() -> Select[Any]:
    return select(OrderRow).where(OrderRow.status == "HELD")


async def lines_of(session: AsyncSession, entry_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    out: dict[uuid.UUID, list[Any]] = {e: [] for e in entry_ids}
    rows = await session.execute(
        text(
            "SELECT l.entry_id, l.debit, l.credit, a.id AS account_id, a.kind, a.currency, a.party_id "
            "FROM finance.journal_lines l JOIN finance.accounts a ON a.id = l.account_id "
            "WHERE l.entry_id = ANY(:ids) ORDER BY l.id"
        ),
        {"ids": entry_ids},
    )
    for row in rows:
        out[row.entry_id].append(row)
    return out


__all__ = ["JournalLineRow"]


async def org_name(session: AsyncSession, org_id: uuid.UUID) -> str | None:
    value = (
        await session.execute(text("SELECT name FROM finance.org_units WHERE id = :o"), {"o": org_id})
    ).scalar_one_or_none()
    return str(value) if value else None


async def invoice_for_order(session: AsyncSession, order_id: uuid.UUID) -> InvoiceRow | None:
    return (
        await session.execute(select(InvoiceRow).where(InvoiceRow.order_id == order_id))
    ).scalar_one_or_none()


async def settlement_for_order(session: AsyncSession, order_id: uuid.UUID) -> SettlementRow | None:
    query = select(SettlementRow).where(SettlementRow.order_id == order_id)
    return (await session.execute(query)).scalar_one_or_none()


async def payouts_of(session: AsyncSession, settlement_id: uuid.UUID) -> list[PayoutRow]:
    query = select(PayoutRow).where(PayoutRow.settlement_id == settlement_id).order_by(PayoutRow.created_at)
    return list((await session.execute(query)).scalars())
