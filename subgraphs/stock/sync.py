"""Inbound stock sync from a partner ERP: counted on-hand levels in bulk. No GraphQL here.

One call carries up to `MAX_ROWS` rows `{external_reference, sku_id, location, on_hand}`; each
row is a COUNT adjustment (the ERP's on-hand becomes ours) through the same path as
`stockAdjust` (`service._lock_for_adjustment` / `service._apply_delta`): level locks in id order,
lazy expiry, a movement per change, `stock.adjusted` / `stock.low`, never below reserved +
committed. All rows apply or none (one transaction; every row's problem reported at
`rows.<i>.<field>`). Idempotent per external reference (`shared.sync_rows`): a replayed row
changes nothing and answers what it did the first time; the reference with other content is
`EXTERNAL_REFERENCE_REUSED`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import FieldError, UserInputError
from shared.events import EventEnvelope
from shared.gateway_context import Principal
from shared.sync_rows import REFERENCE_MAX_LENGTH, SyncClaim, claim_rows, fingerprint, record_outcomes
from shared.versioning import flush_versioned
from subgraphs.stock import service
from subgraphs.stock.models import SCHEMA, Location
from subgraphs.stock.outbox import add_events

MAX_ROWS = 5000
OPERATION = "syncStockLevels"


@dataclass(frozen=True, slots=True)
class SyncRow:
    external_reference: str
    sku_id: str
    location: str  # the location's code, or its id
    on_hand: int


@dataclass(frozen=True, slots=True)
class RowOutcome:
    external_reference: str
    level_id: uuid.UUID
    on_hand: int
    outcome: str  # APPLIED (on-hand changed) | UNCHANGED (already that) | REPLAYED (synced before)
    movement_id: uuid.UUID | None


def _path(i: int, name: str) -> tuple[str, ...]:
    return ("rows", str(i), name)


def _parse(rows: Sequence[SyncRow]) -> tuple[list[FieldError], dict[int, uuid.UUID]]:
    errors: list[FieldError] = []
    skus: dict[int, uuid.UUID] = {}
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
        try:
            skus[i] = uuid.UUID(row.sku_id)
        except ValueError:
            errors.append(FieldError(_path(i, "skuId"), "not a valid id", "INVALID"))
        if row.on_hand < 0:
            errors.append(FieldError(_path(i, "onHand"), "must not be negative", "INVALID"))
        if not row.location.strip():
            errors.append(FieldError(_path(i, "location"), "a location code or id", "BLANK"))
    return errors, skus


async def _locations(session: AsyncSession, names: set[str]) -> dict[str, Location]:
    """By code, and by id for names that are ids (a code wins when both match)."""
    ids = []
    for name in names:
        with contextlib.suppress(ValueError):
            ids.append(uuid.UUID(name))
    rows = (
        await session.scalars(select(Location).where(or_(Location.code.in_(names), Location.id.in_(ids))))
    ).all()
    out = {str(r.id): r for r in rows}
    out.update({r.code: r for r in rows})
    return out


async def sync_levels(
    session: AsyncSession, tenant_id: uuid.UUID, principal: Principal | None, rows: Sequence[SyncRow]
) -> list[RowOutcome]:
    """Apply every row or raise UserInputError with every row's problem (nothing applied)."""
    if not rows:
        raise UserInputError([FieldError(("rows",), "at least one row", "BLANK")])
    if len(rows) > MAX_ROWS:
        raise UserInputError(
            [FieldError(("rows",), f"at most {MAX_ROWS} rows per call; split the batch", "TOO_MANY_ROWS")]
        )
    errors, skus = _parse(rows)
    locations = await _locations(session, {r.location.strip() for r in rows if r.location.strip()})
    for i, row in enumerate(rows):
        location = locations.get(row.location.strip())
        if location is None:
            if row.location.strip():
                errors.append(FieldError(_path(i, "location"), "no such location", "NOT_FOUND"))
        elif not service.may_manage(principal, location.organization_id):
            errors.append(
                FieldError(_path(i, "location"), "this location belongs to another organization", "FORBIDDEN")
            )
        elif location.kind == "shop":
            errors.append(
                FieldError(
                    _path(i, "location"), "a shop's stock is derived from its source location", "INVALID"
                )
            )
    if errors:
        raise UserInputError(errors)

    # One claim per distinct reference (a row repeated verbatim in the batch is applied once).
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        first.setdefault(row.external_reference, i)
    claims = await claim_rows(
        session,
        schema=SCHEMA,
        tenant_id=tenant_id,
        operation=OPERATION,
        rows=[
            SyncClaim(
                i,
                rows[i].external_reference,
                fingerprint(
                    {
                        "skuId": str(skus[i]),
                        "locationId": str(locations[rows[i].location.strip()].id),
                        "onHand": rows[i].on_hand,
                    }
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

    new = sorted(claims.new)
    keys = [(skus[i], locations[rows[i].location.strip()].id) for i in new]
    levels = await service._lock_for_adjustment(session, tenant_id, keys) if new else {}
    actor = service._uuid(principal.user_id) if principal else None
    batch_reference = uuid.uuid4()  # groups this call's movements
    pending: list[EventEnvelope] = []
    done: dict[int, RowOutcome] = {}
    for i, key in zip(new, keys, strict=True):
        level = levels[key]
        row = rows[i]
        try:
            movement = await service._apply_delta(
                session,
                tenant_id,
                level,
                kind="count",
                delta=row.on_hand - level.on_hand,
                reason=f"ERP sync {row.external_reference}"[:500],
                reference=batch_reference,
                actor=actor,
                field=_path(i, "onHand"),
                batch=pending,
            )
        except UserInputError as exc:
            errors.extend(exc.errors)
            continue
        done[i] = RowOutcome(
            row.external_reference,
            level.id,
            row.on_hand,
            "APPLIED" if movement else "UNCHANGED",
            movement.id if movement else None,
        )
    if errors:
        raise UserInputError(errors)
    await flush_versioned(session)
    await add_events(session, pending)
    await record_outcomes(
        session,
        schema=SCHEMA,
        tenant_id=tenant_id,
        operation=OPERATION,
        outcomes={
            o.external_reference: {"level_id": str(o.level_id), "on_hand": o.on_hand, "outcome": o.outcome}
            for o in done.values()
        },
    )
    out: list[RowOutcome] = []
    for i, row in enumerate(rows):
        j = first[row.external_reference]
        if j in done and j == i:
            out.append(done[j])
        elif j in done:  # repeated in this batch: applied once, by its first row
            out.append(RowOutcome(row.external_reference, done[j].level_id, row.on_hand, "REPLAYED", None))
        else:
            stored = claims.replayed[j]
            out.append(
                RowOutcome(
                    row.external_reference,
                    uuid.UUID(stored["level_id"]),
                    int(stored["on_hand"]),
                    "REPLAYED",
                    None,
                )
            )
    return out
