"""Inbound order status sync from a partner ERP, in bulk. No GraphQL here.

One call carries up to `MAX_ROWS` rows `{external_reference, order (id or number), status,
reason}`. Each row is the step the ERP saw (its warehouse shipped, the customer received, the
order was cancelled) and goes through the same rules as `orderAdvance` / `orderCancel`
(`service.advance` / `service.cancel`: the state machine, the caller's side of the order, a
transition row and an `orders.<state>` event). An order already in the row's status is left as
it is (`UNCHANGED`: logistics may have reported it first). All rows apply or none (one
transaction, every row's problem at `rows.<i>.<field>`); idempotent per external reference
(`shared.sync_rows`).

Rows of one order apply in input order (shipped then delivered in one call works). The orders a
call names are locked up front in id order, so two concurrent calls never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import FieldError, UserInputError
from shared.sync_rows import REFERENCE_MAX_LENGTH, SyncClaim, claim_rows, fingerprint, record_outcomes
from subgraphs.orders import service
from subgraphs.orders import states as st
from subgraphs.orders.access import Viewer
from subgraphs.orders.models import SCHEMA, Order

MAX_ROWS = 5000
OPERATION = "syncOrderStatuses"
SYNCABLE: frozenset[st.OrderState] = service.FULFILMENT | {st.OrderState.CANCELLED}


@dataclass(frozen=True, slots=True)
class SyncRow:
    external_reference: str
    order_id: str | None
    order_number: str | None
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RowOutcome:
    external_reference: str
    order_id: uuid.UUID
    state: str
    outcome: str  # APPLIED | UNCHANGED (already in that state) | REPLAYED (synced before)


def _path(i: int, name: str) -> tuple[str, ...]:
    return ("rows", str(i), name)


def _check(rows: Sequence[SyncRow]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: dict[str, tuple[int, SyncRow]] = {}
    for i, row in enumerate(rows):
        ref = row.external_reference
        if not ref.strip() or len(ref) > REFERENCE_MAX_LENGTH:
            errors.append(
                FieldError(
                    _path(i, "externalReference"), f"1 to {REFERENCE_MAX_LENGTH} characters", "INVALID"
                )
            )
        elif ref in seen and seen[ref][1] != row:
            errors.append(
                FieldError(
                    _path(i, "externalReference"),
                    f"also used by row {seen[ref][0]} with other content",
                    "DUPLICATE_EXTERNAL_REFERENCE",
                )
            )
        else:
            seen.setdefault(ref, (i, row))
        if (row.order_id is None) == (row.order_number is None):
            errors.append(
                FieldError(
                    _path(i, "orderId"), "give exactly one of orderId, orderNumber", "ORDER_ID_OR_NUMBER"
                )
            )
        elif row.order_id is not None:
            try:
                uuid.UUID(row.order_id)
            except ValueError:
                errors.append(FieldError(_path(i, "orderId"), "not a valid id", "INVALID"))
        try:
            if st.OrderState(row.status) not in SYNCABLE:
                raise ValueError
        except ValueError:
            errors.append(
                FieldError(
                    _path(i, "status"),
                    "an ERP reports fulfilment steps (partially shipped to completed) or a cancel",
                    "INVALID_TRANSITION",
                )
            )
        if row.reason is not None and len(row.reason) > 500:
            errors.append(FieldError(_path(i, "reason"), "at most 500 characters", "INVALID"))
    return errors


async def _orders(
    session: AsyncSession, rows: Sequence[SyncRow]
) -> tuple[dict[str, Order], dict[str, Order]]:
    """The named orders, locked in id order (the later per-row locks are then already ours)."""
    ids = {uuid.UUID(r.order_id) for r in rows if r.order_id is not None}
    numbers = {r.order_number for r in rows if r.order_number is not None}
    found = (
        await session.scalars(
            select(Order)
            .where(Order.id.in_(ids) | Order.number.in_(numbers))
            .order_by(Order.id)
            .with_for_update()
        )
    ).all()
    return {str(o.id): o for o in found}, {o.number: o for o in found}


async def sync_statuses(session: AsyncSession, viewer: Viewer, rows: Sequence[SyncRow]) -> list[RowOutcome]:
    """Apply every row or raise UserInputError with every row's problem (nothing applied)."""
    if not rows:
        raise UserInputError([FieldError(("rows",), "at least one row", "BLANK")])
    if len(rows) > MAX_ROWS:
        raise UserInputError(
            [FieldError(("rows",), f"at most {MAX_ROWS} rows per call; split the batch", "TOO_MANY_ROWS")]
        )
    errors = _check(rows)
    if errors:
        raise UserInputError(errors)
    by_id, by_number = await _orders(session, rows)
    resolved: dict[int, Order] = {}
    for i, row in enumerate(rows):
        order = (
            by_id.get(str(uuid.UUID(row.order_id))) if row.order_id else by_number.get(row.order_number or "")
        )
        if order is None or not viewer.sees(order):
            name = "orderId" if row.order_id else "orderNumber"
            errors.append(FieldError(_path(i, name), "no such order", "NOT_FOUND"))
        else:
            resolved[i] = order
    if errors:
        raise UserInputError(errors)

    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        first.setdefault(row.external_reference, i)
    claims = await claim_rows(
        session,
        schema=SCHEMA,
        tenant_id=viewer.tenant_id,
        operation=OPERATION,
        rows=[
            SyncClaim(
                i,
                rows[i].external_reference,
                fingerprint(
                    {"orderId": str(resolved[i].id), "status": rows[i].status, "reason": rows[i].reason}
                ),
            )
            for i in first.values()
        ],
    )
    errors = [
        FieldError(
            _path(i, "externalReference"),
            "this reference was already synced with other content",
            "EXTERNAL_REFERENCE_REUSED",
        )
        for i in claims.reused
    ]
    if errors:
        raise UserInputError(errors)

    done: dict[int, RowOutcome] = {}
    for i in sorted(claims.new):
        row, order = rows[i], resolved[i]
        target = st.OrderState(row.status)
        if order.state == target.value:
            done[i] = RowOutcome(row.external_reference, order.id, order.state, "UNCHANGED")
            continue
        reason = row.reason or f"ERP sync {row.external_reference}"[:500]
        try:
            if target == st.OrderState.CANCELLED:
                await service.cancel(session, viewer, order.id, reason)
            else:
                await service.advance(session, viewer, order.id, target, reason)
        except UserInputError as exc:
            errors.extend(
                FieldError(
                    _path(i, "status" if e.code == "INVALID_TRANSITION" else e.field[-1]), e.message, e.code
                )
                for e in exc.errors
            )
            continue
        done[i] = RowOutcome(row.external_reference, order.id, target.value, "APPLIED")
    if errors:
        raise UserInputError(errors)
    await record_outcomes(
        session,
        schema=SCHEMA,
        tenant_id=viewer.tenant_id,
        operation=OPERATION,
        outcomes={
            o.external_reference: {"order_id": str(o.order_id), "state": o.state, "outcome": o.outcome}
            for o in done.values()
        },
    )
    out: list[RowOutcome] = []
    for i, row in enumerate(rows):
        j = first[row.external_reference]
        if j in done and j == i:
            out.append(done[j])
        elif j in done:
            out.append(RowOutcome(row.external_reference, done[j].order_id, done[j].state, "REPLAYED"))
        else:
            stored = claims.replayed[j]
            out.append(
                RowOutcome(row.external_reference, uuid.UUID(stored["order_id"]), stored["state"], "REPLAYED")
            )
    return out
