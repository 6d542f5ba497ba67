# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the orders subgraph: thin types over `service.py`.

Entities: Order, Purchase, Cart (`@key(fields: "id")`, `tenantId @shareable`); references to
catalog's `Sku` and orgs' `Organization` (stubs, `resolvable: false`). Reading needs `orders:read`,
placing `orders:place`, approving `orders:approve` (declared with `@requiresScopes`, enforced by
the gateway); the data scope (access.py) is applied here on every read.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

import strawberry
from strawberry.federation import Schema
from strawberry.federation.schema_directives import Key, RequiresScopes
from strawberry.federation.types import FieldSet

from shared.errors import FieldError, ForbiddenError, UserInputError
from shared.events.follow import StreamEvent
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
    user_errors,
)
from shared.graphql.ids import graphql_id as _id
from shared.graphql.ids import optional_graphql_id as _opt_id
from shared.graphql.ids import parse_input_id as _parse_id
from shared.graphql.streams import parse_ids
from shared.idempotency import run_once
from subgraphs.orders import loaders, models, service
from subgraphs.orders import states as st
from subgraphs.orders import sync as order_sync
from subgraphs.orders.access import PLATFORM_ADMIN
from subgraphs.orders.checkout import Call, Checkout, price_cart
from subgraphs.orders.event_feed import ORDER_STREAM
from subgraphs.orders.models import SCHEMA

READ = [["orders:read"]]
PLACE = [["orders:place"]]
APPROVE = [["orders:approve"]]
FINANCE = [["finance:write"]]


def _uuid_or_none(value: strawberry.ID | str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _call(info: Info) -> Call:
    async def call(domain: str, op: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await info.context.call(domain, op, arguments, reply_within=3.0)

    return call


# --------------------------------------------------------------------------- references


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)], description="Resolved by orgs."
)
class Organization:
    id: strawberry.ID


@strawberry.federation.type(
    keys=[Key(fields=FieldSet("id"), resolvable=False)], description="Resolved by catalog."
)
class Sku:
    id: strawberry.ID


def _org(value: uuid.UUID | None) -> Organization | None:
    return Organization(id=_id(value)) if value is not None else None


# --------------------------------------------------------------------------- enums and values


@strawberry.enum(description="Where an order is in its life (docs/orders.md has the transitions).")
class OrderState(Enum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    PLACED = "placed"
    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    RESERVATION_FAILED = "reservation_failed"


def _state(value: str) -> OrderState:
    return OrderState(value)


@strawberry.type(description="What stock could not reserve for a line.")
class ReservationShortfall:
    line_id: strawberry.ID | None
    sku_id: strawberry.ID | None
    requested: int | None
    available: int | None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ReservationShortfall:
        return cls(
            line_id=_opt_id(_uuid_or_none(raw.get("line_id"))),
            sku_id=_opt_id(_uuid_or_none(raw.get("sku_id"))),
            requested=raw.get("requested"),
            available=raw.get("available"),
        )


@strawberry.enum
class ReturnState(Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    REFUND_REQUESTED = "refund_requested"
    REFUNDED = "refunded"


@strawberry.type
class DeliveryAddress:
    country: str | None
    region: str | None
    postal_code: str | None
    city: str | None
    line1: str | None
    latitude: float | None
    longitude: float | None

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> DeliveryAddress | None:
        if not raw:
            return None
        return cls(
            **{
                k: raw.get(k)
                for k in ("country", "region", "postal_code", "city", "line1", "latitude", "longitude")
            }
        )


@strawberry.input
class DeliveryAddressInput:
    country: str
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    line1: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "country": self.country.strip().upper()[:2],
            "region": self.region,
            "postal_code": self.postal_code,
            "city": self.city,
            "line1": self.line1,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }


# --------------------------------------------------------------------------- order types


@strawberry.type
class OrderLine:
    id: strawberry.ID
    position: int
    quantity: int
    unit_price: Money
    line_total: Money
    sku_code: str | None
    product_name: str | None
    category_id: strawberry.ID | None
    price_source: str | None
    sku: Sku

    @classmethod
    def of(cls, row: models.OrderLine, currency: str) -> OrderLine:
        return cls(
            id=_id(row.id),
            position=row.position,
            quantity=row.quantity,
            unit_price=Money.of(row.unit_price, currency),
            line_total=Money.of(row.line_total, currency),
            sku_code=row.sku_code,
            product_name=row.product_name,
            category_id=_opt_id(row.category_id),
            price_source=row.price_source,
            sku=Sku(id=_id(row.sku_id)),
        )


@strawberry.type(description="One step of the order's history (append-only).")
class OrderTransition:
    from_state: str | None
    to_state: str
    reason: str | None
    actor: str
    actor_organization_id: strawberry.ID | None
    at: datetime


@strawberry.type
class OrderApproval:
    tier: int
    role: str
    decision: str
    decided_by: strawberry.ID | None
    comment: str | None
    decided_at: datetime


@strawberry.type
class ReturnLine:
    order_line_id: strawberry.ID
    quantity: int
    reason: str


@strawberry.type
class OrderReturn:
    id: strawberry.ID
    order_id: strawberry.ID
    state: ReturnState
    note: str | None
    created_at: datetime
    _lines: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: models.ReturnRequest) -> OrderReturn:
        return cls(
            id=_id(row.id),
            order_id=_id(row.order_id),
            state=ReturnState(row.state),
            note=row.note,
            created_at=row.created_at,
            _lines=row.id,
        )

    @strawberry.field
    async def lines(self, info: Info) -> list[ReturnLine]:
        rows = await info.context.loaders.get(loaders.return_lines_loader).load(self._lines)
        return [
            ReturnLine(order_line_id=_id(r.order_line_id), quantity=r.quantity, reason=r.reason) for r in rows
        ]


@strawberry.federation.type(keys=["id"], description="An order to one seller; part of a Purchase.")
class Order:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    number: str
    state: OrderState
    state_reason: str | None
    purchase_id: strawberry.ID
    buyer: Organization
    seller: Organization
    placed_by: strawberry.ID | None
    total: Money
    source: str
    quote_id: strawberry.ID | None
    po_number: str | None
    note: str | None
    delivery_address: DeliveryAddress | None
    approval_tiers: list[str]
    current_approval_role: str | None
    reservation_id: strawberry.ID | None
    reservation_expires_at: datetime | None
    payment_approved_at: datetime | None
    payment_method: str | None
    failure_lines: list[ReservationShortfall]
    created_at: datetime
    placed_at: datetime | None
    updated_at: datetime
    _row: strawberry.Private[models.Order]

    @classmethod
    def of(cls, row: models.Order) -> Order:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            number=row.number,
            state=_state(row.state),
            state_reason=row.state_reason,
            purchase_id=_id(row.purchase_id),
            buyer=Organization(id=_id(row.buyer_organization_id)),
            seller=Organization(id=_id(row.seller_organization_id)),
            placed_by=_opt_id(row.placed_by),
            total=Money.of(row.total, row.currency),
            source=row.source,
            quote_id=_opt_id(row.quote_id),
            po_number=row.po_number,
            note=row.note,
            delivery_address=DeliveryAddress.of(row.delivery),
            approval_tiers=list(row.approval_tiers or []),
            current_approval_role=(
                row.approval_tiers[row.approval_tier]
                if row.state == st.OrderState.PENDING_APPROVAL.value
                and row.approval_tier < len(row.approval_tiers)
                else None
            ),
            reservation_id=_opt_id(row.reservation_id),
            reservation_expires_at=row.reservation_expires_at,
            payment_approved_at=row.payment_approved_at,
            payment_method=row.payment_method,
            failure_lines=[
                ReservationShortfall.of(x)
                for x in (row.failure or {}).get("lines") or []
                if isinstance(x, dict)
            ],
            created_at=row.created_at,
            placed_at=row.placed_at,
            updated_at=row.updated_at,
            _row=row,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Order | None:
        order_id = _uuid_or_none(id)
        if order_id is None:
            return None
        row = await info.context.loaders.get(loaders.order_loader).load(order_id)
        return cls.of(row) if row else None

    @strawberry.field
    async def lines(self, info: Info) -> list[OrderLine]:
        rows = await info.context.loaders.get(loaders.lines_loader).load(self._row.id)
        return [OrderLine.of(r, self._row.currency) for r in rows]

    @strawberry.field(description="Every state change, oldest first: who, when, why.")
    async def transitions(self, info: Info) -> list[OrderTransition]:
        rows = await info.context.loaders.get(loaders.transitions_loader).load(self._row.id)
        return [
            OrderTransition(
                from_state=r.from_state,
                to_state=r.to_state,
                reason=r.reason,
                actor=r.actor,
                actor_organization_id=_opt_id(r.actor_organization_id),
                at=r.at,
            )
            for r in rows
        ]

    @strawberry.field
    async def approvals(self, info: Info) -> list[OrderApproval]:
        rows = await info.context.loaders.get(loaders.approvals_loader).load(self._row.id)
        return [
            OrderApproval(
                tier=r.tier,
                role=r.role,
                decision=r.decision,
                decided_by=_opt_id(r.decided_by),
                comment=r.comment,
                decided_at=r.decided_at,
            )
            for r in rows
        ]

    @strawberry.field
    async def returns(self, info: Info) -> list[OrderReturn]:
        rows = await info.context.loaders.get(loaders.returns_loader).load(self._row.id)
        return [OrderReturn.of(r) for r in rows]


@strawberry.federation.type(keys=["id"], description="What a buyer placed in one go: one Order per seller.")
class Purchase:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    buyer: Organization
    placed_by: strawberry.ID | None
    total: Money
    po_number: str | None
    note: str | None
    quote_id: strawberry.ID | None
    created_at: datetime
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: models.Purchase) -> Purchase:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            buyer=Organization(id=_id(row.buyer_organization_id)),
            placed_by=_opt_id(row.placed_by),
            total=Money.of(row.total, row.currency),
            po_number=row.po_number,
            note=row.note,
            quote_id=_opt_id(row.quote_id),
            created_at=row.created_at,
            _id=row.id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Purchase | None:
        pid = _uuid_or_none(id)
        if pid is None:
            return None
        row = await info.context.loaders.get(loaders.purchase_loader).load(pid)
        return cls.of(row) if row else None

    @strawberry.field(description="The orders of this purchase the caller may see (a seller sees its own).")
    async def orders(self, info: Info) -> list[Order]:
        rows = await info.context.loaders.get(loaders.purchase_orders_loader).load(self._id)
        return [Order.of(r) for r in rows]


# --------------------------------------------------------------------------- carts


@strawberry.type
class CartLine:
    sku: Sku
    quantity: int


@strawberry.federation.type(keys=["id"], description="The open cart of a buyer business unit.")
class Cart:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    buyer: Organization
    status: str
    updated_at: datetime
    _id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, row: models.Cart) -> Cart:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            buyer=Organization(id=_id(row.buyer_organization_id)),
            status=row.status,
            updated_at=row.updated_at,
            _id=row.id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Cart | None:
        cid = _uuid_or_none(id)
        if cid is None:
            return None
        viewer = await loaders.viewer(info.context)
        async with info.context.session() as session:
            row = (await service.carts_by_id(session, [cid])).get(cid)
        return cls.of(row) if row and viewer.sees_org(row.buyer_organization_id) else None

    @strawberry.field
    async def lines(self, info: Info) -> list[CartLine]:
        rows = await info.context.loaders.get(loaders.cart_lines_loader).load(self._id)
        return [CartLine(sku=Sku(id=_id(r.sku_id)), quantity=r.quantity) for r in rows]


@strawberry.type
class CheckoutQuantityRule:
    minimum: int
    maximum: int | None
    increment: int


@strawberry.type(description="A cart line priced for the buyer, with its rule and what is wrong with it.")
class CheckoutLine:
    index: int
    sku: Sku
    quantity: int
    unit_price: Money | None
    line_total: Money | None
    seller: Organization | None
    sku_code: str | None
    product_name: str | None
    quantity_rule: CheckoutQuantityRule | None
    user_errors: list[UserError]


@strawberry.type
class CheckoutPreview:
    cart: Cart | None
    currency: str | None
    total: Money | None
    lines: list[CheckoutLine]
    sellers: int
    user_errors: list[UserError]

    @classmethod
    def of(
        cls, cart: models.Cart | None, checkout: Checkout | None, errors: list[UserError]
    ) -> CheckoutPreview:
        if checkout is None:
            return cls(
                cart=Cart.of(cart) if cart else None,
                currency=None,
                total=None,
                lines=[],
                sellers=0,
                user_errors=errors,
            )
        cur = checkout.currency
        lines = [
            CheckoutLine(
                index=li.index,
                sku=Sku(id=_id(li.sku_id)),
                quantity=li.quantity,
                unit_price=Money.of(li.unit_price, cur) if li.unit_price is not None else None,
                line_total=Money.of(li.line_total, cur) if li.line_total is not None else None,
                seller=_org(li.facts.seller_organization_id) if li.facts else None,
                sku_code=li.facts.sku_code if li.facts else None,
                product_name=li.facts.product_name if li.facts else None,
                quantity_rule=CheckoutQuantityRule(
                    minimum=li.rule.minimum, maximum=li.rule.maximum, increment=li.rule.increment
                )
                if li.rule
                else None,
                user_errors=user_errors(UserInputError(li.errors)),
            )
            for li in checkout.lines
        ]
        sellers = {li.facts.seller_organization_id for li in checkout.lines if li.facts}
        return cls(
            cart=Cart.of(cart) if cart else None,
            currency=cur,
            total=Money.of(checkout.total, cur) if cur else None,
            lines=lines,
            sellers=len(sellers),
            user_errors=errors + user_errors(UserInputError(checkout.errors)),
        )


@strawberry.type
class ApprovalRule:
    id: strawberry.ID
    organization: Organization
    name: str
    min_total: str | None
    currency: str | None
    category_id: strawberry.ID | None
    seller: Organization | None
    tiers: list[str]
    position: int
    active: bool

    @classmethod
    def of(cls, row: models.ApprovalRule) -> ApprovalRule:
        return cls(
            id=_id(row.id),
            organization=Organization(id=_id(row.organization_id)),
            name=row.name,
            min_total=format(row.min_total, "f") if row.min_total is not None else None,
            currency=row.currency,
            category_id=_opt_id(row.category_id),
            seller=_org(row.seller_organization_id),
            tiers=list(row.tiers),
            position=row.position,
            active=row.active,
        )


@strawberry.type
class OrderSettings:
    approve_payment_on_placement: bool
    reserve_for_seconds: int | None


# --------------------------------------------------------------------------- queries


@strawberry.input
class OrderFilter:
    states: list[OrderState] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def domain(self) -> service.OrderFilter:
        return service.OrderFilter(
            states=[s.value for s in self.states or []],
            created_from=self.created_from,
            created_to=self.created_to,
        )


@strawberry.type
class Query:
    @strawberry.federation.field(requires_scopes=READ)
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return await Order.resolve_reference(info, id)

    @strawberry.federation.field(directives=[CONNECTION_LIST_SIZE],
        requires_scopes=READ, description="Orders in the caller's data scope, newest first."
    )
    async def orders(
        self,
        info: Info,
        filter: OrderFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Order]:
        page = PageArgs.of_request(info, first, after)
        viewer = await loaders.viewer(info.context)
        async with info.context.session() as session:
            rows, total = await service.list_orders(
                session, viewer, (filter or OrderFilter()).domain(), limit=page.limit, after=page.after
            )
        return Connection.build(
            [(Order.of(r), k) for r, k in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(requires_scopes=READ)
    async def purchase(self, info: Info, id: strawberry.ID) -> Purchase | None:
        return await Purchase.resolve_reference(info, id)

    @strawberry.federation.field(directives=[CONNECTION_LIST_SIZE],
        requires_scopes=READ, description="Purchases of the caller's buyer units, newest first."
    )
    async def purchases(
        self,
        info: Info,
        filter: OrderFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Purchase]:
        page = PageArgs.of_request(info, first, after)
        viewer = await loaders.viewer(info.context)
        async with info.context.session() as session:
            rows, total = await service.list_purchases(
                session, viewer, (filter or OrderFilter()).domain(), limit=page.limit, after=page.after
            )
        return Connection.build(
            [(Purchase.of(r), k) for r, k in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(requires_scopes=PLACE, description="The caller's business unit's open cart.")
    async def cart(self, info: Info) -> Cart | None:
        viewer = await loaders.viewer(info.context)
        if viewer.organization_id is None:
            return None
        async with info.context.session() as session:
            row = await service.open_cart(
                session, viewer.tenant_id, viewer.organization_id, viewer.user_id, create=False
            )
        return Cart.of(row) if row else None

    @strawberry.federation.field(
        requires_scopes=PLACE,
        description="Price the open cart through pricing, with catalog's SKU facts and every quantity rule "
        "(min, step, max, max per period) as per-line userErrors. Nothing is placed.",
    )
    async def checkout_preview(self, info: Info) -> CheckoutPreview:
        viewer = await loaders.viewer(info.context)
        if viewer.organization_id is None:
            return CheckoutPreview.of(
                None, None, [UserError(field=None, message="no organization", code="NO_ORGANIZATION")]
            )
        async with info.context.session() as session:
            cart = await service.open_cart(
                session, viewer.tenant_id, viewer.organization_id, viewer.user_id, create=False
            )
            if cart is None:
                return CheckoutPreview.of(
                    None, None, [UserError(field=None, message="the cart is empty", code="EMPTY_CART")]
                )
            checkout = await service.preview_cart(session, viewer, cart, _call(info))
        return CheckoutPreview.of(cart, checkout, [])

    @strawberry.federation.field(directives=[CONNECTION_LIST_SIZE],
        requires_scopes=APPROVE,
        description="Orders waiting for a decision of one of the caller's roles, in its data scope.",
    )
    async def approval_queue(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Order]:
        page = PageArgs.of_request(info, first, after)
        viewer = await loaders.viewer(info.context)
        async with info.context.session() as session:
            rows, total = await service.approval_queue(session, viewer, limit=page.limit, after=page.after)
        return Connection.build(
            [(Order.of(r), k) for r, k in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(requires_scopes=READ, description="Approval rules of the caller's units.")
    async def approval_rules(self, info: Info) -> list[ApprovalRule]:
        viewer = await loaders.viewer(info.context)
        async with info.context.session() as session:
            rows = await service.rules_for(session, viewer)
        return [ApprovalRule.of(r) for r in rows]

    @strawberry.federation.field(requires_scopes=READ)
    async def order_settings(self, info: Info) -> OrderSettings:
        async with info.context.session() as session:
            s = await service.get_settings(session, info.context.require_tenant())
        return OrderSettings(
            approve_payment_on_placement=s.approve_payment_on_placement,
            reserve_for_seconds=s.reserve_for_seconds,
        )


# --------------------------------------------------------------------------- mutations


@strawberry.input
class CartLineSetInput:
    sku_id: strawberry.ID
    quantity: int = strawberry.field(description="The line's quantity; 0 removes the line.")


@strawberry.input
class CartLineAddInput:
    sku_id: strawberry.ID
    quantity: int = 1


@strawberry.type
class CartPayload:
    cart: Cart | None
    user_errors: list[UserError]


@strawberry.input(description="A SKU and quantity placed without a cart.")
class PlaceOrderLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class PlaceOrderInput:
    idempotency_key: str
    cart_id: strawberry.ID | None = strawberry.field(
        default=None, description="The open cart to place; or give `lines` instead."
    )
    lines: list[PlaceOrderLineInput] | None = strawberry.field(
        default=None,
        description="Buy now / ERP placement without a cart: priced and checked like cart lines.",
    )
    delivery_address: DeliveryAddressInput | None = None
    po_number: str | None = None
    note: str | None = None


@strawberry.type
class PlaceOrderPayload:
    purchase: Purchase | None
    orders: list[Order]
    replayed: bool
    user_errors: list[UserError]


@strawberry.input
class OrderDecisionInput:
    order_id: strawberry.ID
    comment: str | None = None


@strawberry.input
class OrderCancelInput:
    order_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class OrderAdvanceInput:
    order_id: strawberry.ID
    to: OrderState
    reason: str | None = None


@strawberry.enum(description="The statuses an ERP reports: fulfilment steps and cancellation.")
class OrderSyncStatus(Enum):
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@strawberry.input(description="One status update from an ERP; name the order by id or by number.")
class OrderStatusSyncRowInput:
    external_reference: str = strawberry.field(
        description="The ERP's id of this update: applied once; a replay is a no-op, other content an error."
    )
    status: OrderSyncStatus
    order_id: strawberry.ID | None = None
    order_number: str | None = None
    reason: str | None = None


@strawberry.input
class SyncOrderStatusesInput:
    rows: list[OrderStatusSyncRowInput]


@strawberry.enum
class OrderSyncOutcome(Enum):
    APPLIED = "APPLIED"
    UNCHANGED = "UNCHANGED"
    REPLAYED = "REPLAYED"


@strawberry.type
class OrderStatusSyncRowResult:
    external_reference: str
    order_id: strawberry.ID
    state: OrderState
    outcome: OrderSyncOutcome


@strawberry.type
class SyncOrderStatusesPayload:
    applied: int = strawberry.field(description="Rows that moved an order (one transition each).")
    unchanged: int = strawberry.field(description="New rows whose order was already in that state.")
    replayed: int = strawberry.field(description="Rows synced before (or repeated in this call).")
    results: list[OrderStatusSyncRowResult] = strawberry.field(description="One per row, in input order.")
    user_errors: list[UserError]


@strawberry.input
class OrderIdInput:
    order_id: strawberry.ID


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.input
class ApprovalRuleCreateInput:
    organization_id: strawberry.ID
    name: str
    tiers: list[str]
    min_total: str | None = None
    currency: str | None = None
    category_id: strawberry.ID | None = None
    seller_organization_id: strawberry.ID | None = None
    position: int = 0


@strawberry.type
class ApprovalRulePayload:
    rule: ApprovalRule | None
    user_errors: list[UserError]


@strawberry.input
class ApprovalRuleDeactivateInput:
    rule_id: strawberry.ID


@strawberry.input
class QuantityLimitSetInput:
    organization_id: strawberry.ID
    sku_id: strawberry.ID
    period: str = strawberry.field(description="month or week (calendar, UTC)")
    max_units: int | None = strawberry.field(default=None, description="null removes the limit")


@strawberry.type
class QuantityLimitPayload:
    ok: bool
    user_errors: list[UserError]


@strawberry.input
class ReturnLineInput:
    order_line_id: strawberry.ID
    quantity: int
    reason: str


@strawberry.input
class ReturnRequestInput:
    order_id: strawberry.ID
    lines: list[ReturnLineInput]
    note: str | None = None


@strawberry.input
class ReturnMoveInput:
    return_id: strawberry.ID
    to: ReturnState


@strawberry.type
class ReturnPayload:
    order_return: OrderReturn | None
    user_errors: list[UserError]


@strawberry.input
class OrderSettingsInput:
    approve_payment_on_placement: bool
    reserve_for_seconds: int | None = None


async def _order_mutation(info: Info, work: Callable[[Any, Any], Awaitable[models.Order]]) -> OrderPayload:
    viewer = await loaders.viewer(info.context)
    try:
        async with info.context.session() as session:
            order = await work(session, viewer)
            result = Order.of(order)
    except UserInputError as exc:
        return OrderPayload(order=None, user_errors=user_errors(exc))
    return OrderPayload(order=result, user_errors=[])


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        requires_scopes=PLACE, description="Set a line of the open cart (0 removes it)."
    )
    async def cart_line_set(self, info: Info, input: CartLineSetInput) -> CartPayload:
        viewer = await loaders.viewer(info.context)
        try:
            sku = _parse_id(input.sku_id, "skuId")
            async with info.context.session() as session:
                cart = await service.set_cart_line(session, viewer, sku, input.quantity)
                result = Cart.of(cart)
        except UserInputError as exc:
            return CartPayload(cart=None, user_errors=user_errors(exc))
        return CartPayload(cart=result, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=PLACE, description="Add units of a SKU to the open cart.")
    async def cart_line_add(self, info: Info, input: CartLineAddInput) -> CartPayload:
        viewer = await loaders.viewer(info.context)
        try:
            sku = _parse_id(input.sku_id, "skuId")
            if input.quantity < 1:
                raise UserInputError([FieldError(("quantity",), "at least 1", "INVALID_QUANTITY")])
            async with info.context.session() as session:
                cart = await service.set_cart_line(session, viewer, sku, input.quantity, add=True)
                result = Cart.of(cart)
        except UserInputError as exc:
            return CartPayload(cart=None, user_errors=user_errors(exc))
        return CartPayload(cart=result, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=PLACE,
        description="Place the cart: one Purchase, one Order per seller, at the prices of this moment. "
        "The same "
        "idempotencyKey returns the same purchase and places once.",
    )
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderPayload:
        viewer = await loaders.viewer(info.context)
        tenant = info.context.require_tenant()
        delivery = input.delivery_address.as_dict() if input.delivery_address else None
        request: dict[str, Any] = {
            "cart_id": str(input.cart_id) if input.cart_id is not None else None,
            "delivery": delivery,
            "po_number": input.po_number,
            "note": input.note,
            "buyer": str(viewer.organization_id),
        }
        if input.lines is not None:
            request["lines"] = [[str(li.sku_id), li.quantity] for li in input.lines]
        try:
            if (input.cart_id is None) == (input.lines is None):
                raise UserInputError(
                    [FieldError(("cartId",), "give either cartId or lines", "CART_OR_LINES")]
                )
            if viewer.organization_id is None:
                raise UserInputError(
                    [FieldError(("cartId",), "no organization to buy for", "NO_ORGANIZATION")]
                )
            # Price first, outside the transaction (no pooled connection waits on pricing/catalog).
            if input.lines is not None:
                wanted = service.direct_lines(
                    [
                        (_parse_id(li.sku_id, f"lines.{i}.skuId"), li.quantity)
                        for i, li in enumerate(input.lines)
                    ]
                )
                priced: Checkout | None = await price_cart(_call(info), wanted)
            else:
                cart_id = _parse_id(input.cart_id or "", "cartId")
                async with info.context.session() as session:
                    snapshot = await service.cart_snapshot(session, viewer, cart_id)
                priced = await price_cart(_call(info), snapshot) if snapshot else None
            async with info.context.session() as session:

                async def produce_lines() -> dict[str, Any]:
                    return await service.place_lines(
                        session,
                        viewer,
                        wanted,
                        _call(info),
                        delivery=delivery,
                        po_number=input.po_number,
                        note=input.note,
                        priced=priced,
                    )

                async def produce_cart() -> dict[str, Any]:
                    return await service.place_from_cart(
                        session,
                        viewer,
                        cart_id,
                        _call(info),
                        delivery=delivery,
                        po_number=input.po_number,
                        note=input.note,
                        priced=priced,
                    )

                result = await run_once(
                    session,
                    schema=SCHEMA,
                    tenant_id=tenant,
                    key=input.idempotency_key,
                    operation="placeOrder",
                    request=request,
                    produce=produce_lines if input.lines is not None else produce_cart,
                )
        except UserInputError as exc:
            return PlaceOrderPayload(purchase=None, orders=[], replayed=False, user_errors=user_errors(exc))
        purchase_id = uuid.UUID(result.response["purchase_id"])
        order_ids = [uuid.UUID(o) for o in result.response["order_ids"]]
        purchase = await info.context.loaders.get(loaders.purchase_loader).load(purchase_id)
        orders = await info.context.loaders.get(loaders.order_loader).load_many(order_ids)
        return PlaceOrderPayload(
            purchase=Purchase.of(purchase) if purchase else None,
            orders=[Order.of(o) for o in orders if o is not None],
            replayed=result.replayed,
            user_errors=[],
        )

    @strawberry.federation.mutation(requires_scopes=APPROVE, description="Approve the current tier.")
    async def order_approve(self, info: Info, input: OrderDecisionInput) -> OrderPayload:
        async def work(session: Any, viewer: Any) -> models.Order:
            oid = _parse_id(input.order_id, "orderId")
            return await service.decide(session, viewer, oid, approve=True, comment=input.comment)

        return await _order_mutation(info, work)

    @strawberry.federation.mutation(
        requires_scopes=APPROVE, description="Reject the order (final), with a comment."
    )
    async def order_reject(self, info: Info, input: OrderDecisionInput) -> OrderPayload:
        async def work(session: Any, viewer: Any) -> models.Order:
            oid = _parse_id(input.order_id, "orderId")
            return await service.decide(session, viewer, oid, approve=False, comment=input.comment)

        return await _order_mutation(info, work)

    @strawberry.federation.mutation(requires_scopes=READ, description="Cancel as the buyer or the seller.")
    async def order_cancel(self, info: Info, input: OrderCancelInput) -> OrderPayload:
        async def work(session: Any, viewer: Any) -> models.Order:
            return await service.cancel(session, viewer, _parse_id(input.order_id, "orderId"), input.reason)

        return await _order_mutation(info, work)

    @strawberry.federation.mutation(
        requires_scopes=READ,
        description="Fulfilment steps reported by the seller (shipped, delivered, completed).",
    )
    async def order_advance(self, info: Info, input: OrderAdvanceInput) -> OrderPayload:
        async def work(session: Any, viewer: Any) -> models.Order:
            target = st.OrderState(input.to.value)
            return await service.advance(
                session, viewer, _parse_id(input.order_id, "orderId"), target, input.reason
            )

        return await _order_mutation(info, work)

    @strawberry.federation.mutation(
        requires_scopes=READ,
        description=(
            f"ERP inbound sync: order status updates, up to {order_sync.MAX_ROWS} rows, all or none, "
            "idempotent per externalReference; the rules of orderAdvance / orderCancel."
        ),
    )
    async def sync_order_statuses(
        self, info: Info, input: SyncOrderStatusesInput
    ) -> SyncOrderStatusesPayload:
        viewer = await loaders.viewer(info.context)
        rows = [
            order_sync.SyncRow(
                r.external_reference,
                str(r.order_id) if r.order_id is not None else None,
                r.order_number,
                r.status.value,
                r.reason,
            )
            for r in input.rows
        ]
        try:
            async with info.context.session() as session:
                done = await order_sync.sync_statuses(session, viewer, rows)
        except UserInputError as exc:
            return SyncOrderStatusesPayload(
                applied=0, unchanged=0, replayed=0, results=[], user_errors=user_errors(exc)
            )
        return SyncOrderStatusesPayload(
            applied=sum(o.outcome == "APPLIED" for o in done),
            unchanged=sum(o.outcome == "UNCHANGED" for o in done),
            replayed=sum(o.outcome == "REPLAYED" for o in done),
            results=[
                OrderStatusSyncRowResult(
                    external_reference=o.external_reference,
                    order_id=_id(o.order_id),
                    state=OrderState(o.state),
                    outcome=OrderSyncOutcome(o.outcome),
                )
                for o in done
            ],
            user_errors=[],
        )

    @strawberry.federation.mutation(
        requires_scopes=FINANCE,
        description="The payment gate when `approvePaymentOnPlacement` is off: "
        "approve a reserved order's payment.",
    )
    async def order_approve_payment(self, info: Info, input: OrderIdInput) -> OrderPayload:
        async def work(session: Any, viewer: Any) -> models.Order:
            return await service.approve_payment_by_hand(
                session, viewer, _parse_id(input.order_id, "orderId")
            )

        return await _order_mutation(info, work)

    @strawberry.federation.mutation(requires_scopes=APPROVE)
    async def approval_rule_create(self, info: Info, input: ApprovalRuleCreateInput) -> ApprovalRulePayload:
        viewer = await loaders.viewer(info.context)
        try:
            min_total = None
            if input.min_total is not None:
                try:
                    min_total = Decimal(input.min_total.strip())
                    if not min_total.is_finite():
                        raise InvalidOperation
                except InvalidOperation:
                    raise UserInputError(
                        [FieldError(("minTotal",), "a decimal such as 5000.00", "INVALID")]
                    ) from None
            async with info.context.session() as session:
                rule = await service.create_rule(
                    session,
                    viewer,
                    organization_id=_parse_id(input.organization_id, "organizationId"),
                    name=input.name,
                    tiers=input.tiers,
                    min_total=min_total,
                    currency=input.currency,
                    category_id=_parse_id(input.category_id, "categoryId") if input.category_id else None,
                    seller_organization_id=_parse_id(input.seller_organization_id, "sellerOrganizationId")
                    if input.seller_organization_id
                    else None,
                    position=input.position,
                )
                result = ApprovalRule.of(rule)
        except UserInputError as exc:
            return ApprovalRulePayload(rule=None, user_errors=user_errors(exc))
        return ApprovalRulePayload(rule=result, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=APPROVE, description="Max units of a SKU per calendar month/week."
    )
    async def quantity_limit_set(self, info: Info, input: QuantityLimitSetInput) -> QuantityLimitPayload:
        viewer = await loaders.viewer(info.context)
        try:
            async with info.context.session() as session:
                await service.set_quantity_limit(
                    session,
                    viewer,
                    _parse_id(input.organization_id, "organizationId"),
                    _parse_id(input.sku_id, "skuId"),
                    input.period,
                    input.max_units,
                )
        except UserInputError as exc:
            return QuantityLimitPayload(ok=False, user_errors=user_errors(exc))
        return QuantityLimitPayload(ok=True, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=PLACE, description="Ask to return delivered lines.")
    async def return_request(self, info: Info, input: ReturnRequestInput) -> ReturnPayload:
        viewer = await loaders.viewer(info.context)
        try:
            oid = _parse_id(input.order_id, "orderId")
            lines = [
                (_parse_id(li.order_line_id, "orderLineId"), li.quantity, li.reason) for li in input.lines
            ]
            async with info.context.session() as session:
                ret = await service.request_return(session, viewer, oid, lines, input.note)
                result = OrderReturn.of(ret)
        except UserInputError as exc:
            return ReturnPayload(order_return=None, user_errors=user_errors(exc))
        return ReturnPayload(order_return=result, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=READ, description="Seller: approve, reject, receive, then request the refund."
    )
    async def return_move(self, info: Info, input: ReturnMoveInput) -> ReturnPayload:
        viewer = await loaders.viewer(info.context)
        try:
            rid = _parse_id(input.return_id, "returnId")
            async with info.context.session() as session:
                ret = await service.move_return(session, viewer, rid, input.to.value)
                result = OrderReturn.of(ret)
        except UserInputError as exc:
            return ReturnPayload(order_return=None, user_errors=user_errors(exc))
        return ReturnPayload(order_return=result, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=[["orgs:admin"]], description="Tenant settings of orders (platform admins)."
    )
    async def order_settings_update(self, info: Info, input: OrderSettingsInput) -> OrderSettings:
        principal = info.context.require_principal()
        if PLATFORM_ADMIN not in principal.roles:
            raise ForbiddenError("only a platform admin changes the tenant's order settings")
        async with info.context.session() as session:
            s = await service.put_settings(
                session,
                info.context.require_tenant(),
                service.Settings(input.approve_payment_on_placement, input.reserve_for_seconds),
            )
        return OrderSettings(
            approve_payment_on_placement=s.approve_payment_on_placement,
            reserve_for_seconds=s.reserve_for_seconds,
        )


# --------------------------------------------------------------------------- subscriptions (partner ERPs)


@strawberry.enum(description="What happened to an order: its new state, its payment, or a return's step.")
class OrderEventType(Enum):
    PLACED = "placed"
    PENDING_APPROVAL = "pending_approval"
    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    RESERVATION_FAILED = "reservation_failed"
    PAYMENT_APPROVED = "payment_approved"
    RETURN_REQUESTED = "return_requested"
    RETURN_APPROVED = "return_approved"
    RETURN_REJECTED = "return_rejected"
    RETURN_RECEIVED = "return_received"
    RETURN_REFUND_REQUESTED = "return_refund_requested"


_ORDER_EVENT_TYPES = {t.value: t for t in OrderEventType}


@strawberry.type(
    description="One event of the ORDERS stream. `order` is the order as it is now (null outside "
    "the caller's data scope); the event's own fields say what changed."
)
class OrderEvent:
    cursor: str = strawberry.field(description="This event's stream position: resume after it.")
    id: strawberry.ID = strawberry.field(description="The event's id (idempotency key for the ERP).")
    type: OrderEventType
    occurred_at: datetime
    order_id: strawberry.ID
    from_state: str | None
    to_state: str | None
    reason: str | None

    @strawberry.field
    async def order(self, info: Info) -> Order | None:
        return await Order.resolve_reference(info, self.order_id)


def _order_event(event: StreamEvent) -> OrderEvent | None:
    envelope = event.envelope
    kind = _ORDER_EVENT_TYPES.get(envelope.event)
    if kind is None:
        return None  # an event this API does not describe yet
    data = envelope.data
    return OrderEvent(
        cursor=event.cursor,
        id=_id(envelope.id),
        type=kind,
        occurred_at=envelope.occurred_at,
        order_id=strawberry.ID(str(data.get("order_id") or envelope.subject_id)),
        from_state=data.get("from"),
        to_state=data.get("to") or ("placed" if kind is OrderEventType.PLACED else None),
        reason=data.get("reason"),
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        directives=[RequiresScopes(scopes=READ)],
        description="Live order events of the caller's tenant and data scope, from `cursor` on "
        "(docs/integration.md). `types`: only these; `businessUnitId`: only orders bought or sold "
        "by this organization.",
    )
    async def order_events(
        self,
        info: Info,
        cursor: str | None = None,
        types: list[OrderEventType] | None = None,
        business_unit_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[OrderEvent, None]:
        units = parse_ids([business_unit_id] if business_unit_id is not None else None)
        async for event in ORDER_STREAM.follow(
            info, cursor=cursor, events={t.value for t in types or ()}, only_orgs=units
        ):
            item = _order_event(event)
            if item is not None:
                yield item


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[Order, Purchase, Cart, Sku, Organization],
    federation_version=FEDERATION_VERSION,
)
