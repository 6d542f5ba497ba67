"""Domain rules of logistics over the database: plain inputs -> rows, events in the same
transaction, `LogisticsError` for business failures. No GraphQL here.

Every shipment change locks the order's projection row first (`_lock_order`), so two shipments of
one order moving at once still compute `all_lines_shipped` / `all_shipments_delivered` from each
other's committed state.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from shared.events import add_event
from subgraphs.logistics import carriers as carrier_adapters
from subgraphs.logistics import events, routing
from subgraphs.logistics.errors import LogisticsError
from subgraphs.logistics.models import (
    SCHEMA,
    Carrier,
    JobTenant,
    OrderProjection,
    PickWave,
    Shipment,
    ShipmentTransition,
    TenantSettings,
    TrackingEvent,
    Warehouse,
)
from subgraphs.logistics.shipment_states import (
    REROUTABLE,
    WITH_CARRIER,
    Resolution,
    ShipmentStatus,
    TrackingOutcome,
    TrackingStatus,
    apply_tracking,
    can_transition,
    path_to,
    resolution_target,
)

DEFAULT_WAVE_SIZE = 50
DEFAULT_WAVE_INTERVAL = 900
DEFAULT_STALE_AFTER = 72 * 3600


def now_utc() -> datetime:
    return datetime.now(UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Settings:
    weights: routing.Weights
    wave_size: int
    wave_interval_seconds: int
    stale_after_seconds: int


async def tenant_settings(session: AsyncSession, tenant_id: uuid.UUID) -> Settings:
    row = (
        await session.execute(select(TenantSettings).where(TenantSettings.tenant_id == tenant_id))
    ).scalar()
    if row is None:
        return Settings(routing.Weights(), DEFAULT_WAVE_SIZE, DEFAULT_WAVE_INTERVAL, DEFAULT_STALE_AFTER)
    return Settings(
        routing.Weights.from_json(row.routing_weights),
        row.wave_size,
        row.wave_interval_seconds,
        row.stale_after_seconds,
    )


async def update_settings(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    weights: dict[str, str] | None = None,
    wave_size: int | None = None,
    wave_interval_seconds: int | None = None,
    stale_after_seconds: int | None = None,
) -> Settings:
    current = await tenant_settings(session, tenant_id)
    new_weights = current.weights
    if weights:
        try:
            new_weights = routing.Weights.from_json({**current.weights.to_json(), **weights})
        except routing.RoutingInputError as exc:
            raise LogisticsError(exc.code, str(exc), f"weights.{exc.field}") from None
    size = current.wave_size if wave_size is None else wave_size
    interval = current.wave_interval_seconds if wave_interval_seconds is None else wave_interval_seconds
    stale = current.stale_after_seconds if stale_after_seconds is None else stale_after_seconds
    if not 1 <= size <= 10_000:
        raise LogisticsError("INVALID", "must be between 1 and 10000", "waveSize")
    if not 0 <= interval <= 7 * 86400:
        raise LogisticsError("INVALID", "must be between 0 and 604800", "waveIntervalSeconds")
    if not 60 <= stale <= 60 * 86400:
        raise LogisticsError("INVALID", "must be between 60 and 5184000", "staleAfterSeconds")
    values = {
        "routing_weights": new_weights.to_json(),
        "wave_size": size,
        "wave_interval_seconds": interval,
        "stale_after_seconds": stale,
        "updated_at": now_utc(),
    }
    stmt = insert(TenantSettings).values(id=uuid.uuid4(), tenant_id=tenant_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))
    await ensure_job_tenant(session, tenant_id)
    return Settings(new_weights, size, interval, stale)


async def ensure_job_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    await session.execute(insert(JobTenant).values(tenant_id=tenant_id).on_conflict_do_nothing())


# --------------------------------------------------------------------------- warehouses, carriers


def parse_amount(value: str, field: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise LogisticsError("INVALID", "must be a decimal amount", field) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e15"):
        raise LogisticsError("INVALID", "must be a non-negative amount", field)
    if amount != amount.quantize(Decimal("0.0001")):
        raise LogisticsError("INVALID", "at most 4 decimal places", field)
    return amount


def _country(value: str, field: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise LogisticsError("INVALID", "must be an ISO 3166 two-letter country code", field)
    return code


def _currency(value: str, field: str = "currency") -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise LogisticsError("INVALID", "must be an ISO 4217 currency code", field)
    return code


async def upsert_warehouse(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    location_id: uuid.UUID,
    name: str,
    country: str,
    region: str | None,
    cost_per_parcel: str,
    currency: str,
) -> Warehouse:
    if not name.strip():
        raise LogisticsError("BLANK", "must not be blank", "name")
    values = {
        "name": name.strip()[:200],
        "country": _country(country, "country"),
        "region": (region or "").strip()[:100] or None,
        "cost_per_parcel": parse_amount(cost_per_parcel, "costPerParcel"),
        "currency": _currency(currency),
    }
    stmt = insert(Warehouse).values(id=uuid.uuid4(), tenant_id=tenant_id, location_id=location_id, **values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["tenant_id", "location_id"], set_=values)
    )
    row = (
        await session.execute(
            select(Warehouse)
            .where(Warehouse.tenant_id == tenant_id, Warehouse.location_id == location_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return row


async def create_carrier(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    code: str,
    name: str,
    kind: str,
    quality: str,
    price_per_parcel: str,
    currency: str,
    countries: Sequence[str],
) -> Carrier:
    code = code.strip().upper()
    if not code or len(code) > 40:
        raise LogisticsError("INVALID", "must be 1 to 40 characters", "code")
    if not name.strip():
        raise LogisticsError("BLANK", "must not be blank", "name")
    if kind not in carrier_adapters.KINDS:
        raise LogisticsError(
            "INVALID", f"unknown carrier kind (known: {', '.join(carrier_adapters.KINDS)})", "kind"
        )
    try:
        score = Decimal(quality)
    except InvalidOperation:
        raise LogisticsError("INVALID", "must be a decimal between 0 and 1", "quality") from None
    if not score.is_finite() or not 0 <= score <= 1:
        raise LogisticsError("INVALID", "must be a decimal between 0 and 1", "quality")
    taken = (
        await session.execute(select(Carrier.id).where(Carrier.tenant_id == tenant_id, Carrier.code == code))
    ).first()
    if taken is not None:
        raise LogisticsError("TAKEN", "a carrier with this code exists", "code")
    row = Carrier(
        tenant_id=tenant_id,
        code=code,
        name=name.strip()[:200],
        kind=kind,
        quality=score.quantize(Decimal("0.0001")),
        price_per_parcel=parse_amount(price_per_parcel, "pricePerParcel"),
        currency=_currency(currency),
        countries=sorted({_country(c, f"countries.{i}") for i, c in enumerate(countries)}),
        webhook_secret=secrets.token_urlsafe(32),
        active=True,
    )
    session.add(row)
    await session.flush()
    await ensure_job_tenant(session, tenant_id)
    return row


# --------------------------------------------------------------------------- the order projection


async def _upsert_projection(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, **values: Any
) -> OrderProjection:
    """Insert or update the order's projection with `values`, then lock and return the row. The
    upsert takes the row lock, so concurrent consumers of one order serialize here."""
    stmt = insert(OrderProjection).values(id=uuid.uuid4(), tenant_id=tenant_id, order_id=order_id, **values)
    stmt = (
        stmt.on_conflict_do_update(index_elements=["tenant_id", "order_id"], set_=values)
        if values
        else (stmt.on_conflict_do_nothing())
    )
    await session.execute(stmt)
    await ensure_job_tenant(session, tenant_id)
    return await _lock_order(session, tenant_id, order_id)


async def _lock_order(session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID) -> OrderProjection:
    return (
        await session.execute(
            select(OrderProjection)
            .where(OrderProjection.tenant_id == tenant_id, OrderProjection.order_id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


def _clean_lines(raw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        line_id, sku_id, quantity = item.get("line_id"), item.get("sku_id"), item.get("quantity")
        if line_id and sku_id and isinstance(quantity, int) and quantity > 0:
            out.append({"line_id": str(line_id), "sku_id": str(sku_id), "quantity": quantity})
    return out


def _clean_allocations(raw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        location = _uuid(item.get("location_id"))
        quantity = item.get("quantity")
        if (
            item.get("line_id")
            and item.get("sku_id")
            and location
            and isinstance(quantity, int)
            and quantity > 0
        ):
            out.append(
                {
                    "line_id": str(item["line_id"]),
                    "sku_id": str(item["sku_id"]),
                    "location_id": str(location),
                    "quantity": quantity,
                }
            )
    return out


async def record_order_placed(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, data: dict[str, Any]
) -> None:
    delivery = data.get("delivery") if isinstance(data.get("delivery"), dict) else None
    number = data.get("number")
    projection = await _upsert_projection(
        session,
        tenant_id,
        order_id,
        number=str(number)[:64] if number is not None else None,
        buyer_organization_id=_uuid(data.get("buyer_organization_id")),
        seller_organization_id=_uuid(data.get("seller_organization_id")),
        delivery=delivery,
        lines=_clean_lines(data.get("lines")),
    )
    await try_route(session, projection)


async def record_allocation(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, allocations: Any
) -> None:
    projection = await _upsert_projection(
        session, tenant_id, order_id, allocations=_clean_allocations(allocations)
    )
    await try_route(session, projection)


async def record_order_confirmed(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, at: datetime
) -> None:
    projection = await _upsert_projection(session, tenant_id, order_id)
    if projection.confirmed_at is None:
        projection.confirmed_at = at
        await session.flush()
    await try_route(session, projection)


async def record_order_cancelled(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, at: datetime
) -> None:
    """Cancel what has not left yet; a parcel the carrier has is not recalled here."""
    projection = await _upsert_projection(session, tenant_id, order_id)
    if projection.cancelled_at is None:
        projection.cancelled_at = at
    for shipment in await _order_shipments(session, tenant_id, order_id):
        if can_transition(ShipmentStatus(shipment.status), ShipmentStatus.CANCELLED):
            await _cancel(session, shipment, source="ORDER", reason="order cancelled")


# --------------------------------------------------------------------------- routing


async def _routing_inputs(
    session: AsyncSession, tenant_id: uuid.UUID
) -> tuple[list[routing.WarehouseInfo], list[routing.CarrierInfo]]:
    warehouses = (await session.execute(select(Warehouse).where(Warehouse.tenant_id == tenant_id))).scalars()
    carriers = (
        await session.execute(select(Carrier).where(Carrier.tenant_id == tenant_id, Carrier.active.is_(True)))
    ).scalars()
    return (
        [routing.WarehouseInfo(str(w.location_id), w.country, w.cost_per_parcel) for w in warehouses],
        [
            routing.CarrierInfo(
                str(c.id), c.code, c.quality, c.price_per_parcel, frozenset(c.countries or ())
            )
            for c in carriers
        ],
    )


def _order_inputs(
    projection: OrderProjection,
) -> tuple[list[routing.Line], list[routing.Allocation], str | None]:
    lines = [routing.Line(li["line_id"], li["sku_id"], li["quantity"]) for li in projection.lines or []]
    allocations = [
        routing.Allocation(a["line_id"], a["sku_id"], a["location_id"], a["quantity"])
        for a in projection.allocations or []
    ]
    country = (projection.delivery or {}).get("country")
    return lines, allocations, str(country).upper() if country else None


async def decide(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    projection: OrderProjection,
    weights: routing.Weights | None = None,
) -> routing.Decision:
    if weights is None:
        weights = (await tenant_settings(session, tenant_id)).weights
    warehouses, carriers = await _routing_inputs(session, tenant_id)
    lines, allocations, country = _order_inputs(projection)
    return routing.route(lines, allocations, warehouses, carriers, country=country, weights=weights)


async def simulate_routing(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID, weights: dict[str, str] | None
) -> routing.Decision:
    """What routing would do for the order with the tenant's rules (or `weights` over them); no effect."""
    projection = (
        await session.execute(
            select(OrderProjection).where(
                OrderProjection.tenant_id == tenant_id, OrderProjection.order_id == order_id
            )
        )
    ).scalar()
    if projection is None or not projection.lines:
        raise LogisticsError("NOT_FOUND", "no such order known to logistics", "orderId")
    if not projection.allocations:
        raise LogisticsError("NOT_ALLOCATED", "stock has not allocated this order yet", "orderId")
    current = (await tenant_settings(session, tenant_id)).weights
    try:
        rule_set = routing.Weights.from_json({**current.to_json(), **(weights or {})})
    except routing.RoutingInputError as exc:
        raise LogisticsError(exc.code, str(exc), f"weights.{exc.field}") from None
    try:
        return await decide(session, tenant_id, projection, rule_set)
    except routing.RoutingError as exc:
        raise LogisticsError(exc.code, str(exc), "orderId") from None


async def try_route(session: AsyncSession, projection: OrderProjection) -> list[Shipment]:
    """Route and create the shipments once the order is confirmed, its lines and allocations known."""
    if (
        projection.routed_at is not None
        or projection.cancelled_at is not None
        or projection.confirmed_at is None
        or not projection.lines
        or not projection.allocations
    ):
        return []
    tenant_id = projection.tenant_id
    try:
        decision = await decide(session, tenant_id, projection)
    except routing.RoutingError as exc:
        projection.routing_decision = {"error": exc.code, "message": str(exc)}
        await session.flush()
        return []
    now = now_utc()
    projection.routed_at = now
    projection.routing_decision = decision.chosen.to_json()
    created: list[Shipment] = []
    for parcel in decision.chosen.parcels:
        shipment = Shipment(
            tenant_id=tenant_id,
            order_id=projection.order_id,
            location_id=uuid.UUID(parcel.location_id),
            carrier_id=uuid.UUID(parcel.carrier_id) if parcel.carrier_id else None,
            status=ShipmentStatus.CREATED.value,
            lines=[
                {"line_id": li.line_id, "sku_id": li.sku_id, "quantity": li.quantity} for li in parcel.lines
            ],
            created_at=now,
            updated_at=now,
        )
        session.add(shipment)
        created.append(shipment)
    await session.flush()
    for shipment in created:
        session.add(
            ShipmentTransition(
                tenant_id=tenant_id,
                shipment_id=shipment.id,
                from_status=None,
                to_status=ShipmentStatus.CREATED.value,
                source="ROUTING",
                reason=None,
                occurred_at=now,
            )
        )
        await _emit(session, shipment, events.SHIPMENT_CREATED, now, None)
    await session.flush()
    return created


# --------------------------------------------------------------------------- shipments


async def _order_shipments(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> list[Shipment]:
    rows = await session.execute(
        select(Shipment)
        .where(Shipment.tenant_id == tenant_id, Shipment.order_id == order_id)
        .order_by(Shipment.created_at, Shipment.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def order_progress(
    session: AsyncSession, tenant_id: uuid.UUID, order_id: uuid.UUID
) -> tuple[bool, bool]:
    """(all lines shipped, all shipments delivered) for the order, from its shipments now."""
    projection = (
        await session.execute(
            select(OrderProjection).where(
                OrderProjection.tenant_id == tenant_id, OrderProjection.order_id == order_id
            )
        )
    ).scalar_one()
    shipped: dict[str, int] = defaultdict(int)
    # A shipment replaced by a re-routed one no longer counts: its replacement carries the lines.
    shipments = [s for s in await _order_shipments(session, tenant_id, order_id) if s.replaced_by_id is None]
    for s in shipments:
        if ShipmentStatus(s.status) in WITH_CARRIER:
            for li in s.lines:
                shipped[li["line_id"]] += int(li["quantity"])
    ordered = projection.lines or []
    all_shipped = bool(ordered) and all(shipped[li["line_id"]] >= li["quantity"] for li in ordered)
    live = [
        s
        for s in shipments
        if s.status
        not in (ShipmentStatus.CANCELLED.value, ShipmentStatus.RETURNED.value, ShipmentStatus.LOST.value)
    ]
    all_delivered = (
        all_shipped and bool(live) and all(s.status == ShipmentStatus.DELIVERED.value for s in live)
    )
    return all_shipped, all_delivered


async def _emit(
    session: AsyncSession,
    shipment: Shipment,
    event: str,
    at: datetime,
    reason: str | None,
    extra: dict[str, Any] | None = None,
) -> None:
    carrier_code = None
    if shipment.carrier_id is not None:
        carrier = await session.get(Carrier, shipment.carrier_id)
        carrier_code = carrier.code if carrier else None
    all_shipped, all_delivered = await order_progress(session, shipment.tenant_id, shipment.order_id)
    await add_event(
        session,
        SCHEMA,
        events.shipment_event(
            event,
            shipment.tenant_id,
            shipment_id=shipment.id,
            order_id=shipment.order_id,
            location_id=shipment.location_id,
            carrier=carrier_code,
            tracking_number=shipment.tracking_number,
            lines=list(shipment.lines),
            all_lines_shipped=all_shipped,
            all_shipments_delivered=all_delivered,
            status=shipment.status,
            reason=reason,
            occurred_at=at,
            extra=extra,
        ),
    )


async def _move(
    session: AsyncSession,
    shipment: Shipment,
    target: ShipmentStatus,
    *,
    source: str,
    reason: str | None,
    occurred_at: datetime,
) -> None:
    """One legal step: status, timestamps, the transition record and the event."""
    current = ShipmentStatus(shipment.status)
    if not can_transition(current, target):
        raise LogisticsError(
            "INVALID_TRANSITION", f"a {current.value} shipment cannot become {target.value}", "shipmentId"
        )
    shipment.status = target.value
    shipment.updated_at = now_utc()
    if target == ShipmentStatus.DISPATCHED:
        shipment.dispatched_at = occurred_at
        shipment.last_progress_at = occurred_at
    elif target == ShipmentStatus.IN_TRANSIT:
        shipment.last_progress_at = occurred_at
        shipment.exception_reason = None
    elif target == ShipmentStatus.DELIVERED:
        shipment.delivered_at = occurred_at
        shipment.delivered_by = source
    elif target == ShipmentStatus.EXCEPTION:
        shipment.exception_reason = (reason or "EXCEPTION")[:40]
        shipment.exception_at = occurred_at
    session.add(
        ShipmentTransition(
            tenant_id=shipment.tenant_id,
            shipment_id=shipment.id,
            from_status=current.value,
            to_status=target.value,
            source=source,
            reason=reason,
            occurred_at=occurred_at,
        )
    )
    await session.flush()
    event = events.STATUS_EVENTS.get(target.value)
    if event is not None:
        await _emit(session, shipment, event, occurred_at, reason)


async def locked_shipment(session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID) -> Shipment:
    row = (await session.execute(select(Shipment.order_id).where(Shipment.id == shipment_id))).first()
    if row is None:
        raise LogisticsError("NOT_FOUND", "no such shipment", "shipmentId")
    await _lock_order(session, tenant_id, row.order_id)
    return (
        await session.execute(
            select(Shipment)
            .where(Shipment.id == shipment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def get_shipment(session: AsyncSession, shipment_id: uuid.UUID) -> Shipment | None:
    return await session.get(Shipment, shipment_id)


async def create_label(session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID) -> Shipment:
    shipment = await locked_shipment(session, tenant_id, shipment_id)
    if shipment.status != ShipmentStatus.CREATED.value:
        raise LogisticsError(
            "INVALID_TRANSITION", f"a {shipment.status} shipment cannot get a label", "shipmentId"
        )
    if shipment.carrier_id is None:
        raise LogisticsError("NO_CARRIER", "routing found no carrier for this shipment", "shipmentId")
    carrier = await session.get(Carrier, shipment.carrier_id)
    assert carrier is not None
    projection = await _lock_order(session, tenant_id, shipment.order_id)
    warehouse = (
        await session.execute(
            select(Warehouse).where(
                Warehouse.tenant_id == tenant_id, Warehouse.location_id == shipment.location_id
            )
        )
    ).scalar()
    delivery = projection.delivery or {}
    request = carrier_adapters.LabelRequest(
        shipment_id=shipment.id,
        order_number=projection.number or str(projection.order_id)[:8],
        carrier_code=carrier.code,
        carrier_name=carrier.name,
        ship_from=carrier_adapters.Address(
            warehouse.name if warehouse else f"Location {str(shipment.location_id)[:8]}",
            (warehouse.region,) if warehouse and warehouse.region else (),
            warehouse.country if warehouse else None,
        ),
        ship_to=carrier_adapters.Address(
            str(delivery.get("name") or "Buyer"),
            tuple(
                str(p)
                for p in (
                    delivery.get("street"),
                    " ".join(str(x) for x in (delivery.get("postal_code"), delivery.get("city")) if x),
                    delivery.get("region"),
                )
                if p
            ),
            delivery.get("country"),
        ),
        items=[(li["sku_id"], li["quantity"]) for li in shipment.lines],
        created_at=now_utc(),
    )
    try:
        label = carrier_adapters.adapter_for(carrier.kind).create_label(request)
    except carrier_adapters.CarrierAdapterError as exc:
        raise LogisticsError(exc.code, str(exc), "shipmentId") from None
    shipment.tracking_number = label.tracking_number
    shipment.label_pdf = label.document
    shipment.label_zpl = label.zpl
    await _move(
        session, shipment, ShipmentStatus.LABELLED, source="CARRIER", reason=None, occurred_at=now_utc()
    )
    return shipment


async def label_document(session: AsyncSession, shipment_id: uuid.UUID) -> bytes | None:
    row = (
        await session.execute(
            select(Shipment).where(Shipment.id == shipment_id).options(undefer(Shipment.label_pdf))
        )
    ).scalar()
    return row.label_pdf if row else None


async def label_zpl(session: AsyncSession, shipment_id: uuid.UUID) -> str | None:
    row = (
        await session.execute(
            select(Shipment).where(Shipment.id == shipment_id).options(undefer(Shipment.label_zpl))
        )
    ).scalar()
    return row.label_zpl if row else None


async def dispatch(session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID) -> Shipment:
    shipment = await locked_shipment(session, tenant_id, shipment_id)
    await _move(
        session, shipment, ShipmentStatus.DISPATCHED, source="WAREHOUSE", reason=None, occurred_at=now_utc()
    )
    return shipment


async def _cancel(session: AsyncSession, shipment: Shipment, *, source: str, reason: str | None) -> None:
    if shipment.tracking_number and shipment.carrier_id:
        carrier = await session.get(Carrier, shipment.carrier_id)
        if carrier is not None:
            try:
                carrier_adapters.adapter_for(carrier.kind).cancel_label(shipment.tracking_number)
            except carrier_adapters.CarrierAdapterError as exc:
                raise LogisticsError(exc.code, str(exc), "shipmentId") from None
    await _move(
        session, shipment, ShipmentStatus.CANCELLED, source=source, reason=reason, occurred_at=now_utc()
    )


async def cancel(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID, reason: str | None
) -> Shipment:
    shipment = await locked_shipment(session, tenant_id, shipment_id)
    await _cancel(session, shipment, source="WAREHOUSE", reason=reason)
    return shipment


async def confirm_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, shipment_id: uuid.UUID, organization_id: uuid.UUID | None
) -> Shipment:
    """The buyer says the parcel arrived: only the order's buyer organization may."""
    shipment = await locked_shipment(session, tenant_id, shipment_id)
    projection = await _lock_order(session, tenant_id, shipment.order_id)
    if organization_id is None or projection.buyer_organization_id != organization_id:
        raise LogisticsError("FORBIDDEN", "only the buyer of the order confirms its delivery", "shipmentId")
    current = ShipmentStatus(shipment.status)
    if current == ShipmentStatus.DELIVERED:
        return shipment  # confirming twice changes nothing
    if current not in WITH_CARRIER:
        raise LogisticsError(
            "INVALID_TRANSITION", f"a {current.value} shipment has not been shipped", "shipmentId"
        )
    await _move(
        session, shipment, ShipmentStatus.DELIVERED, source="BUYER", reason=None, occurred_at=now_utc()
    )
    return shipment


async def raise_exception(
    session: AsyncSession, shipment: Shipment, reason: str, occurred_at: datetime, source: str
) -> None:
    await _move(
        session, shipment, ShipmentStatus.EXCEPTION, source=source, reason=reason, occurred_at=occurred_at
    )


async def resolve_exception(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    shipment_id: uuid.UUID,
    action: Resolution,
    note: str | None,
) -> Shipment:
    """Staff decide a shipment in EXCEPTION: retry delivery (back in transit, the progress clock
    restarts), return it to the sender, or mark it lost. The status event and
    `shipment_exception_resolved` are published; a returned or lost shipment can then be re-routed."""
    shipment = await locked_shipment(session, tenant_id, shipment_id)
    if shipment.status != ShipmentStatus.EXCEPTION.value:
        raise LogisticsError("NOT_IN_EXCEPTION", f"the shipment is {shipment.status}", "shipmentId")
    now = now_utc()
    reason = action.value if not note else f"{action.value}: {note.strip()[:200]}"
    await _move(session, shipment, resolution_target(action), source="STAFF", reason=reason, occurred_at=now)
    if action is Resolution.RETRY_DELIVERY:
        shipment.last_progress_at = now
    await _emit(session, shipment, events.SHIPMENT_EXCEPTION_RESOLVED, now, action.value)
    return shipment


async def reroute(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    shipment_id: uuid.UUID,
    *,
    carrier_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    reason: str | None,
) -> Shipment:
    """Replace a shipment whose carrier or warehouse failed by a new one with the same lines:
    another carrier (given, or the best other one serving the delivery country) and the same or
    another warehouse (only one where stock holds the units: stock committed each unit at one
    location). A CREATED or LABELLED shipment is cancelled first (its label voided); a
    CANCELLED, RETURNED or LOST one is replaced as it is. Publishes `shipment_cancelled` (if
    cancelled here), `shipment_created` and `shipment_rerouted` of the new shipment."""
    old = await locked_shipment(session, tenant_id, shipment_id)
    projection = await _lock_order(session, tenant_id, old.order_id)
    current = ShipmentStatus(old.status)
    if old.replaced_by_id is not None:
        raise LogisticsError("ALREADY_REROUTED", "this shipment was already replaced", "shipmentId")
    if projection.cancelled_at is not None:
        raise LogisticsError("ORDER_CANCELLED", "the order was cancelled", "shipmentId")
    if current not in REROUTABLE:
        hint = "resolve the exception first" if current == ShipmentStatus.EXCEPTION else "the carrier has it"
        raise LogisticsError(
            "INVALID_TRANSITION", f"a {current.value} shipment cannot be re-routed: {hint}", "shipmentId"
        )
    warehouses, carriers = await _routing_inputs(session, tenant_id)
    _, allocations, country = _order_inputs(projection)
    target_location = location_id or old.location_id
    if str(target_location) not in {w.location_id for w in warehouses}:
        raise LogisticsError("UNKNOWN_WAREHOUSE", "no such warehouse", "locationId")
    if target_location != old.location_id:
        used = [
            (li["sku_id"], str(s.location_id), int(li["quantity"]))
            for s in await _order_shipments(session, tenant_id, old.order_id)
            if s.id != old.id
            and s.replaced_by_id is None
            and s.status
            not in (ShipmentStatus.CANCELLED.value, ShipmentStatus.RETURNED.value, ShipmentStatus.LOST.value)
            for li in s.lines
        ]
        parcel = [routing.Line(li["line_id"], li["sku_id"], int(li["quantity"])) for li in old.lines]
        if not routing.location_covers(allocations, used, parcel, str(target_location)):
            raise LogisticsError(
                "NOT_ALLOCATED_THERE",
                "stock holds this parcel's units at another warehouse; move the stock first",
                "locationId",
            )
    if carrier_id is not None:
        chosen = next((c for c in carriers if c.id == str(carrier_id)), None)
        if chosen is None:
            raise LogisticsError("UNKNOWN_CARRIER", "no such active carrier", "carrierId")
        if not chosen.serves(country):
            raise LogisticsError(
                "CARRIER_DOES_NOT_SERVE", f"the carrier does not serve {country}", "carrierId"
            )
    else:
        weights = (await tenant_settings(session, tenant_id)).weights
        exclude = frozenset({str(old.carrier_id)} if old.carrier_id else set())
        chosen = routing.reroute_carrier(carriers, country, weights, exclude)
        if chosen is None:
            raise LogisticsError("NO_CARRIER", "no carrier serves the delivery country", "carrierId")
    why = (reason or "").strip()[:200] or "REROUTED"
    if current in (ShipmentStatus.CREATED, ShipmentStatus.LABELLED):
        await _cancel(session, old, source="STAFF", reason=f"REROUTED: {why}")
    now = now_utc()
    new = Shipment(
        tenant_id=tenant_id,
        order_id=old.order_id,
        location_id=target_location,
        carrier_id=uuid.UUID(chosen.id),
        status=ShipmentStatus.CREATED.value,
        lines=list(old.lines),
        replaces_id=old.id,
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    await session.flush()
    old.replaced_by_id = new.id
    session.add(
        ShipmentTransition(
            tenant_id=tenant_id,
            shipment_id=new.id,
            from_status=None,
            to_status=ShipmentStatus.CREATED.value,
            source="STAFF",
            reason=f"replaces {old.id}: {why}",
            occurred_at=now,
        )
    )
    await session.flush()
    await _emit(session, new, events.SHIPMENT_CREATED, now, why)
    await _emit(session, new, events.SHIPMENT_REROUTED, now, why, {"replaces_shipment_id": str(old.id)})
    return new


# --------------------------------------------------------------------------- tracking


@dataclass(frozen=True, slots=True)
class TrackingResult:
    outcome: str  # APPLIED | PROGRESS | STALE | IGNORED | DUPLICATE | UNKNOWN_SHIPMENT
    shipment_id: uuid.UUID | None


async def carrier_secret(session: AsyncSession, carrier_id: uuid.UUID) -> str | None:
    row = (await session.execute(select(Carrier.webhook_secret).where(Carrier.id == carrier_id))).first()
    return row.webhook_secret if row else None


async def apply_tracking_event(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    carrier_id: uuid.UUID,
    *,
    event_id: str,
    tracking_number: str,
    status: TrackingStatus,
    occurred_at: datetime,
) -> TrackingResult:
    """Record the carrier's event once (by its id) and move the shipment if it is newer than the
    newest event applied and a legal move; skipped steps are recorded as transitions."""
    claimed = (
        await session.execute(
            insert(TrackingEvent)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                carrier_id=carrier_id,
                carrier_event_id=event_id,
                tracking_number=tracking_number,
                status=status.value,
                occurred_at=occurred_at,
                outcome="PENDING",
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "carrier_id", "carrier_event_id"])
            .returning(TrackingEvent.id)
        )
    ).first()
    if claimed is None:
        return TrackingResult("DUPLICATE", None)
    found = (
        await session.execute(
            select(Shipment.id).where(
                Shipment.tracking_number == tracking_number, Shipment.carrier_id == carrier_id
            )
        )
    ).first()
    record = await session.get(TrackingEvent, claimed.id)
    assert record is not None
    if found is None:
        record.outcome = "UNKNOWN"
        return TrackingResult("UNKNOWN_SHIPMENT", None)
    shipment = await locked_shipment(session, tenant_id, found.id)
    record.shipment_id = shipment.id
    decision = apply_tracking(ShipmentStatus(shipment.status), shipment.last_tracking_at, status, occurred_at)
    record.outcome = decision.outcome.value
    if decision.outcome in (TrackingOutcome.APPLIED, TrackingOutcome.PROGRESS):
        shipment.last_tracking_at = occurred_at
        shipment.last_progress_at = occurred_at
    if decision.outcome == TrackingOutcome.APPLIED and decision.target is not None:
        reason = status.value if decision.target == ShipmentStatus.EXCEPTION else None
        for step in path_to(ShipmentStatus(shipment.status), decision.target):
            await _move(
                session,
                shipment,
                step,
                source="CARRIER",
                reason=reason if step == ShipmentStatus.EXCEPTION else None,
                occurred_at=occurred_at,
            )
        shipment.last_progress_at = occurred_at
    await session.flush()
    return TrackingResult(decision.outcome.value, shipment.id)


# --------------------------------------------------------------------------- reads


async def shipments_by_orders(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Shipment]]:
    out: dict[uuid.UUID, list[Shipment]] = defaultdict(list)
    rows = await session.execute(
        select(Shipment).where(Shipment.order_id.in_(order_ids)).order_by(Shipment.created_at, Shipment.id)
    )
    for s in rows.scalars():
        out[s.order_id].append(s)
    return out


async def transitions_of(
    session: AsyncSession, shipment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ShipmentTransition]]:
    out: dict[uuid.UUID, list[ShipmentTransition]] = defaultdict(list)
    rows = await session.execute(
        select(ShipmentTransition)
        .where(ShipmentTransition.shipment_id.in_(shipment_ids))
        .order_by(ShipmentTransition.seq)
    )
    for t in rows.scalars():
        out[t.shipment_id].append(t)
    return out


async def page_shipments(
    session: AsyncSession,
    *,
    limit: int,
    after: list[Any] | None,
    order_id: uuid.UUID | None = None,
    status: str | None = None,
    exceptions_only: bool = False,
) -> tuple[list[Shipment], int]:
    """Keyset page on (created_at, id); `exceptions_only`: the exception queue."""
    conditions: list[Any] = []
    if order_id is not None:
        conditions.append(Shipment.order_id == order_id)
    if exceptions_only:
        conditions.append(Shipment.status == ShipmentStatus.EXCEPTION.value)
    elif status is not None:
        conditions.append(Shipment.status == status)
    total = (
        await session.execute(select(func.count()).select_from(Shipment).where(*conditions))
    ).scalar_one()
    query = select(Shipment).where(*conditions)
    if after is not None:
        try:
            key = (datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1])))
        except (ValueError, IndexError):
            raise LogisticsError("INVALID", "invalid cursor", "after") from None
        query = query.where(tuple_(Shipment.created_at, Shipment.id) > key)
    rows = await session.execute(query.order_by(Shipment.created_at, Shipment.id).limit(limit + 1))
    return list(rows.scalars()), int(total)


def _after_key(after: list[Any] | None, kinds: tuple[type, ...]) -> tuple[Any, ...] | None:
    if after is None:
        return None
    try:
        values: list[Any] = []
        for raw, kind in zip(after, kinds, strict=True):
            if kind is datetime:
                values.append(datetime.fromisoformat(str(raw)))
            elif kind is uuid.UUID:
                values.append(uuid.UUID(str(raw)))
            else:
                values.append(str(raw))
        return tuple(values)
    except (ValueError, TypeError):
        raise LogisticsError("INVALID", "invalid cursor", "after") from None


async def page_carriers(
    session: AsyncSession, *, limit: int, after: list[Any] | None
) -> tuple[list[Carrier], int]:
    total = (await session.execute(select(func.count()).select_from(Carrier))).scalar_one()
    query = select(Carrier)
    key = _after_key(after, (str, uuid.UUID))
    if key is not None:
        query = query.where(tuple_(Carrier.code, Carrier.id) > key)
    rows = await session.execute(query.order_by(Carrier.code, Carrier.id).limit(limit + 1))
    return list(rows.scalars()), int(total)


async def page_waves(
    session: AsyncSession, *, limit: int, after: list[Any] | None, location_id: uuid.UUID | None
) -> tuple[list[PickWave], int]:
    conditions = [PickWave.location_id == location_id] if location_id is not None else []
    total = (
        await session.execute(select(func.count()).select_from(PickWave).where(*conditions))
    ).scalar_one()
    query = select(PickWave).where(*conditions)
    key = _after_key(after, (datetime, uuid.UUID))
    if key is not None:
        query = query.where(tuple_(PickWave.released_at, PickWave.id) > key)
    rows = await session.execute(query.order_by(PickWave.released_at, PickWave.id).limit(limit + 1))
    return list(rows.scalars()), int(total)


async def list_warehouses(session: AsyncSession) -> list[Warehouse]:
    return list((await session.execute(select(Warehouse).order_by(Warehouse.name, Warehouse.id))).scalars())


async def wave_shipments(session: AsyncSession, wave_id: uuid.UUID) -> list[Shipment]:
    rows = await session.execute(
        select(Shipment).where(Shipment.wave_id == wave_id).order_by(Shipment.created_at, Shipment.id)
    )
    return list(rows.scalars())
