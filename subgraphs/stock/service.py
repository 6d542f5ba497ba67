"""Locations, level reads (with lazy expiry), adjustments and settings. No GraphQL here.

Adjustments (receipt, count, damage, transfer) lock their level rows in id order, check the
caller's `version` (compare-and-set, `shared.versioning`), append to the movement log and publish
`stock.adjusted` (and `stock.low` when available crosses below the threshold). On-hand never goes
below what is reserved + committed (a userError, and a CHECK constraint behind it).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import FieldError, ForbiddenError, UserInputError
from shared.events import EventEnvelope, add_event
from shared.gateway_context import Principal
from shared.versioning import expect_version, flush_versioned
from subgraphs.stock import events
from subgraphs.stock.models import LOCATION_KINDS, SCHEMA, Level, Location, Movement, TenantSettings
from subgraphs.stock.quantities import available, crossed_low, shop_display
from subgraphs.stock.reservations import (
    DEFAULT_TTL_SECONDS,
    lock_levels,
    release_expired_for_skus,
    release_held,
    write_levels,
)

PLATFORM_ADMIN = "platform_admin"


# --------------------------------------------------------------------------- access


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def is_platform_admin(principal: Principal | None) -> bool:
    return principal is not None and PLATFORM_ADMIN in principal.roles


def may_manage(principal: Principal | None, organization_id: uuid.UUID) -> bool:
    """Data scope of stock: a seller sees and adjusts its own organization's locations; a
    platform admin every location of the tenant."""
    if is_platform_admin(principal):
        return True
    return principal is not None and _uuid(principal.organization_id) == organization_id


def require_manage(principal: Principal | None, location: Location, field: tuple[str, ...]) -> None:
    if not may_manage(principal, location.organization_id):
        raise UserInputError(
            [FieldError(field, "this location belongs to another organization", "FORBIDDEN")]
        )


# --------------------------------------------------------------------------- locations


@dataclass(frozen=True, slots=True)
class NewLocation:
    organization_id: uuid.UUID
    code: str
    name: str
    kind: str
    priority: int = 100
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    active: bool = True
    source_location_id: uuid.UUID | None = None
    display_share_percent: int | None = None
    display_cap: int | None = None
    id: uuid.UUID | None = None  # seeds pin stable ids


def _validate_location(data: NewLocation) -> list[FieldError]:
    errors: list[FieldError] = []
    if not data.code.strip() or len(data.code) > 64:
        errors.append(FieldError(("code",), "must be 1 to 64 characters", "INVALID"))
    if not data.name.strip() or len(data.name) > 200:
        errors.append(FieldError(("name",), "must be 1 to 200 characters", "INVALID"))
    if data.kind not in LOCATION_KINDS:
        errors.append(FieldError(("kind",), "unknown kind", "INVALID"))
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        errors.append(FieldError(("latitude",), "must be between -90 and 90", "INVALID"))
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        errors.append(FieldError(("longitude",), "must be between -180 and 180", "INVALID"))
    if (data.kind == "shop") != (data.source_location_id is not None):
        errors.append(
            FieldError(("sourceLocationId",), "a shop needs a source location, others none", "INVALID")
        )
    if data.display_share_percent is not None and not 0 <= data.display_share_percent <= 100:
        errors.append(FieldError(("displaySharePercent",), "must be between 0 and 100", "INVALID"))
    if data.display_cap is not None and data.display_cap < 0:
        errors.append(FieldError(("displayCap",), "must not be negative", "INVALID"))
    if data.country is not None and len(data.country) != 2:
        errors.append(FieldError(("country",), "ISO 3166-1 alpha-2 code", "INVALID"))
    return errors


async def create_location(
    session: AsyncSession, tenant_id: uuid.UUID, principal: Principal | None, data: NewLocation
) -> Location:
    errors = _validate_location(data)
    if not may_manage(principal, data.organization_id):
        errors.append(FieldError(("organizationId",), "outside your organization", "FORBIDDEN"))
    if data.source_location_id is not None:
        source = await session.get(Location, data.source_location_id)
        if source is None or source.kind == "shop":
            errors.append(FieldError(("sourceLocationId",), "no such stock location", "NOT_FOUND"))
    if errors:
        raise UserInputError(errors)
    taken = await session.scalar(select(Location.id).where(Location.code == data.code.strip()))
    if taken is not None:
        raise UserInputError([FieldError(("code",), "already used by another location", "TAKEN")])
    row = Location(
        id=data.id or uuid.uuid4(),
        tenant_id=tenant_id,
        organization_id=data.organization_id,
        code=data.code.strip(),
        name=data.name.strip(),
        kind=data.kind,
        priority=data.priority,
        country=data.country.upper() if data.country else None,
        region=data.region,
        postal_code=data.postal_code,
        city=data.city,
        latitude=data.latitude,
        longitude=data.longitude,
        active=data.active,
        source_location_id=data.source_location_id,
        display_share_percent=data.display_share_percent,
        display_cap=data.display_cap,
    )
    session.add(row)
    await session.flush()
    return row


async def list_locations(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID | None,
    kind: str | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[tuple[Location, list[Any]]], int]:
    query = select(Location)
    if organization_id is not None:
        query = query.where(Location.organization_id == organization_id)
    if kind is not None:
        query = query.where(Location.kind == kind)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    if after and len(after) == 2:
        with contextlib.suppress(ValueError):  # a forged cursor starts from the beginning
            query = query.where(
                (Location.code > str(after[0]))
                | ((Location.code == str(after[0])) & (Location.id > uuid.UUID(str(after[1]))))
            )
    rows = (await session.scalars(query.order_by(Location.code, Location.id).limit(limit + 1))).all()
    return [(r, [r.code, str(r.id)]) for r in rows], total


# --------------------------------------------------------------------------- reading levels

# Quantities of active reservations past their expiry, per level: counted as released on read.
_EXPIRED_HELD = (
    "SELECT l.level_id, sum(l.quantity) AS quantity FROM stock.reservation_lines l "
    "JOIN stock.reservations r ON r.id = l.reservation_id "
    "WHERE r.status = 'active' AND r.expires_at <= :now AND l.level_id = ANY(:ids) GROUP BY l.level_id"
)


@dataclass(frozen=True, slots=True)
class LevelView:
    """A level as read: `reserved` without expired reservations (lazily released)."""

    row: Level
    reserved: int
    location: Location

    @property
    def available(self) -> int:
        return available(self.row.on_hand, self.reserved, self.row.committed, self.row.safety_stock)


async def _expired_held(
    session: AsyncSession, level_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    if not level_ids:
        return {}
    rows = await session.execute(text(_EXPIRED_HELD), {"now": now, "ids": list(level_ids)})
    return {r.level_id: int(r.quantity) for r in rows}


async def level_views(
    session: AsyncSession, rows: Sequence[tuple[Level, Location]], now: datetime | None = None
) -> list[LevelView]:
    expired = await _expired_held(session, [lv.id for lv, _ in rows], now or utcnow())
    return [LevelView(lv, max(0, lv.reserved - expired.get(lv.id, 0)), loc) for lv, loc in rows]


async def levels_for_skus(
    session: AsyncSession, sku_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[LevelView]]:
    rows = (
        await session.execute(
            select(Level, Location)
            .join(Location, Location.id == Level.location_id)
            .where(Level.sku_id.in_(list(sku_ids)))
            .order_by(Location.priority, Location.code)
        )
    ).all()
    views = await level_views(session, [(lv, loc) for lv, loc in rows])
    out: dict[uuid.UUID, list[LevelView]] = {s: [] for s in sku_ids}
    for view in views:
        out[view.row.sku_id].append(view)
    return out


async def get_level_view(session: AsyncSession, level_id: uuid.UUID) -> LevelView | None:
    row = (
        await session.execute(
            select(Level, Location)
            .join(Location, Location.id == Level.location_id)
            .where(Level.id == level_id)
        )
    ).first()
    if row is None:
        return None
    return (await level_views(session, [(row[0], row[1])]))[0]


@dataclass(frozen=True, slots=True)
class AvailabilityView:
    available: int
    low_threshold: int
    location_id: uuid.UUID | None


def availability_from(
    views: Sequence[LevelView], location: Location | None, all_locations: dict[uuid.UUID, Location]
) -> AvailabilityView:
    """A buyer's view: at one location (a shop derives from its source), or summed over the
    active warehouse and platform locations."""
    if location is None:
        sellable = [v for v in views if v.location.active and v.location.kind in ("warehouse", "platform")]
        return AvailabilityView(
            sum(v.available for v in sellable), sum(v.row.low_threshold for v in sellable), None
        )
    if location.kind == "shop":
        source = all_locations.get(location.source_location_id) if location.source_location_id else None
        src = [v for v in views if source is not None and v.location.id == source.id and source.active]
        source_available = sum(v.available for v in src)
        shown = shop_display(source_available, location.display_share_percent, location.display_cap)
        if not location.active:
            shown = 0
        return AvailabilityView(shown, sum(v.row.low_threshold for v in src), location.id)
    at = [v for v in views if v.location.id == location.id]
    shown = sum(v.available for v in at) if location.active else 0
    return AvailabilityView(shown, sum(v.row.low_threshold for v in at), location.id)


# --------------------------------------------------------------------------- adjustments

ADJUST_KINDS = ("receipt", "count", "damage")


@dataclass(frozen=True, slots=True)
class Adjustment:
    kind: str  # receipt | count | damage
    sku_id: uuid.UUID
    location_id: uuid.UUID
    quantity: int  # receipt/damage: units in/out; count: the new absolute on_hand
    reason: str
    version: int | None = None


@dataclass(frozen=True, slots=True)
class AdjustResult:
    level_id: uuid.UUID
    movement_id: uuid.UUID | None


async def _location_for_adjust(
    session: AsyncSession, principal: Principal | None, location_id: uuid.UUID, field: tuple[str, ...]
) -> Location:
    location = await session.get(Location, location_id)
    if location is None:
        raise UserInputError([FieldError(field, "no such location", "NOT_FOUND")])
    require_manage(principal, location, field)
    if location.kind == "shop":
        raise UserInputError(
            [FieldError(field, "a shop's stock is derived from its source location", "INVALID")]
        )
    return location


async def _apply_delta(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    level: Level,
    *,
    kind: str,
    delta: int,
    reason: str,
    reference: uuid.UUID | None,
    actor: uuid.UUID | None,
    field: tuple[str, ...],
    batch: list[EventEnvelope] | None = None,
) -> Movement | None:
    """One on-hand change: checks, the level, its movement, `stock.adjusted` (and `stock.low`).
    With `batch` (a bulk sync) nothing is flushed and the events are appended to it: the caller
    flushes once (`flush_versioned`) and writes the events in one INSERT (`outbox.add_events`)."""
    before = available(level.on_hand, level.reserved, level.committed, level.safety_stock)
    new_on_hand = level.on_hand + delta
    if new_on_hand < 0:
        raise UserInputError([FieldError(field, f"only {level.on_hand} on hand", "INSUFFICIENT_STOCK")])
    if new_on_hand < level.reserved + level.committed:
        raise UserInputError(
            [
                FieldError(
                    field,
                    f"{level.reserved + level.committed} units are reserved or committed",
                    "BELOW_ALLOCATED",
                )
            ]
        )
    if delta == 0:
        return None
    level.on_hand = new_on_hand
    level.updated_at = utcnow()
    if batch is None:
        await flush_versioned(session)
    movement = Movement(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        level_id=level.id,
        sku_id=level.sku_id,
        location_id=level.location_id,
        kind=kind,
        delta=delta,
        on_hand_after=new_on_hand,
        reason=reason,
        reference=reference,
        actor_user_id=actor,
    )
    session.add(movement)
    if batch is None:
        await session.flush()
    after = available(level.on_hand, level.reserved, level.committed, level.safety_stock)
    out: list[EventEnvelope] = []
    out.append(
        events.adjusted(
            tenant_id,
            level.id,
            {
                "level_id": str(level.id),
                "sku_id": str(level.sku_id),
                "location_id": str(level.location_id),
                "kind": kind,
                "delta": delta,
                "on_hand": new_on_hand,
                "available": after,
                "reason": reason,
                "movement_id": str(movement.id),
                "reference": str(reference) if reference else None,
            },
        )
    )
    if crossed_low(before, after, level.low_threshold):
        out.append(
            events.low(tenant_id, level.id, level.sku_id, level.location_id, after, level.low_threshold)
        )
    if batch is not None:
        batch.extend(out)
    else:
        for event in out:
            await add_event(session, SCHEMA, event)
    return movement


async def _lock_for_adjustment(
    session: AsyncSession, tenant_id: uuid.UUID, keys: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], Level]:
    """The levels of these (SKU, location) keys, created when missing and locked the way every
    stock write locks (reservations.py): dead reservations of these SKUs first (SKIP LOCKED), then
    all level rows in one statement ordered by id. The dead reservations are released (lazy
    expiry on write) before the adjustment sees the levels."""
    wanted = sorted(set(keys), key=lambda k: (str(k[0]), str(k[1])))
    # Missing levels in one INSERT (a bulk sync may name thousands): inserts lock no existing
    # row, and the keys are sorted, so two concurrent batches cannot wait on each other in a cycle.
    await session.execute(
        text(
            "INSERT INTO stock.levels (id, tenant_id, sku_id, location_id, version, on_hand, reserved, "
            "committed, incoming, safety_stock, low_threshold, updated_at) "
            "SELECT gen_random_uuid(), :t, k.sku, k.loc, 1, 0, 0, 0, 0, 0, 0, now() "
            "FROM unnest(CAST(:skus AS uuid[]), CAST(:locs AS uuid[])) WITH ORDINALITY AS k(sku, loc, n) "
            "ORDER BY k.n ON CONFLICT (tenant_id, sku_id, location_id) DO NOTHING"
        ),
        {"t": tenant_id, "skus": [k[0] for k in wanted], "locs": [k[1] for k in wanted]},
    )
    ids = list(
        (
            await session.scalars(select(Level.id).where(tuple_(Level.sku_id, Level.location_id).in_(wanted)))
        ).all()
    )
    now = utcnow()
    expired, lines = await release_expired_for_skus(session, tenant_id, [k[0] for k in wanted], now)
    states = await lock_levels(session, ids=[*ids, *(ln.level_id for ln in lines)])
    if expired:
        await release_held(session, tenant_id, expired, lines, states, "expired", now)
        await write_levels(session, tenant_id, states.values())
    rows = (
        await session.scalars(
            select(Level)
            .where(Level.id.in_(ids))
            .with_for_update()  # already ours: refreshes the rows, never waits
            .execution_options(populate_existing=True)
        )
    ).all()
    return {(row.sku_id, row.location_id): row for row in rows}


def _check_reason(reason: str, field: tuple[str, ...]) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise UserInputError([FieldError(field, "a reason of 1 to 500 characters is required", "INVALID")])
    return reason


async def adjust(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    principal: Principal | None,
    items: Sequence[Adjustment],
    *,
    reference: uuid.UUID | None = None,
    field_prefix: tuple[str, ...] = (),
) -> list[AdjustResult]:
    """Apply adjustments all or none; per-item problems are collected as userErrors with the
    item's index (`lines.3.quantity`)."""
    actor = _uuid(principal.user_id) if principal else None
    errors: list[FieldError] = []
    many = len(items) > 1 or field_prefix

    def path(i: int, name: str) -> tuple[str, ...]:
        return (*field_prefix, str(i), name) if many else (name,)

    for i, item in enumerate(items):
        if item.kind not in ADJUST_KINDS:
            errors.append(FieldError(path(i, "kind"), "unknown adjustment", "INVALID"))
        if item.quantity < 0 or (item.kind != "count" and item.quantity == 0):
            errors.append(FieldError(path(i, "quantity"), "must be positive", "INVALID"))
        if not item.reason.strip() or len(item.reason) > 500:
            errors.append(
                FieldError(path(i, "reason"), "a reason of 1 to 500 characters is required", "INVALID")
            )
    if not items:
        raise UserInputError([FieldError((*field_prefix,) or ("lines",), "at least one line", "BLANK")])
    locations: dict[uuid.UUID, Location] = {}
    for i, item in enumerate(items):
        if item.location_id not in locations:
            try:
                locations[item.location_id] = await _location_for_adjust(
                    session, principal, item.location_id, path(i, "locationId")
                )
            except UserInputError as exc:
                errors.extend(exc.errors)
    if errors:
        raise UserInputError(errors)
    levels = await _lock_for_adjustment(session, tenant_id, [(it.sku_id, it.location_id) for it in items])
    results: list[AdjustResult] = []
    for i, item in enumerate(items):
        level = levels[(item.sku_id, item.location_id)]
        try:
            expect_version(level, item.version)
            delta = {
                "receipt": item.quantity,
                "damage": -item.quantity,
                "count": item.quantity - level.on_hand,
            }[item.kind]
            movement = await _apply_delta(
                session,
                tenant_id,
                level,
                kind=item.kind,
                delta=delta,
                reason=item.reason.strip(),
                reference=reference,
                actor=actor,
                field=path(i, "quantity"),
            )
        except UserInputError as exc:
            errors.extend(exc.errors)
            continue
        results.append(AdjustResult(level.id, movement.id if movement else None))
    if errors:
        raise UserInputError(errors)
    return results


@dataclass(frozen=True, slots=True)
class Transfer:
    sku_id: uuid.UUID
    from_location_id: uuid.UUID
    to_location_id: uuid.UUID
    quantity: int
    reason: str
    from_version: int | None = None


async def transfer(
    session: AsyncSession, tenant_id: uuid.UUID, principal: Principal | None, data: Transfer
) -> tuple[AdjustResult, AdjustResult]:
    """Move units between two locations: two movements (out, in) in one transaction. The caller
    must manage the source; the destination must be a stock location of the same tenant."""
    reason = _check_reason(data.reason, ("reason",))
    if data.quantity <= 0:
        raise UserInputError([FieldError(("quantity",), "must be positive", "INVALID")])
    if data.from_location_id == data.to_location_id:
        raise UserInputError([FieldError(("toLocationId",), "must differ from the source", "INVALID")])
    await _location_for_adjust(session, principal, data.from_location_id, ("fromLocationId",))
    await _location_for_adjust(session, principal, data.to_location_id, ("toLocationId",))
    pair = await _lock_for_adjustment(
        session, tenant_id, [(data.sku_id, data.from_location_id), (data.sku_id, data.to_location_id)]
    )
    source, target = pair[(data.sku_id, data.from_location_id)], pair[(data.sku_id, data.to_location_id)]
    expect_version(source, data.from_version)
    reference = uuid.uuid4()
    actor = _uuid(principal.user_id) if principal else None
    out = await _apply_delta(
        session,
        tenant_id,
        source,
        kind="transfer_out",
        delta=-data.quantity,
        reason=reason,
        reference=reference,
        actor=actor,
        field=("quantity",),
    )
    into = await _apply_delta(
        session,
        tenant_id,
        target,
        kind="transfer_in",
        delta=data.quantity,
        reason=reason,
        reference=reference,
        actor=actor,
        field=("quantity",),
    )
    return AdjustResult(source.id, out.id if out else None), AdjustResult(
        target.id, into.id if into else None
    )


@dataclass(frozen=True, slots=True)
class LevelSettings:
    sku_id: uuid.UUID
    location_id: uuid.UUID
    safety_stock: int | None = None
    low_threshold: int | None = None
    incoming: int | None = None
    version: int | None = None


async def configure_level(
    session: AsyncSession, tenant_id: uuid.UUID, principal: Principal | None, data: LevelSettings
) -> Level:
    errors = [
        FieldError((name,), "must not be negative", "INVALID")
        for name, value in (
            ("safetyStock", data.safety_stock),
            ("lowThreshold", data.low_threshold),
            ("incoming", data.incoming),
        )
        if value is not None and value < 0
    ]
    if errors:
        raise UserInputError(errors)
    await _location_for_adjust(session, principal, data.location_id, ("locationId",))
    level = (await _lock_for_adjustment(session, tenant_id, [(data.sku_id, data.location_id)]))[
        (data.sku_id, data.location_id)
    ]
    expect_version(level, data.version)
    if data.safety_stock is not None:
        level.safety_stock = data.safety_stock
    if data.low_threshold is not None:
        level.low_threshold = data.low_threshold
    if data.incoming is not None:
        level.incoming = data.incoming
    level.updated_at = utcnow()
    await flush_versioned(session)
    return level


async def movement_sum(session: AsyncSession, level_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(Movement.delta), 0)).where(Movement.level_id == level_id)
        )
        or 0
    )


# --------------------------------------------------------------------------- settings


async def get_ttl(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    value = await session.scalar(
        select(TenantSettings.reservation_ttl_seconds).where(TenantSettings.tenant_id == tenant_id)
    )
    return int(value) if value is not None else DEFAULT_TTL_SECONDS


async def set_ttl(
    session: AsyncSession, tenant_id: uuid.UUID, principal: Principal | None, seconds: int
) -> int:
    if not is_platform_admin(principal):
        raise ForbiddenError("only a platform administrator changes the tenant's stock settings")
    if not 10 <= seconds <= 604800:
        raise UserInputError(
            [FieldError(("reservationTtlSeconds",), "must be between 10 and 604800", "INVALID")]
        )
    await session.execute(
        insert(TenantSettings)
        .values(tenant_id=tenant_id, reservation_ttl_seconds=seconds, updated_at=utcnow())
        .on_conflict_do_update(
            index_elements=["tenant_id"], set_={"reservation_ttl_seconds": seconds, "updated_at": utcnow()}
        )
    )
    return seconds
