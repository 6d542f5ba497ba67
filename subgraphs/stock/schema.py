# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the stock subgraph: thin types over `service.py` and `reservations.py`.

Entities: Location, StockLevel, Reservation (`@key(fields: "id")`) and the catalog's `Sku`
extended with `availability` (buyers: a quantity and a status) and `stockLevels` (sellers: every
number, `stock:read` and the location's organization in the caller's data scope).
Mutations take one `input` and return a payload with `userErrors { field message code }`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.federation import Schema
from strawberry.federation.schema_directives import RequiresScopes

from shared.errors import ConflictError, FieldError, UserInputError
from shared.events.follow import StreamEvent
from shared.graphql import (
    CONNECTION_LIST_SIZE,
    FEDERATION_VERSION,
    TENANT_ID_DESCRIPTION,
    Connection,
    Info,
    PageArgs,
    UserError,
    tenant_id_of,
    user_errors,
)
from shared.graphql.ids import graphql_id as _id
from shared.graphql.ids import optional_graphql_id as _opt_id
from shared.idempotency import run_once
from subgraphs.stock import loaders, models, service
from subgraphs.stock import sync as stock_sync
from subgraphs.stock.event_feed import LEVEL_EVENTS, STOCK_STREAM
from subgraphs.stock.quantities import status_of

READ = [["stock:read"]]
ADJUST = [["stock:adjust"]]


def _uuid_or_none(value: strawberry.ID | str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _parse_id(value: strawberry.ID | str, field: str) -> uuid.UUID:
    parsed = _uuid_or_none(value)
    if parsed is None:
        raise UserInputError([FieldError(tuple(field.split(".")), "not a valid id", "INVALID")])
    return parsed


def _may_read_levels(info: Info, organization_id: uuid.UUID) -> bool:
    principal = info.context.principal
    return (
        principal is not None
        and principal.has_scope("stock:read")
        and service.may_manage(principal, organization_id)
    )


# --------------------------------------------------------------------------- types


@strawberry.enum(description="What a location holds.")
class LocationKind(Enum):
    WAREHOUSE = "warehouse"
    PLATFORM = "platform"
    SHOP = "shop"


@strawberry.enum(description="Buyer-facing stock status.")
class AvailabilityStatus(Enum):
    IN_STOCK = "IN_STOCK"
    LOW = "LOW"
    OUT_OF_STOCK = "OUT_OF_STOCK"


def _status(available: int, low_threshold: int) -> AvailabilityStatus:
    return AvailabilityStatus(status_of(available, low_threshold).value)


@strawberry.enum
class ReservationStatus(Enum):
    ACTIVE = "active"
    COMMITTED = "committed"
    RELEASED = "released"
    FAILED = "failed"


@strawberry.type(description="Where a location is.")
class Address:
    country: str | None
    region: str | None
    postal_code: str | None
    city: str | None
    latitude: float | None
    longitude: float | None


@strawberry.federation.type(
    keys=["id"], description="A warehouse, the platform's stock, or a shop's display."
)
class Location:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    organization_id: strawberry.ID
    code: str
    name: str
    kind: LocationKind
    priority: int = strawberry.field(description="Allocation tries lower priorities first.")
    address: Address
    active: bool
    source_location_id: strawberry.ID | None = strawberry.field(
        description="Shops: where their stock comes from."
    )
    display_share_percent: int | None
    display_cap: int | None

    @classmethod
    def from_model(cls, row: models.Location) -> Location:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            organization_id=_id(row.organization_id),
            code=row.code,
            name=row.name,
            kind=LocationKind(row.kind),
            priority=row.priority,
            address=Address(
                country=row.country,
                region=row.region,
                postal_code=row.postal_code,
                city=row.city,
                latitude=row.latitude,
                longitude=row.longitude,
            ),
            active=row.active,
            source_location_id=_opt_id(row.source_location_id),
            display_share_percent=row.display_share_percent,
            display_cap=row.display_cap,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Location | None:
        location_id = _uuid_or_none(id)
        if location_id is None:
            return None
        row = await info.context.loaders.get(loaders.location_loader).load(location_id)
        return cls.from_model(row) if row else None


@strawberry.federation.type(keys=["id"], description="Quantities of one SKU at one location (sellers only).")
class StockLevel:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    sku_id: strawberry.ID
    location: Location
    on_hand: int
    reserved: int = strawberry.field(description="Held by live reservations (expired ones already excluded).")
    committed: int
    incoming: int
    safety_stock: int
    low_threshold: int
    available: int = strawberry.field(description="onHand - reserved - committed - safetyStock, at least 0.")
    status: AvailabilityStatus
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, view: service.LevelView) -> StockLevel:
        row = view.row
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            sku_id=_id(row.sku_id),
            location=Location.from_model(view.location),
            on_hand=row.on_hand,
            reserved=view.reserved,
            committed=row.committed,
            incoming=row.incoming,
            safety_stock=row.safety_stock,
            low_threshold=row.low_threshold,
            available=view.available,
            status=_status(view.available, row.low_threshold),
            version=row.version,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> StockLevel | None:
        level_id = _uuid_or_none(id)
        if level_id is None:
            return None
        async with info.context.session() as session:
            view = await service.get_level_view(session, level_id)
        if view is None or not _may_read_levels(info, view.location.organization_id):
            return None
        return cls.of(view)


@strawberry.type
class ReservationLine:
    line_id: str
    sku_id: strawberry.ID
    location_id: strawberry.ID
    quantity: int


@strawberry.federation.type(keys=["id"], description="Stock held for one order (all lines or none).")
class Reservation:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    order_id: strawberry.ID
    status: ReservationStatus
    expires_at: datetime
    failure_reason: str | None
    release_reason: str | None
    created_at: datetime
    committed_at: datetime | None
    released_at: datetime | None

    @classmethod
    def from_model(cls, row: models.Reservation, now: datetime | None = None) -> Reservation:
        status = row.status
        if status == "active" and row.expires_at <= (now or datetime.now(row.expires_at.tzinfo)):
            status = "released"  # dead: counted as released until the sweeper says so
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            order_id=_id(row.order_id),
            status=ReservationStatus(status),
            expires_at=row.expires_at,
            failure_reason=row.failure_reason,
            release_reason=row.release_reason or ("expired" if status != row.status else None),
            created_at=row.created_at,
            committed_at=row.committed_at,
            released_at=row.released_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Reservation | None:
        rid = _uuid_or_none(id)
        if rid is None:
            return None
        row = await info.context.loaders.get(loaders.reservation_loader).load(rid)
        return cls.from_model(row) if row else None

    @strawberry.field
    async def lines(self, info: Info) -> list[ReservationLine]:
        rows = await info.context.loaders.get(loaders.reservation_lines_loader).load(uuid.UUID(self.id))
        return [
            ReservationLine(
                line_id=r.line_id, sku_id=_id(r.sku_id), location_id=_id(r.location_id), quantity=r.quantity
            )
            for r in rows
        ]


@strawberry.type(description="What a buyer may order of a SKU (never the seller's numbers).")
class Availability:
    available: int
    status: AvailabilityStatus
    location_id: strawberry.ID | None


@strawberry.federation.type(keys=["id"], description="A catalog SKU, with its stock.")
class Sku:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Sku:
        return cls(id=id)

    @strawberry.field(
        description="Available quantity and status, at one location (a shop shows its share of its source) "
        "or over every active warehouse and platform location."
    )
    async def availability(self, info: Info, location_id: strawberry.ID | None = None) -> Availability:
        sku_id = _uuid_or_none(self.id)
        if sku_id is None:
            return Availability(available=0, status=AvailabilityStatus.OUT_OF_STOCK, location_id=location_id)
        views = await info.context.loaders.get(loaders.sku_levels_loader).load(sku_id)
        location = None
        locations: dict[uuid.UUID, models.Location] = {}
        if location_id is not None:
            lid = _uuid_or_none(location_id)
            location = await info.context.loaders.get(loaders.location_loader).load(lid) if lid else None
            if location is None:
                return Availability(
                    available=0, status=AvailabilityStatus.OUT_OF_STOCK, location_id=location_id
                )
            if location.kind == "shop" and location.source_location_id is not None:
                source = await info.context.loaders.get(loaders.location_loader).load(
                    location.source_location_id
                )
                if source is not None:
                    locations[source.id] = source
        view = service.availability_from(views, location, locations)
        return Availability(
            available=view.available,
            status=_status(view.available, view.low_threshold),
            location_id=location_id,
        )

    @strawberry.federation.field(
        requires_scopes=READ,
        description="Every level of this SKU at the caller's own locations (platform admins: all). "
        "Sellers only.",
    )
    async def stock_levels(self, info: Info) -> list[StockLevel]:
        sku_id = _uuid_or_none(self.id)
        principal = info.context.principal
        if sku_id is None or principal is None or not principal.has_scope("stock:read"):
            return []  # the gateway never asks without the scope; refuse anyway
        views = await info.context.loaders.get(loaders.sku_levels_loader).load(sku_id)
        return [StockLevel.of(v) for v in views if _may_read_levels(info, v.location.organization_id)]


@strawberry.type
class StockSettings:
    reservation_ttl_seconds: int


# --------------------------------------------------------------------------- queries


@strawberry.type
class Query:
    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        authenticated=True, description="Locations of the tenant, by code.")
    async def locations(
        self,
        info: Info,
        organization_id: strawberry.ID | None = None,
        kind: LocationKind | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Location]:
        settings = info.context.settings
        page = PageArgs.parse(
            first, after, default=settings.page_size_default, maximum=settings.page_size_max
        )
        org = _uuid_or_none(organization_id)
        if organization_id is not None and org is None:
            return Connection.build([], limit=page.limit, total_count=0, has_previous=False)
        async with info.context.session() as session:
            rows, total = await service.list_locations(
                session,
                organization_id=org,
                kind=kind.value if kind else None,
                limit=page.limit,
                after=page.after,
            )
        return Connection.build(
            [(Location.from_model(r), key) for r, key in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(authenticated=True)
    async def location(self, info: Info, id: strawberry.ID) -> Location | None:
        return await Location.resolve_reference(info, id)

    @strawberry.federation.field(requires_scopes=READ)
    async def stock_level(self, info: Info, id: strawberry.ID) -> StockLevel | None:
        return await StockLevel.resolve_reference(info, id)

    @strawberry.federation.field(
        requires_scopes=READ, description="The reservation of an order (its seller only)."
    )
    async def reservation_for_order(self, info: Info, order_id: strawberry.ID) -> Reservation | None:
        oid = _uuid_or_none(order_id)
        if oid is None:
            return None
        async with info.context.session() as session:
            row = await session.scalar(select(models.Reservation).where(models.Reservation.order_id == oid))
        if row is None:
            return None
        principal = info.context.principal
        if not service.is_platform_admin(principal) and (
            row.seller_organization_id is None
            or not service.may_manage(principal, row.seller_organization_id)
        ):
            return None
        return Reservation.from_model(row)

    @strawberry.federation.field(authenticated=True)
    async def stock_settings(self, info: Info) -> StockSettings:
        async with info.context.session() as session:
            ttl = await service.get_ttl(session, info.context.require_tenant())
        return StockSettings(reservation_ttl_seconds=ttl)


# --------------------------------------------------------------------------- mutations


@strawberry.input
class AddressInput:
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@strawberry.input
class LocationCreateInput:
    organization_id: strawberry.ID
    code: str
    name: str
    kind: LocationKind
    priority: int = 100
    address: AddressInput | None = None
    active: bool = True
    source_location_id: strawberry.ID | None = None
    display_share_percent: int | None = None
    display_cap: int | None = None


@strawberry.type
class LocationPayload:
    location: Location | None
    user_errors: list[UserError]


@strawberry.enum
class AdjustmentKind(Enum):
    RECEIPT = "receipt"
    COUNT = "count"
    DAMAGE = "damage"


@strawberry.input(description="RECEIPT/DAMAGE: units in/out; COUNT: the counted (new absolute) on-hand.")
class StockAdjustInput:
    kind: AdjustmentKind
    sku_id: strawberry.ID
    location_id: strawberry.ID
    quantity: int
    reason: str
    version: int | None = strawberry.field(
        default=None, description="The level's version you read (compare-and-set)."
    )
    idempotency_key: str | None = None


@strawberry.input
class StockReceiptLineInput:
    sku_id: strawberry.ID
    location_id: strawberry.ID
    quantity: int
    reason: str
    version: int | None = None


@strawberry.input
class StockReceiveBulkInput:
    lines: list[StockReceiptLineInput]
    idempotency_key: str | None = None


@strawberry.input
class StockTransferInput:
    sku_id: strawberry.ID
    from_location_id: strawberry.ID
    to_location_id: strawberry.ID
    quantity: int
    reason: str
    from_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input
class StockLevelConfigureInput:
    sku_id: strawberry.ID
    location_id: strawberry.ID
    safety_stock: int | None = None
    low_threshold: int | None = None
    incoming: int | None = None
    version: int | None = None


@strawberry.input
class StockSettingsUpdateInput:
    reservation_ttl_seconds: int


@strawberry.type
class StockLevelsPayload:
    levels: list[StockLevel]
    replayed: bool
    user_errors: list[UserError]


@strawberry.input(description="One counted level from an ERP: the on-hand of a SKU at a location.")
class StockSyncRowInput:
    external_reference: str = strawberry.field(
        description="The ERP's id of this row: applied once; a replay is a no-op, other content an error."
    )
    sku_id: strawberry.ID
    location: str = strawberry.field(description="The location's code (or its id).")
    on_hand: int = strawberry.field(description="The counted on-hand (absolute, not a delta).")


@strawberry.input
class SyncStockLevelsInput:
    rows: list[StockSyncRowInput]


@strawberry.enum
class SyncRowOutcome(Enum):
    APPLIED = "APPLIED"
    UNCHANGED = "UNCHANGED"
    REPLAYED = "REPLAYED"


@strawberry.type
class StockSyncRowResult:
    external_reference: str
    level_id: strawberry.ID
    on_hand: int
    outcome: SyncRowOutcome
    movement_id: strawberry.ID | None


@strawberry.type
class SyncStockLevelsPayload:
    applied: int = strawberry.field(description="Rows that changed an on-hand (one movement each).")
    unchanged: int = strawberry.field(description="New rows whose on-hand was already that.")
    replayed: int = strawberry.field(description="Rows synced before (or repeated in this call).")
    results: list[StockSyncRowResult] = strawberry.field(description="One per row, in input order.")
    user_errors: list[UserError]


@strawberry.type
class StockSettingsPayload:
    settings: StockSettings | None
    user_errors: list[UserError]


def _conflict(exc: ConflictError, field: str = "version") -> UserError:
    return UserError(field=[field], message=exc.message, code="VERSION_CONFLICT")


async def _levels_payload(info: Info, level_ids: list[uuid.UUID], replayed: bool) -> StockLevelsPayload:
    async with info.context.session() as session:
        views = [await service.get_level_view(session, lid) for lid in level_ids]
    return StockLevelsPayload(
        levels=[StockLevel.of(v) for v in views if v is not None], replayed=replayed, user_errors=[]
    )


async def _run_adjustment(
    info: Info, operation: str, key: str | None, request: dict[str, Any], produce: Any
) -> StockLevelsPayload:
    tenant = info.context.require_tenant()
    try:
        async with info.context.session() as session:
            if key is None:
                response, replayed = await produce(session), False
            else:
                result = await run_once(
                    session,
                    schema=models.SCHEMA,
                    tenant_id=tenant,
                    key=key,
                    operation=operation,
                    request=request,
                    produce=lambda: produce(session),
                )
                response, replayed = result.response, result.replayed
    except UserInputError as exc:
        return StockLevelsPayload(levels=[], replayed=False, user_errors=user_errors(exc))
    except ConflictError as exc:
        return StockLevelsPayload(levels=[], replayed=False, user_errors=[_conflict(exc)])
    return await _levels_payload(info, [uuid.UUID(i) for i in response["level_ids"]], replayed)


def _request_of(obj: Any) -> dict[str, Any]:
    return dict(strawberry.asdict(obj))


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(requires_scopes=ADJUST)
    async def location_create(self, info: Info, input: LocationCreateInput) -> LocationPayload:
        address = input.address or AddressInput()
        try:
            data = service.NewLocation(
                organization_id=_parse_id(input.organization_id, "organizationId"),
                code=input.code,
                name=input.name,
                kind=input.kind.value,
                priority=input.priority,
                country=address.country,
                region=address.region,
                postal_code=address.postal_code,
                city=address.city,
                latitude=address.latitude,
                longitude=address.longitude,
                active=input.active,
                source_location_id=_parse_id(input.source_location_id, "sourceLocationId")
                if input.source_location_id is not None
                else None,
                display_share_percent=input.display_share_percent,
                display_cap=input.display_cap,
            )
            async with info.context.session() as session:
                row = await service.create_location(
                    session, info.context.require_tenant(), info.context.principal, data
                )
        except UserInputError as exc:
            return LocationPayload(location=None, user_errors=user_errors(exc))
        return LocationPayload(location=Location.from_model(row), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=ADJUST, description="A receipt, a count or damage, with a reason."
    )
    async def stock_adjust(self, info: Info, input: StockAdjustInput) -> StockLevelsPayload:
        try:
            item = service.Adjustment(
                kind=input.kind.value,
                sku_id=_parse_id(input.sku_id, "skuId"),
                location_id=_parse_id(input.location_id, "locationId"),
                quantity=input.quantity,
                reason=input.reason,
                version=input.version,
            )
        except UserInputError as exc:
            return StockLevelsPayload(levels=[], replayed=False, user_errors=user_errors(exc))
        tenant = info.context.require_tenant()

        async def produce(session: Any) -> dict[str, Any]:
            done = await service.adjust(session, tenant, info.context.principal, [item])
            return {"level_ids": [str(r.level_id) for r in done]}

        return await _run_adjustment(info, "stockAdjust", input.idempotency_key, _request_of(input), produce)

    @strawberry.federation.mutation(requires_scopes=ADJUST, description="Many receipt lines, all or none.")
    async def stock_receive_bulk(self, info: Info, input: StockReceiveBulkInput) -> StockLevelsPayload:
        try:
            if not input.lines:
                raise UserInputError([FieldError(("lines",), "at least one line", "BLANK")])
            items = [
                service.Adjustment(
                    kind="receipt",
                    sku_id=_parse_id(line.sku_id, f"lines.{i}.skuId"),
                    location_id=_parse_id(line.location_id, f"lines.{i}.locationId"),
                    quantity=line.quantity,
                    reason=line.reason,
                    version=line.version,
                )
                for i, line in enumerate(input.lines)
            ]
        except UserInputError as exc:
            return StockLevelsPayload(levels=[], replayed=False, user_errors=user_errors(exc))
        tenant = info.context.require_tenant()

        async def produce(session: Any) -> dict[str, Any]:
            done = await service.adjust(
                session,
                tenant,
                info.context.principal,
                items,
                reference=uuid.uuid4(),
                field_prefix=("lines",),
            )
            return {"level_ids": list(dict.fromkeys(str(r.level_id) for r in done))}

        return await _run_adjustment(
            info, "stockReceiveBulk", input.idempotency_key, _request_of(input), produce
        )

    @strawberry.federation.mutation(requires_scopes=ADJUST, description="Move units between two locations.")
    async def stock_transfer(self, info: Info, input: StockTransferInput) -> StockLevelsPayload:
        try:
            data = service.Transfer(
                sku_id=_parse_id(input.sku_id, "skuId"),
                from_location_id=_parse_id(input.from_location_id, "fromLocationId"),
                to_location_id=_parse_id(input.to_location_id, "toLocationId"),
                quantity=input.quantity,
                reason=input.reason,
                from_version=input.from_version,
            )
        except UserInputError as exc:
            return StockLevelsPayload(levels=[], replayed=False, user_errors=user_errors(exc))
        tenant = info.context.require_tenant()

        async def produce(session: Any) -> dict[str, Any]:
            out, into = await service.transfer(session, tenant, info.context.principal, data)
            return {"level_ids": [str(out.level_id), str(into.level_id)]}

        return await _run_adjustment(
            info, "stockTransfer", input.idempotency_key, _request_of(input), produce
        )

    @strawberry.federation.mutation(
        requires_scopes=ADJUST, description="Safety stock, low threshold, incoming."
    )
    async def stock_level_configure(self, info: Info, input: StockLevelConfigureInput) -> StockLevelsPayload:
        try:
            data = service.LevelSettings(
                sku_id=_parse_id(input.sku_id, "skuId"),
                location_id=_parse_id(input.location_id, "locationId"),
                safety_stock=input.safety_stock,
                low_threshold=input.low_threshold,
                incoming=input.incoming,
                version=input.version,
            )
        except UserInputError as exc:
            return StockLevelsPayload(levels=[], replayed=False, user_errors=user_errors(exc))
        tenant = info.context.require_tenant()

        async def produce(session: Any) -> dict[str, Any]:
            level = await service.configure_level(session, tenant, info.context.principal, data)
            return {"level_ids": [str(level.id)]}

        return await _run_adjustment(info, "stockLevelConfigure", None, {}, produce)

    @strawberry.federation.mutation(
        requires_scopes=ADJUST,
        description=(
            f"ERP inbound sync: counted on-hand levels, up to {stock_sync.MAX_ROWS} rows, all or none, "
            "idempotent per externalReference."
        ),
    )
    async def sync_stock_levels(self, info: Info, input: SyncStockLevelsInput) -> SyncStockLevelsPayload:
        rows = [
            stock_sync.SyncRow(r.external_reference, str(r.sku_id), r.location, r.on_hand) for r in input.rows
        ]
        try:
            async with info.context.session() as session:
                done = await stock_sync.sync_levels(
                    session, info.context.require_tenant(), info.context.principal, rows
                )
        except UserInputError as exc:
            return SyncStockLevelsPayload(
                applied=0, unchanged=0, replayed=0, results=[], user_errors=user_errors(exc)
            )
        except ConflictError as exc:
            return SyncStockLevelsPayload(
                applied=0, unchanged=0, replayed=0, results=[], user_errors=[_conflict(exc, "rows")]
            )
        results = [
            StockSyncRowResult(
                external_reference=o.external_reference,
                level_id=_id(o.level_id),
                on_hand=o.on_hand,
                outcome=SyncRowOutcome(o.outcome),
                movement_id=_opt_id(o.movement_id),
            )
            for o in done
        ]
        return SyncStockLevelsPayload(
            applied=sum(o.outcome == "APPLIED" for o in done),
            unchanged=sum(o.outcome == "UNCHANGED" for o in done),
            replayed=sum(o.outcome == "REPLAYED" for o in done),
            results=results,
            user_errors=[],
        )

    @strawberry.federation.mutation(
        requires_scopes=ADJUST, description="Tenant stock settings (platform admins)."
    )
    async def stock_settings_update(
        self, info: Info, input: StockSettingsUpdateInput
    ) -> StockSettingsPayload:
        try:
            async with info.context.session() as session:
                ttl = await service.set_ttl(
                    session,
                    info.context.require_tenant(),
                    info.context.principal,
                    input.reservation_ttl_seconds,
                )
        except UserInputError as exc:
            return StockSettingsPayload(settings=None, user_errors=user_errors(exc))
        return StockSettingsPayload(settings=StockSettings(reservation_ttl_seconds=ttl), user_errors=[])


# --------------------------------------------------------------------------- subscriptions (partner ERPs)


@strawberry.enum(description="Why a stock level changed: an adjustment (receipt, count, transfer...) or "
                 "its available quantity falling to its low threshold.")
class StockEventType(Enum):
    ADJUSTED = "adjusted"
    LOW = "low"


@strawberry.type(
    description="One stock-level event of the STOCK stream. `level` is the level as it is now; "
    "the event's own fields are the numbers of the change."
)
class StockLevelChange:
    cursor: str = strawberry.field(description="This event's stream position: resume after it.")
    id: strawberry.ID = strawberry.field(description="The event's id (idempotency key for the ERP).")
    type: StockEventType
    occurred_at: datetime
    level_id: strawberry.ID
    sku: Sku
    location_id: strawberry.ID
    delta: int | None
    on_hand: int | None
    available: int | None
    low_threshold: int | None
    reason: str | None

    @strawberry.field
    async def level(self, info: Info) -> StockLevel | None:
        return await StockLevel.resolve_reference(info, self.level_id)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _level_change(event: StreamEvent) -> StockLevelChange | None:
    envelope = event.envelope
    if envelope.event not in LEVEL_EVENTS:
        return None
    data = envelope.data
    return StockLevelChange(
        cursor=event.cursor,
        id=_id(envelope.id),
        type=StockEventType(envelope.event),
        occurred_at=envelope.occurred_at,
        level_id=strawberry.ID(str(data.get("level_id") or envelope.subject_id)),
        sku=Sku(id=strawberry.ID(str(data.get("sku_id")))),
        location_id=strawberry.ID(str(data.get("location_id"))),
        delta=_int_or_none(data.get("delta")),
        on_hand=_int_or_none(data.get("on_hand")),
        available=_int_or_none(data.get("available")),
        low_threshold=_int_or_none(data.get("low_threshold")),
        reason=data.get("reason") if isinstance(data.get("reason"), str) else None,
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        directives=[RequiresScopes(scopes=READ)],
        description="Live stock-level changes at the caller's own locations (platform admins: all), "
        "from `cursor` on (docs/integration.md); filter by type, location or SKU.",
    )
    async def stock_level_changed(
        self,
        info: Info,
        cursor: str | None = None,
        types: list[StockEventType] | None = None,
        location_id: strawberry.ID | None = None,
        sku_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[StockLevelChange, None]:
        wanted = {t.value for t in types or ()} or set(LEVEL_EVENTS)
        async for event in STOCK_STREAM.follow(info, cursor=cursor, events=wanted):
            item = _level_change(event)
            if item is None:
                continue
            if location_id is not None and item.location_id != location_id:
                continue
            if sku_id is not None and item.sku.id != sku_id:
                continue
            yield item


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Location, StockLevel, Reservation, Sku],
    federation_version=FEDERATION_VERSION,
)
