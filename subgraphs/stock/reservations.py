"""Reservations: taken for all lines of an order or none, committed, released, expired.

No GraphQL here. Every function runs inside the caller's tenant transaction.

Locking (why it never deadlocks and never oversells):
1. a transaction first claims/locks reservation rows (the INSERT of a new reservation, or
   `SELECT ... FOR UPDATE` of an existing one; reservations found for lazy expiry are taken with
   `SKIP LOCKED`, so they never make it wait);
2. then it locks every level row it will change in ONE statement ordered by id
   (`SELECT ... ORDER BY id FOR NO KEY UPDATE`);
3. once it holds level locks it never waits for another row lock.
Quantities are computed from the locked rows and written back while the locks are held; the
CHECK constraints (`reserved + committed <= on_hand`, ...) are the last line of defence.

A reservation past `expires_at` is dead: levels read count it as released (queries.py), and the
next write touching one of its SKUs releases it (`stock.released`, reason `expired`), as does the
sweeper (sweeper.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.events import EventEnvelope, add_event
from subgraphs.stock import events
from subgraphs.stock.allocation import Allocation, Candidate, Line, Pick, Place, allocate
from subgraphs.stock.models import SCHEMA, Reservation, TenantSettings
from subgraphs.stock.outbox import add_events
from subgraphs.stock.quantities import available, crossed_low

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 1800
MAX_RESERVE_SECONDS = 7 * 24 * 3600

# Failure reasons of stock.reservation_failed / stock.commit_failed (docs/saga.md).
INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
UNKNOWN_SKU = "UNKNOWN_SKU"
NO_LOCATION = "NO_LOCATION"
RESERVATION_EXPIRED = "RESERVATION_EXPIRED"
RESERVATION_RELEASED = "RESERVATION_RELEASED"
UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"


class InvalidPayload(ValueError):
    """An event whose payload cannot be acted on at all (no order id)."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order_id: uuid.UUID
    seller_organization_id: uuid.UUID | None
    lines: tuple[Line, ...]
    destination: Place | None = None
    reserve_for_seconds: int | None = None
    # Lines whose SKU id is not a UUID: reported as UNKNOWN_SKU.
    bad_lines: tuple[tuple[str, str, int], ...] = ()


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_placed(data: dict[str, Any]) -> PlacedOrder:
    """The `orders.placed` payload of docs/saga.md as a `PlacedOrder`."""
    order_id = _uuid(data.get("order_id"))
    if order_id is None:
        raise InvalidPayload("orders.placed without a valid order_id")
    lines: list[Line] = []
    bad: list[tuple[str, str, int]] = []
    for i, raw in enumerate(data.get("lines") or []):
        if not isinstance(raw, dict):
            continue
        line_id = str(raw.get("line_id") or i)
        quantity = _int(raw.get("quantity"))
        sku = _uuid(raw.get("sku_id"))
        if sku is None:
            bad.append((line_id, str(raw.get("sku_id")), quantity))
        else:
            lines.append(Line(line_id, sku, quantity))
    delivery = data.get("delivery")
    destination = None
    if isinstance(delivery, dict):
        destination = Place(
            region=delivery.get("region"),
            postal_code=delivery.get("postal_code"),
            latitude=_float(delivery.get("latitude")),
            longitude=_float(delivery.get("longitude")),
        )
    seconds = data.get("reserve_for_seconds")
    return PlacedOrder(
        order_id=order_id,
        seller_organization_id=_uuid(data.get("seller_organization_id")),
        lines=tuple(lines),
        destination=destination,
        reserve_for_seconds=_int(seconds) if seconds is not None else None,
        bad_lines=tuple(bad),
    )


# --------------------------------------------------------------------------- outcomes


@dataclass(slots=True)
class ReserveOutcome:
    order_id: uuid.UUID
    reservation_id: uuid.UUID | None
    # "reserved", "failed", or "duplicate" (this order was handled before: nothing done)
    status: str
    reason: str | None = None
    allocations: list[dict[str, Any]] = field(default_factory=list)
    short_lines: list[dict[str, Any]] = field(default_factory=list)
    expires_at: datetime | None = None
    picks: list[Pick] = field(default_factory=list)


@dataclass(slots=True)
class LevelState:
    """A locked level row, changed in memory and written back once."""

    id: uuid.UUID
    sku_id: uuid.UUID
    location_id: uuid.UUID
    on_hand: int
    reserved: int
    committed: int
    safety_stock: int
    low_threshold: int
    available_before: int = 0
    dirty: bool = False

    @property
    def available(self) -> int:
        return available(self.on_hand, self.reserved, self.committed, self.safety_stock)


# --------------------------------------------------------------------------- helpers

_LEVEL_COLUMNS = "id, sku_id, location_id, on_hand, reserved, committed, safety_stock, low_threshold"


async def lock_levels(
    session: AsyncSession,
    *,
    ids: Iterable[uuid.UUID] = (),
    sku_ids: Iterable[uuid.UUID] = (),
    location_ids: Iterable[uuid.UUID] = (),
) -> dict[uuid.UUID, LevelState]:
    """Lock, in id order and in one statement, the levels with these ids plus those of these SKUs
    at these locations."""
    id_list, skus, locations = list(set(ids)), list(set(sku_ids)), list(set(location_ids))
    if not id_list and not (skus and locations):
        return {}
    rows = await session.execute(
        text(
            f"SELECT {_LEVEL_COLUMNS} FROM stock.levels "
            "WHERE id = ANY(:ids) OR (sku_id = ANY(:skus) AND location_id = ANY(:locs)) "
            "ORDER BY id FOR NO KEY UPDATE"
        ),
        {"ids": id_list, "skus": skus, "locs": locations},
    )
    out: dict[uuid.UUID, LevelState] = {}
    for r in rows:
        state = LevelState(
            r.id, r.sku_id, r.location_id, r.on_hand, r.reserved, r.committed, r.safety_stock, r.low_threshold
        )
        state.available_before = state.available
        out[state.id] = state
    return out


async def write_levels(session: AsyncSession, tenant_id: uuid.UUID, levels: Iterable[LevelState]) -> None:
    """Write back changed reserved/committed (the rows are locked) and emit `stock.low` where
    available crossed below the threshold."""
    dirty = [lv for lv in levels if lv.dirty]
    if not dirty:
        return
    await session.execute(
        text(
            "UPDATE stock.levels SET reserved = :reserved, committed = :committed, updated_at = now() "
            "WHERE id = :id"
        ),
        [{"id": lv.id, "reserved": lv.reserved, "committed": lv.committed} for lv in dirty],
    )
    for lv in dirty:
        if crossed_low(lv.available_before, lv.available, lv.low_threshold):
            await add_event(
                session,
                SCHEMA,
                events.low(tenant_id, lv.id, lv.sku_id, lv.location_id, lv.available, lv.low_threshold),
            )
        lv.available_before = lv.available
        lv.dirty = False


async def reservation_ttl(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    ttl = await session.scalar(
        select(TenantSettings.reservation_ttl_seconds).where(TenantSettings.tenant_id == tenant_id)
    )
    return int(ttl) if ttl is not None else DEFAULT_TTL_SECONDS


@dataclass(frozen=True, slots=True)
class HeldLine:
    reservation_id: uuid.UUID
    level_id: uuid.UUID
    sku_id: uuid.UUID
    location_id: uuid.UUID
    quantity: int


async def _lines_of(session: AsyncSession, reservation_ids: Sequence[uuid.UUID]) -> list[HeldLine]:
    if not reservation_ids:
        return []
    rows = await session.execute(
        text(
            "SELECT reservation_id, level_id, sku_id, location_id, quantity FROM stock.reservation_lines "
            "WHERE reservation_id = ANY(:ids) ORDER BY reservation_id, id"
        ),
        {"ids": list(reservation_ids)},
    )
    return [HeldLine(r.reservation_id, r.level_id, r.sku_id, r.location_id, r.quantity) for r in rows]


def _line_payload(lines: Iterable[HeldLine]) -> list[dict[str, Any]]:
    return [
        {"sku_id": str(ln.sku_id), "location_id": str(ln.location_id), "quantity": ln.quantity}
        for ln in lines
    ]


@dataclass(frozen=True, slots=True)
class HeldReservation:
    id: uuid.UUID
    order_id: uuid.UUID
    status: str
    expires_at: datetime
    release_reason: str | None


async def release_held(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    reservations: Sequence[HeldReservation],
    lines: Sequence[HeldLine],
    levels: dict[uuid.UUID, LevelState],
    reason: str,
    now: datetime,
) -> None:
    """Give back the quantities of locked reservations (levels locked too), mark them released
    and publish `stock.released`. Levels are written by the caller (`write_levels`)."""
    by_reservation: dict[uuid.UUID, list[HeldLine]] = {}
    for ln in lines:
        by_reservation.setdefault(ln.reservation_id, []).append(ln)
    for res in reservations:
        held = by_reservation.get(res.id, [])
        for ln in held:
            lv = levels[ln.level_id]
            if res.status == "committed":
                lv.committed -= ln.quantity
            else:
                lv.reserved -= ln.quantity
            lv.dirty = True
        await add_event(
            session, SCHEMA, events.released(tenant_id, res.id, res.order_id, reason, _line_payload(held))
        )
    if reservations:
        await session.execute(
            text(
                "UPDATE stock.reservations SET status = 'released', release_reason = :reason, "
                "released_at = :now "
                "WHERE id = ANY(:ids)"
            ),
            {"reason": reason, "now": now, "ids": [r.id for r in reservations]},
        )


async def _expired_touching(
    session: AsyncSession, sku_ids: Sequence[uuid.UUID], now: datetime
) -> list[HeldReservation]:
    """Expired active reservations holding any of these SKUs, locked (SKIP LOCKED: never waits)."""
    if not sku_ids:
        return []
    rows = await session.execute(
        text(
            "SELECT r.id, r.order_id, r.status, r.expires_at, r.release_reason FROM stock.reservations r "
            "WHERE r.status = 'active' AND r.expires_at <= :now AND EXISTS ("
            "  SELECT 1 FROM stock.reservation_lines l "
            "  WHERE l.reservation_id = r.id AND l.sku_id = ANY(:skus)) "
            "ORDER BY r.id FOR UPDATE OF r SKIP LOCKED"
        ),
        {"now": now, "skus": list(set(sku_ids))},
    )
    return [HeldReservation(r.id, r.order_id, r.status, r.expires_at, r.release_reason) for r in rows]


async def release_expired_for_skus(
    session: AsyncSession, tenant_id: uuid.UUID, sku_ids: Sequence[uuid.UUID], now: datetime
) -> tuple[list[HeldReservation], list[HeldLine]]:
    """Step 1 of a write touching these SKUs: lock their dead reservations (the caller then locks
    their levels along with its own and calls `release_held`)."""
    expired = await _expired_touching(session, sku_ids, now)
    return expired, await _lines_of(session, [r.id for r in expired])


# --------------------------------------------------------------------------- reserve


async def _candidates(
    session: AsyncSession, sellers: Sequence[uuid.UUID]
) -> dict[uuid.UUID | None, list[Candidate]]:
    """Per seller: its active warehouses plus the tenant's active platform locations (the
    platform's allocatable stock of a seller's SKU is that seller's goods). Seller None: every
    active warehouse and platform location."""
    rows = (
        await session.execute(
            text(
                "SELECT id, organization_id, kind, priority, region, postal_code, latitude, longitude "
                "FROM stock.locations WHERE active AND kind IN ('warehouse', 'platform')"
            )
        )
    ).all()
    out: dict[uuid.UUID | None, list[Candidate]] = {}
    wanted: list[uuid.UUID | None] = [*sellers, None]
    for seller in wanted:
        out[seller] = [
            Candidate(r.id, r.priority, Place(r.region, r.postal_code, r.latitude, r.longitude))
            for r in rows
            if seller is None or r.kind == "platform" or r.organization_id == seller
        ]
    return out


async def reserve_orders(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    orders: Sequence[PlacedOrder],
    *,
    now: datetime | None = None,
) -> list[ReserveOutcome]:
    """Reserve stock for each order (all lines or none), in one transaction; publish
    `stock.reserved` / `stock.reservation_failed`. An order already known (reserved, failed,
    released before it was placed) is a `duplicate`: nothing changes."""
    now = now or utcnow()
    if not orders:
        return []
    ttl = await reservation_ttl(session, tenant_id)
    planned: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = {}
    rows: list[dict[str, Any]] = []
    for order in orders:
        if order.order_id in planned:
            continue
        seconds = (
            order.reserve_for_seconds if order.reserve_for_seconds and order.reserve_for_seconds > 0 else ttl
        )
        expires = now + timedelta(seconds=min(seconds, MAX_RESERVE_SECONDS))
        rid = uuid.uuid4()
        planned[order.order_id] = (rid, expires)
        rows.append(
            {
                "id": rid,
                "tenant_id": tenant_id,
                "order_id": order.order_id,
                "seller_organization_id": order.seller_organization_id,
                "status": "active",
                "expires_at": expires,
                "created_at": now,
            }
        )
    # unnest: one short statement for any batch size (a multi-row VALUES is compiled per size)
    claimed = set(
        (
            await session.scalars(
                text(
                    "INSERT INTO stock.reservations "
                    "(id, tenant_id, order_id, seller_organization_id, status, expires_at, created_at) "
                    "SELECT id, :tenant, order_id, seller, 'active', expires_at, :now FROM unnest("
                    "CAST(:ids AS uuid[]), CAST(:orders AS uuid[]), CAST(:sellers AS uuid[]), "
                    "CAST(:expires AS timestamptz[])) AS r(id, order_id, seller, expires_at) "
                    "ON CONFLICT (tenant_id, order_id) DO NOTHING RETURNING order_id"
                ),
                {
                    "tenant": tenant_id,
                    "now": now,
                    "ids": [r["id"] for r in rows],
                    "orders": [r["order_id"] for r in rows],
                    "sellers": [r["seller_organization_id"] for r in rows],
                    "expires": [r["expires_at"] for r in rows],
                },
            )
        ).all()
    )
    outcomes: list[ReserveOutcome] = []
    todo: list[PlacedOrder] = []
    seen: set[uuid.UUID] = set()
    for order in orders:
        if order.order_id in claimed and order.order_id not in seen:
            seen.add(order.order_id)
            todo.append(order)
        else:
            outcomes.append(ReserveOutcome(order.order_id, None, "duplicate"))
    if not todo:
        return outcomes

    sellers = sorted({o.seller_organization_id for o in todo if o.seller_organization_id}, key=str)
    candidates = await _candidates(session, sellers)
    sku_ids = sorted({ln.sku_id for o in todo for ln in o.lines}, key=str)
    expired, expired_lines = await release_expired_for_skus(session, tenant_id, sku_ids, now)
    location_ids = {c.location_id for cs in candidates.values() for c in cs}
    levels = await lock_levels(
        session, ids=[ln.level_id for ln in expired_lines], sku_ids=sku_ids, location_ids=location_ids
    )
    await release_held(session, tenant_id, expired, expired_lines, levels, "expired", now)
    by_key = {(lv.sku_id, lv.location_id): lv for lv in levels.values()}

    new_lines: list[dict[str, Any]] = []
    failed: list[tuple[uuid.UUID, str]] = []
    published: list[EventEnvelope] = []
    for order in todo:
        rid, expires = planned[order.order_id]
        outcome = _reserve_one(order, candidates, by_key, rid, expires)
        outcomes.append(outcome)
        if outcome.status == "reserved":
            for pick in outcome.picks:
                lv = by_key[(pick.sku_id, pick.location_id)]
                new_lines.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant_id,
                        "reservation_id": rid,
                        "line_id": pick.line_id[:64],
                        "sku_id": lv.sku_id,
                        "location_id": lv.location_id,
                        "level_id": lv.id,
                        "quantity": pick.quantity,
                    }
                )
            published.append(events.reserved(tenant_id, rid, order.order_id, expires, outcome.allocations))
        else:
            failed.append((rid, outcome.reason or INSUFFICIENT_STOCK))
            published.append(
                events.reservation_failed(
                    tenant_id, order.order_id, outcome.reason or "", outcome.short_lines
                )
            )
    await add_events(session, published)
    await write_levels(session, tenant_id, levels.values())
    if new_lines:
        await session.execute(
            text(
                "INSERT INTO stock.reservation_lines "
                "(id, tenant_id, reservation_id, line_id, sku_id, location_id, level_id, quantity) "
                "SELECT id, :tenant, reservation_id, line_id, sku_id, location_id, level_id, quantity "
                "FROM unnest("
                "CAST(:ids AS uuid[]), CAST(:reservations AS uuid[]), CAST(:line_ids AS text[]), "
                "CAST(:skus AS uuid[]), CAST(:locations AS uuid[]), CAST(:levels AS uuid[]), "
                "CAST(:quantities AS int[])) "
                "AS l(id, reservation_id, line_id, sku_id, location_id, level_id, quantity)"
            ),
            {
                "tenant": tenant_id,
                **{
                    name: [line[key] for line in new_lines]
                    for name, key in (
                        ("ids", "id"),
                        ("reservations", "reservation_id"),
                        ("line_ids", "line_id"),
                        ("skus", "sku_id"),
                        ("locations", "location_id"),
                        ("levels", "level_id"),
                        ("quantities", "quantity"),
                    )
                },
            },
        )
    if failed:
        await session.execute(
            text(
                "UPDATE stock.reservations r SET status = 'failed', failure_reason = f.reason "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[])) AS f(id, reason) "
                "WHERE r.id = f.id"
            ),
            {"ids": [rid for rid, _ in failed], "reasons": [reason for _, reason in failed]},
        )
    return outcomes


def _reserve_one(
    order: PlacedOrder,
    candidates: dict[uuid.UUID | None, list[Candidate]],
    by_key: dict[tuple[uuid.UUID, uuid.UUID], LevelState],
    reservation_id: uuid.UUID,
    expires: datetime,
) -> ReserveOutcome:
    cands = candidates.get(order.seller_organization_id) or []
    all_lines = [(ln.line_id, str(ln.sku_id), ln.quantity) for ln in order.lines] + list(order.bad_lines)

    def failure(reason: str, available_of: dict[str, int]) -> ReserveOutcome:
        return ReserveOutcome(
            order.order_id,
            None,
            "failed",
            reason=reason,
            short_lines=[
                {"line_id": lid, "sku_id": sku, "requested": qty, "available": available_of.get(sku, 0)}
                for lid, sku, qty in all_lines
            ],
        )

    cand_ids = {c.location_id for c in cands}
    stock: dict[tuple[uuid.UUID, uuid.UUID], int] = {
        key: lv.available for key, lv in by_key.items() if key[1] in cand_ids
    }
    totals: dict[str, int] = {}
    for (sku, _loc), qty in stock.items():
        totals[str(sku)] = totals.get(str(sku), 0) + qty
    if not cands:
        return failure(NO_LOCATION, totals)
    known = {sku for sku, _loc in stock}
    if order.bad_lines or any(ln.sku_id not in known for ln in order.lines) or not all_lines:
        return failure(UNKNOWN_SKU, totals)
    if any(ln.quantity <= 0 for ln in order.lines):
        return failure(INSUFFICIENT_STOCK, totals)
    result = allocate(order.lines, cands, stock, order.destination)
    if not isinstance(result, Allocation):
        return failure(INSUFFICIENT_STOCK, totals)
    allocations: list[dict[str, Any]] = []
    for pick in result.picks:
        lv = by_key[(pick.sku_id, pick.location_id)]
        lv.reserved += pick.quantity
        lv.dirty = True
        allocations.append(
            {
                "line_id": pick.line_id,
                "sku_id": str(pick.sku_id),
                "location_id": str(pick.location_id),
                "quantity": pick.quantity,
            }
        )
    return ReserveOutcome(
        order.order_id,
        reservation_id,
        "reserved",
        allocations=allocations,
        expires_at=expires,
        picks=list(result.picks),
    )


# --------------------------------------------------------------------------- commit / release


async def _lock_reservation(
    session: AsyncSession, order_id: uuid.UUID | None, reservation_id: uuid.UUID | None
) -> HeldReservation | None:
    if order_id is None and reservation_id is None:
        return None
    where = "order_id = :order" if order_id is not None else "id = :rid"
    row = (
        await session.execute(
            text(
                "SELECT id, order_id, status, expires_at, release_reason FROM stock.reservations "
                f"WHERE {where} FOR UPDATE"
            ),
            {"order": order_id, "rid": reservation_id},
        )
    ).first()
    return (
        HeldReservation(row.id, row.order_id, row.status, row.expires_at, row.release_reason) if row else None
    )


async def commit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID | None,
    reservation_id: uuid.UUID | None = None,
    *,
    now: datetime | None = None,
) -> str:
    """reserved -> committed for a live reservation (`stock.committed`); a dead or unknown one
    gets `stock.commit_failed` (an expired one is released first, `stock.released` expired).
    Returns what happened: committed, already_committed or the failure reason."""
    now = now or utcnow()
    res = await _lock_reservation(session, order_id, reservation_id)
    order = order_id or (res.order_id if res else None)
    if res is None or res.status == "failed":
        if order is not None:
            await add_event(
                session,
                SCHEMA,
                events.commit_failed(
                    tenant_id, res.id if res else reservation_id, order, UNKNOWN_RESERVATION
                ),
            )
        return UNKNOWN_RESERVATION
    if res.status == "committed":
        return "already_committed"
    if res.status == "released":
        reason = RESERVATION_EXPIRED if res.release_reason == "expired" else RESERVATION_RELEASED
        await add_event(session, SCHEMA, events.commit_failed(tenant_id, res.id, res.order_id, reason))
        return reason
    lines = await _lines_of(session, [res.id])
    levels = await lock_levels(session, ids=[ln.level_id for ln in lines])
    if res.expires_at <= now:
        await release_held(session, tenant_id, [res], lines, levels, "expired", now)
        await write_levels(session, tenant_id, levels.values())
        await add_event(
            session, SCHEMA, events.commit_failed(tenant_id, res.id, res.order_id, RESERVATION_EXPIRED)
        )
        return RESERVATION_EXPIRED
    for ln in lines:
        lv = levels[ln.level_id]
        lv.reserved -= ln.quantity
        lv.committed += ln.quantity
        lv.dirty = True
    await write_levels(session, tenant_id, levels.values())
    await session.execute(
        text("UPDATE stock.reservations SET status = 'committed', committed_at = :now WHERE id = :id"),
        {"now": now, "id": res.id},
    )
    await add_event(session, SCHEMA, events.committed(tenant_id, res.id, res.order_id))
    return "committed"


async def release(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    order_id: uuid.UUID,
    reason: str,
    *,
    include_committed: bool,
    now: datetime | None = None,
) -> str:
    """Release the order's reservation if it is active (or committed, when `include_committed`):
    `stock.released` with `reason`. An order with no reservation yet gets a released tombstone,
    so a late `orders.placed` never reserves for it. Returns released / nothing / tombstone."""
    now = now or utcnow()
    res = await _lock_reservation(session, order_id, None)
    if res is None:
        tombstone = (
            insert(Reservation)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                order_id=order_id,
                status="released",
                expires_at=now,
                release_reason=reason,
                released_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "order_id"])
            .returning(Reservation.id)
        )
        if await session.scalar(tombstone) is not None:
            return "tombstone"
        # A concurrent `orders.placed` (another consumer) inserted the reservation after our read
        # and committed while the insert waited on it: read it again (a fresh snapshot) and release.
        res = await _lock_reservation(session, order_id, None)
        if res is None:
            return "tombstone"
    if res.status not in ({"active", "committed"} if include_committed else {"active"}):
        return "nothing"
    if res.status == "active" and res.expires_at <= now:
        reason = "expired"  # it died on its own first; say so
    lines = await _lines_of(session, [res.id])
    levels = await lock_levels(session, ids=[ln.level_id for ln in lines])
    await release_held(session, tenant_id, [res], lines, levels, reason, now)
    await write_levels(session, tenant_id, levels.values())
    return "released"


async def release_expired_batch(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, now: datetime | None = None
) -> int:
    """Release up to `limit` expired active reservations of this tenant (SKIP LOCKED: several
    sweepers share the work). Returns how many it released."""
    now = now or utcnow()
    rows = await session.execute(
        text(
            "SELECT id, order_id, status, expires_at, release_reason FROM stock.reservations "
            "WHERE status = 'active' AND expires_at <= :now ORDER BY expires_at, id LIMIT :limit "
            "FOR UPDATE SKIP LOCKED"
        ).bindparams(bindparam("limit")),
        {"now": now, "limit": limit},
    )
    held = [HeldReservation(r.id, r.order_id, r.status, r.expires_at, r.release_reason) for r in rows]
    if not held:
        return 0
    lines = await _lines_of(session, [r.id for r in held])
    levels = await lock_levels(session, ids=[ln.level_id for ln in lines])
    await release_held(session, tenant_id, held, lines, levels, "expired", now)
    await write_levels(session, tenant_id, levels.values())
    return len(held)
