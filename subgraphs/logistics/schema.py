# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the logistics subgraph: thin types over `service.py`.

Entities: Shipment, Carrier, PickWave (`@key(fields: "id")`) and the orders domain's `Order`
(same key) extended with `shipments`. Reading needs `orders:read`; warehouse work and logistics
configuration need the seller's `stock:adjust`; a buyer confirms delivery of its own order.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.federation import Schema

from shared.errors import BadUserInputError, UserInputError
from shared.graphql import (
    CONNECTION_LIST_SIZE,
    FEDERATION_VERSION,
    TENANT_ID_DESCRIPTION,
    Connection,
    Info,
    Money,
    PageArgs,
    UserError,
    tenant_id_of,
    user_error_at,
    user_errors,
)
from shared.graphql.ids import graphql_id as _id
from shared.graphql.ids import optional_graphql_id as _opt_id
from shared.idempotency import run_once
from subgraphs.logistics import loaders, models, routing, service
from subgraphs.logistics.errors import LogisticsError
from subgraphs.logistics.shipment_states import Resolution

READ = "orders:read"
WRITE = "stock:adjust"


def _user_error(exc: LogisticsError) -> UserError:
    return user_error_at(exc.field, exc.message, exc.code)


def _parse_id(value: strawberry.ID | str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise LogisticsError("INVALID", "Not a valid id.", field) from None


def _uuid_or_none(value: strawberry.ID | str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


@strawberry.enum(description="Where a parcel is (see shipment_states.py for the moves).")
class ShipmentStatus(Enum):
    CREATED = "CREATED"
    LABELLED = "LABELLED"
    DISPATCHED = "DISPATCHED"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"
    LOST = "LOST"


# --------------------------------------------------------------------------- types


@strawberry.type(description="Units of one order line in a parcel.")
class ShipmentLine:
    line_id: strawberry.ID
    sku_id: strawberry.ID
    quantity: int


def _lines(raw: list[dict[str, Any]]) -> list[ShipmentLine]:
    return [
        ShipmentLine(
            line_id=strawberry.ID(li["line_id"]), sku_id=strawberry.ID(li["sku_id"]), quantity=li["quantity"]
        )
        for li in raw
    ]


@strawberry.type(description="One recorded status change of a shipment.")
class ShipmentTransition:
    from_status: ShipmentStatus | None
    to_status: ShipmentStatus
    source: str = strawberry.field(description="ROUTING, WAREHOUSE, CARRIER, BUYER, MONITOR or ORDER.")
    reason: str | None
    occurred_at: datetime


@strawberry.federation.type(keys=["id"], description="A carrier or 3PL account of the tenant.")
class Carrier:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    code: str
    name: str
    kind: str = strawberry.field(description="The adapter: SANDBOX is built in.")
    quality: str = strawberry.field(description="0 to 1 (decimal string): delivery quality used by routing.")
    price_per_parcel: Money
    countries: list[str] = strawberry.field(description="Countries served; empty: everywhere.")
    active: bool

    @classmethod
    def from_model(cls, row: models.Carrier) -> Carrier:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            code=row.code,
            name=row.name,
            kind=row.kind,
            quality=format(row.quality, "f"),
            price_per_parcel=Money.of(row.price_per_parcel, row.currency),
            countries=list(row.countries or []),
            active=row.active,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Carrier | None:
        carrier_id = _uuid_or_none(id)
        row = await info.context.loaders.get(loaders.carrier_loader).load(carrier_id) if carrier_id else None
        return cls.from_model(row) if row else None


@strawberry.federation.type(keys=["id"], description="One parcel of an order, shipped from one location.")
class Shipment:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    order_id: strawberry.ID
    location_id: strawberry.ID = strawberry.field(
        description="The stock location (warehouse) it leaves from."
    )
    status: ShipmentStatus
    lines: list[ShipmentLine]
    tracking_number: str | None
    wave_id: strawberry.ID | None = strawberry.field(description="The pick wave it was released in.")
    dispatched_at: datetime | None
    delivered_at: datetime | None
    delivered_by: str | None = strawberry.field(description="CARRIER or BUYER.")
    exception_reason: str | None
    exception_at: datetime | None
    created_at: datetime
    replaces_shipment_id: strawberry.ID | None = strawberry.field(
        description="The shipment this one re-routes (its carrier or warehouse failed)."
    )
    replaced_by_shipment_id: strawberry.ID | None = strawberry.field(
        description="The re-routed shipment that replaced this one."
    )
    carrier_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: models.Shipment) -> Shipment:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            order_id=_id(row.order_id),
            location_id=_id(row.location_id),
            status=ShipmentStatus(row.status),
            lines=_lines(row.lines),
            tracking_number=row.tracking_number,
            wave_id=_opt_id(row.wave_id),
            dispatched_at=row.dispatched_at,
            delivered_at=row.delivered_at,
            delivered_by=row.delivered_by,
            exception_reason=row.exception_reason,
            exception_at=row.exception_at,
            created_at=row.created_at,
            replaces_shipment_id=_opt_id(row.replaces_id),
            replaced_by_shipment_id=_opt_id(row.replaced_by_id),
            carrier_id=row.carrier_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Shipment | None:
        shipment_id = _uuid_or_none(id)
        row = (
            await info.context.loaders.get(loaders.shipment_loader).load(shipment_id) if shipment_id else None
        )
        return cls.from_model(row) if row else None

    @strawberry.field(description="The carrier routing chose (null when none serves the destination).")
    async def carrier(self, info: Info) -> Carrier | None:
        if self.carrier_id is None:
            return None
        row = await info.context.loaders.get(loaders.carrier_loader).load(self.carrier_id)
        return Carrier.from_model(row) if row else None

    @strawberry.field(description="Every status change, oldest first.")
    async def transitions(self, info: Info) -> list[ShipmentTransition]:
        rows = await info.context.loaders.get(loaders.transitions_loader).load(uuid.UUID(self.id))
        return [
            ShipmentTransition(
                from_status=ShipmentStatus(t.from_status) if t.from_status else None,
                to_status=ShipmentStatus(t.to_status),
                source=t.source,
                reason=t.reason,
                occurred_at=t.occurred_at,
            )
            for t in rows
        ]

    @strawberry.federation.field(
        requires_scopes=[[WRITE]], description="The label document (PDF, base64), once labelled."
    )
    async def label_pdf_base64(self, info: Info) -> str | None:
        info.context.require_scope(WRITE)
        async with info.context.session() as session:
            document = await service.label_document(session, uuid.UUID(self.id))
        return base64.b64encode(document).decode() if document else None

    @strawberry.federation.field(
        requires_scopes=[[WRITE]], description="The same label in ZPL II (thermal printers), once labelled."
    )
    async def label_zpl(self, info: Info) -> str | None:
        info.context.require_scope(WRITE)
        async with info.context.session() as session:
            return await service.label_zpl(session, uuid.UUID(self.id))


@strawberry.type(description="Units of a SKU to pick for a wave.")
class PickListLine:
    sku_id: strawberry.ID
    quantity: int


@strawberry.federation.type(
    keys=["id"], description="A batch of shipments of one warehouse, picked together."
)
class PickWave:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    location_id: strawberry.ID
    released_at: datetime
    shipment_count: int
    trigger: str = strawberry.field(description="SIZE (the queue reached the wave size) or INTERVAL.")
    pick_list: list[PickListLine]

    @classmethod
    def from_model(cls, row: models.PickWave) -> PickWave:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            location_id=_id(row.location_id),
            released_at=row.released_at,
            shipment_count=row.shipment_count,
            trigger=row.trigger,
            pick_list=[
                PickListLine(sku_id=strawberry.ID(p["sku_id"]), quantity=p["quantity"]) for p in row.pick_list
            ],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PickWave | None:
        wave_id = _uuid_or_none(id)
        if wave_id is None:
            return None
        async with info.context.session() as session:
            row = await session.get(models.PickWave, wave_id)
        return cls.from_model(row) if row else None

    @strawberry.field(description="The shipments of the wave.")
    async def shipments(self, info: Info) -> list[Shipment]:
        async with info.context.session() as session:
            rows = await service.wave_shipments(session, uuid.UUID(self.id))
        return [Shipment.from_model(r) for r in rows]


@strawberry.federation.type(keys=["id"], description="An order of the orders domain, with its parcels.")
class Order:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Order:
        return cls(id=id)

    @strawberry.federation.field(requires_scopes=[[READ]], description="The order's shipments (parcels).")
    async def shipments(self, info: Info) -> list[Shipment]:
        info.context.require_scope(READ)
        order_id = _uuid_or_none(self.id)
        if order_id is None:
            return []
        rows = await info.context.loaders.get(loaders.order_shipments_loader).load(order_id)
        return [Shipment.from_model(r) for r in rows]


@strawberry.type(
    name="LogisticsWarehouse", description="A stock location as logistics sees it (stock owns the location)."
)
class Warehouse:
    location_id: strawberry.ID
    name: str
    country: str
    region: str | None
    cost_per_parcel: Money

    @classmethod
    def from_model(cls, row: models.Warehouse) -> Warehouse:
        return cls(
            location_id=_id(row.location_id),
            name=row.name,
            country=row.country,
            region=row.region,
            cost_per_parcel=Money.of(row.cost_per_parcel, row.currency),
        )


@strawberry.type(description="Routing weights (decimal strings): how much each factor costs.")
class RoutingWeights:
    parcels: str = strawberry.field(description="Per parcel beyond the first (splits).")
    warehouse_cost: str = strawberry.field(description="Times the warehouses' cost per parcel.")
    region: str = strawberry.field(description="Per parcel leaving from outside the delivery country.")
    carrier_price: str = strawberry.field(description="Times the carrier's price per parcel.")
    carrier_quality: str = strawberry.field(description="Times (1 - the carrier's quality).")

    @classmethod
    def of(cls, values: dict[str, str]) -> RoutingWeights:
        return cls(**values)


@strawberry.input(description="Weights to set; omitted ones keep their value.")
class RoutingWeightsInput:
    parcels: str | None = None
    warehouse_cost: str | None = None
    region: str | None = None
    carrier_price: str | None = None
    carrier_quality: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k in routing.WEIGHT_NAMES if (v := getattr(self, k)) is not None}


@strawberry.type
class LogisticsSettings:
    routing_weights: RoutingWeights
    wave_size: int = strawberry.field(
        description="A warehouse's queue becomes a wave at this many shipments."
    )
    wave_interval_seconds: int = strawberry.field(description="...or when its oldest has waited this long.")
    stale_after_seconds: int = strawberry.field(description="No tracking progress this long: an exception.")

    @classmethod
    def of(cls, s: service.Settings) -> LogisticsSettings:
        return cls(
            routing_weights=RoutingWeights.of(s.weights.to_json()),
            wave_size=s.wave_size,
            wave_interval_seconds=s.wave_interval_seconds,
            stale_after_seconds=s.stale_after_seconds,
        )


@strawberry.type(description="A parcel of a routing plan.")
class RoutingParcel:
    location_id: strawberry.ID
    carrier_id: strawberry.ID | None
    carrier_code: str | None
    lines: list[ShipmentLine]


@strawberry.type(description="A scored plan: lower score wins.")
class RoutingPlan:
    score: str
    breakdown: RoutingWeights = strawberry.field(description="The score's parts, factor by factor.")
    parcels: list[RoutingParcel]

    @classmethod
    def of(cls, plan: routing.Plan) -> RoutingPlan:
        data = plan.to_json()
        return cls(
            score=data["score"],
            breakdown=RoutingWeights.of(data["breakdown"]),
            parcels=[
                RoutingParcel(
                    location_id=strawberry.ID(p["location_id"]),
                    carrier_id=strawberry.ID(p["carrier_id"]) if p["carrier_id"] else None,
                    carrier_code=p["carrier_code"],
                    lines=_lines(p["lines"]),
                )
                for p in data["parcels"]
            ],
        )


@strawberry.type(description="What routing would do for an order with a rule set, without doing it.")
class RoutingSimulation:
    chosen: RoutingPlan | None
    candidates: list[RoutingPlan] = strawberry.field(
        description="Every feasible plan, best first (at most 20)."
    )
    user_errors: list[UserError]


# --------------------------------------------------------------------------- inputs and payloads


@strawberry.input
class RoutingSimulateInput:
    order_id: strawberry.ID
    weights: RoutingWeightsInput | None = strawberry.field(
        default=None, description="Weights to try over the tenant's (none: the tenant's rules)."
    )


@strawberry.input
class ShipmentActionInput:
    shipment_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.input
class ShipmentCancelInput:
    shipment_id: strawberry.ID
    reason: str | None = None


ExceptionResolution = strawberry.enum(
    Resolution,
    name="ShipmentExceptionResolution",
    description="What staff decide for a shipment in EXCEPTION.",
)


@strawberry.input
class ShipmentExceptionResolveInput:
    shipment_id: strawberry.ID
    resolution: ExceptionResolution  # type: ignore[valid-type]
    note: str | None = None


@strawberry.input
class ShipmentRerouteInput:
    shipment_id: strawberry.ID
    carrier_id: strawberry.ID | None = strawberry.field(
        default=None, description="null: the best other carrier serving the delivery country."
    )
    location_id: strawberry.ID | None = strawberry.field(
        default=None, description="null: the same warehouse (another only where stock holds the units)."
    )
    reason: str | None = None


@strawberry.type
class ShipmentPayload:
    shipment: Shipment | None
    user_errors: list[UserError]


@strawberry.input
class CarrierCreateInput:
    code: str
    name: str
    kind: str = "SANDBOX"
    quality: str = "0.9"
    price_per_parcel: str = "0"
    currency: str = "EUR"
    countries: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class CarrierCreatePayload:
    carrier: Carrier | None
    webhook_secret: str | None = strawberry.field(
        description="The tracking webhook's signing secret: shown once, give it to the carrier."
    )
    user_errors: list[UserError]


@strawberry.input(name="LogisticsWarehouseUpsertInput")
class WarehouseUpsertInput:
    location_id: strawberry.ID
    name: str
    country: str
    region: str | None = None
    cost_per_parcel: str = "0"
    currency: str = "EUR"


@strawberry.type(name="LogisticsWarehousePayload")
class WarehousePayload:
    warehouse: Warehouse | None
    user_errors: list[UserError]


@strawberry.input
class LogisticsSettingsUpdateInput:
    routing_weights: RoutingWeightsInput | None = None
    wave_size: int | None = None
    wave_interval_seconds: int | None = None
    stale_after_seconds: int | None = None


@strawberry.type
class LogisticsSettingsPayload:
    settings: LogisticsSettings | None
    user_errors: list[UserError]


# --------------------------------------------------------------------------- query


@strawberry.type
class Query:
    @strawberry.federation.field(requires_scopes=[[READ]], description="A shipment by id.")
    async def shipment(self, info: Info, id: strawberry.ID) -> Shipment | None:
        info.context.require_scope(READ)
        return await Shipment.resolve_reference(info, id)

    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        requires_scopes=[[READ]], description="Shipments, oldest first.")
    async def shipments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        order_id: strawberry.ID | None = None,
        status: ShipmentStatus | None = None,
    ) -> Connection[Shipment]:
        info.context.require_scope(READ)
        return await _shipment_page(info, first, after, order_id=order_id, status=status)

    @strawberry.federation.field(directives=[CONNECTION_LIST_SIZE],
        requires_scopes=[[READ]], description="The exception queue: shipments in EXCEPTION, oldest first."
    )
    async def shipment_exceptions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Shipment]:
        info.context.require_scope(READ)
        return await _shipment_page(info, first, after, exceptions_only=True)

    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        requires_scopes=[[READ]], description="Carrier accounts, by code.")
    async def carriers(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Carrier]:
        info.context.require_scope(READ)
        page = PageArgs.of_request(info, first, after)
        async with info.context.session() as session:
            rows, total = await service.page_carriers(session, limit=page.limit, after=page.after)
        return Connection.build(
            [(Carrier.from_model(r), [r.code, str(r.id)]) for r in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        requires_scopes=[[READ]], description="Released pick waves, oldest first.")
    async def pick_waves(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        location_id: strawberry.ID | None = None,
    ) -> Connection[PickWave]:
        info.context.require_scope(READ)
        page = PageArgs.of_request(info, first, after)
        async with info.context.session() as session:
            rows, total = await service.page_waves(
                session, limit=page.limit, after=page.after, location_id=_uuid_or_none(location_id)
            )
        return Connection.build(
            [(PickWave.from_model(r), [r.released_at.isoformat(), str(r.id)]) for r in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(
        name="logisticsWarehouses", requires_scopes=[[READ]], description="Warehouses known to logistics."
    )
    async def warehouses(self, info: Info) -> list[Warehouse]:
        info.context.require_scope(READ)
        async with info.context.session() as session:
            return [Warehouse.from_model(w) for w in await service.list_warehouses(session)]

    @strawberry.federation.field(requires_scopes=[[WRITE]], description="The tenant's logistics rules.")
    async def logistics_settings(self, info: Info) -> LogisticsSettings:
        info.context.require_scope(WRITE)
        async with info.context.session() as session:
            return LogisticsSettings.of(await service.tenant_settings(session, info.context.require_tenant()))

    @strawberry.federation.field(
        requires_scopes=[[WRITE]],
        description="Which warehouses and carriers a rule set would choose for a known order; "
        "acts on nothing.",
    )
    async def simulate_routing(self, info: Info, input: RoutingSimulateInput) -> RoutingSimulation:
        info.context.require_scope(WRITE)
        try:
            order_id = _parse_id(input.order_id, "orderId")
            async with info.context.session() as session:
                decision = await service.simulate_routing(
                    session,
                    info.context.require_tenant(),
                    order_id,
                    input.weights.as_dict() if input.weights else None,
                )
        except LogisticsError as exc:
            return RoutingSimulation(chosen=None, candidates=[], user_errors=[_user_error(exc)])
        return RoutingSimulation(
            chosen=RoutingPlan.of(decision.chosen),
            candidates=[RoutingPlan.of(p) for p in decision.candidates[:20]],
            user_errors=[],
        )


async def _shipment_page(
    info: Info,
    first: int | None,
    after: str | None,
    *,
    order_id: strawberry.ID | None = None,
    status: ShipmentStatus | None = None,
    exceptions_only: bool = False,
) -> Connection[Shipment]:
    page = PageArgs.of_request(info, first, after)
    async with info.context.session() as session:
        try:
            rows, total = await service.page_shipments(
                session,
                limit=page.limit,
                after=page.after,
                order_id=_uuid_or_none(order_id) if order_id is not None else None,
                status=status.value if status is not None else None,
                exceptions_only=exceptions_only,
            )
        except LogisticsError:
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from None
    return Connection.build(
        [(Shipment.from_model(r), [r.created_at.isoformat(), str(r.id)]) for r in rows],
        limit=page.limit,
        total_count=total,
        has_previous=page.after is not None,
    )


# --------------------------------------------------------------------------- mutation


ShipmentAction = Callable[[Any, uuid.UUID, uuid.UUID], Awaitable[models.Shipment]]


async def _shipment_action(info: Info, shipment_ref: strawberry.ID, act: ShipmentAction) -> ShipmentPayload:
    try:
        shipment_id = _parse_id(shipment_ref, "shipmentId")
        async with info.context.session() as session:
            row = await act(session, info.context.require_tenant(), shipment_id)
            shipment = Shipment.from_model(row)
    except LogisticsError as exc:
        return ShipmentPayload(shipment=None, user_errors=[_user_error(exc)])
    return ShipmentPayload(shipment=shipment, user_errors=[])


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        requires_scopes=[[WRITE]],
        description="Buy the label from the shipment's carrier: tracking number + PDF; CREATED -> LABELLED. "
        "With an idempotencyKey a retry returns the first call's shipment.",
    )
    async def shipment_create_label(self, info: Info, input: ShipmentActionInput) -> ShipmentPayload:
        info.context.require_scope(WRITE)
        if not input.idempotency_key:
            return await _shipment_action(info, input.shipment_id, service.create_label)
        key = input.idempotency_key
        tenant = info.context.require_tenant()
        try:
            shipment_id = _parse_id(input.shipment_id, "shipmentId")
            async with info.context.session() as session:

                async def produce() -> dict[str, Any]:
                    row = await service.create_label(session, tenant, shipment_id)
                    return {"shipment_id": str(row.id)}

                await run_once(
                    session,
                    schema=models.SCHEMA,
                    tenant_id=tenant,
                    key=key,
                    operation="shipmentCreateLabel",
                    request={"shipment_id": str(shipment_id)},
                    produce=produce,
                )
                row = await service.get_shipment(session, shipment_id)
                shipment = Shipment.from_model(row) if row else None
        except LogisticsError as exc:
            return ShipmentPayload(shipment=None, user_errors=[_user_error(exc)])
        except UserInputError as exc:  # the idempotency key was reused for another request
            return ShipmentPayload(shipment=None, user_errors=user_errors(exc))
        return ShipmentPayload(shipment=shipment, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=[[WRITE]], description="The carrier picked the parcel up: LABELLED -> DISPATCHED."
    )
    async def shipment_dispatch(self, info: Info, input: ShipmentActionInput) -> ShipmentPayload:
        info.context.require_scope(WRITE)
        return await _shipment_action(info, input.shipment_id, service.dispatch)

    @strawberry.federation.mutation(
        requires_scopes=[[WRITE]], description="Cancel a shipment before dispatch (the label is voided)."
    )
    async def shipment_cancel(self, info: Info, input: ShipmentCancelInput) -> ShipmentPayload:
        info.context.require_scope(WRITE)

        async def act(session: Any, tenant: uuid.UUID, shipment_id: uuid.UUID) -> models.Shipment:
            return await service.cancel(session, tenant, shipment_id, input.reason)

        return await _shipment_action(info, input.shipment_id, act)

    @strawberry.federation.mutation(
        requires_scopes=[[WRITE]],
        description="Resolve a shipment in EXCEPTION: retry delivery, return to sender or mark it lost.",
    )
    async def shipment_exception_resolve(
        self, info: Info, input: ShipmentExceptionResolveInput
    ) -> ShipmentPayload:
        info.context.require_scope(WRITE)
        action = Resolution(input.resolution)

        async def act(session: Any, tenant: uuid.UUID, shipment_id: uuid.UUID) -> models.Shipment:
            return await service.resolve_exception(session, tenant, shipment_id, action, input.note)

        return await _shipment_action(info, input.shipment_id, act)

    @strawberry.federation.mutation(
        requires_scopes=[[WRITE]],
        description="Replace a cancelled, returned or lost shipment (or one not yet dispatched) by a new "
        "one with another carrier or warehouse; the payload is the new shipment.",
    )
    async def shipment_reroute(self, info: Info, input: ShipmentRerouteInput) -> ShipmentPayload:
        info.context.require_scope(WRITE)

        async def act(session: Any, tenant: uuid.UUID, shipment_id: uuid.UUID) -> models.Shipment:
            carrier = _parse_id(input.carrier_id, "carrierId") if input.carrier_id is not None else None
            location = _parse_id(input.location_id, "locationId") if input.location_id is not None else None
            return await service.reroute(
                session, tenant, shipment_id, carrier_id=carrier, location_id=location, reason=input.reason
            )

        return await _shipment_action(info, input.shipment_id, act)

    @strawberry.federation.mutation(
        requires_scopes=[[READ]],
        description="The buyer confirms the parcel arrived (only the order's buyer organization).",
    )
    async def shipment_confirm_delivery(self, info: Info, input: ShipmentActionInput) -> ShipmentPayload:
        principal = info.context.require_scope(READ)
        organization = _uuid_or_none(principal.organization_id)

        async def act(session: Any, tenant: uuid.UUID, shipment_id: uuid.UUID) -> models.Shipment:
            return await service.confirm_delivery(session, tenant, shipment_id, organization)

        return await _shipment_action(info, input.shipment_id, act)

    @strawberry.federation.mutation(requires_scopes=[[WRITE]], description="Add a carrier / 3PL account.")
    async def carrier_create(self, info: Info, input: CarrierCreateInput) -> CarrierCreatePayload:
        info.context.require_scope(WRITE)
        try:
            async with info.context.session() as session:
                row = await service.create_carrier(
                    session,
                    info.context.require_tenant(),
                    code=input.code,
                    name=input.name,
                    kind=input.kind,
                    quality=input.quality,
                    price_per_parcel=input.price_per_parcel,
                    currency=input.currency,
                    countries=input.countries,
                )
                carrier, secret = Carrier.from_model(row), row.webhook_secret
        except LogisticsError as exc:
            return CarrierCreatePayload(carrier=None, webhook_secret=None, user_errors=[_user_error(exc)])
        return CarrierCreatePayload(carrier=carrier, webhook_secret=secret, user_errors=[])

    @strawberry.federation.mutation(
        name="logisticsWarehouseUpsert",
        requires_scopes=[[WRITE]],
        description="Describe a stock location for routing (country, cost per parcel).",
    )
    async def warehouse_upsert(self, info: Info, input: WarehouseUpsertInput) -> WarehousePayload:
        info.context.require_scope(WRITE)
        try:
            location_id = _parse_id(input.location_id, "locationId")
            async with info.context.session() as session:
                row = await service.upsert_warehouse(
                    session,
                    info.context.require_tenant(),
                    location_id=location_id,
                    name=input.name,
                    country=input.country,
                    region=input.region,
                    cost_per_parcel=input.cost_per_parcel,
                    currency=input.currency,
                )
                warehouse = Warehouse.from_model(row)
        except LogisticsError as exc:
            return WarehousePayload(warehouse=None, user_errors=[_user_error(exc)])
        return WarehousePayload(warehouse=warehouse, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=[[WRITE]],
        description="Change routing weights, wave thresholds or the exception threshold.",
    )
    async def logistics_settings_update(
        self, info: Info, input: LogisticsSettingsUpdateInput
    ) -> LogisticsSettingsPayload:
        info.context.require_scope(WRITE)
        try:
            async with info.context.session() as session:
                settings = await service.update_settings(
                    session,
                    info.context.require_tenant(),
                    weights=input.routing_weights.as_dict() if input.routing_weights else None,
                    wave_size=input.wave_size,
                    wave_interval_seconds=input.wave_interval_seconds,
                    stale_after_seconds=input.stale_after_seconds,
                )
        except LogisticsError as exc:
            return LogisticsSettingsPayload(settings=None, user_errors=[_user_error(exc)])
        return LogisticsSettingsPayload(settings=LogisticsSettings.of(settings), user_errors=[])


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Shipment, Carrier, PickWave, Order],
    federation_version=FEDERATION_VERSION,
)
