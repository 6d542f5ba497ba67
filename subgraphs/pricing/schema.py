# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the pricing subgraph: thin types over `service.py`.

Entities: PriceList and Quote (`@key(fields: "id")`), and the catalog's `Sku` and `Product`
(same keys) extended with `price`, `quantityRule` and `priceRange`, resolved for the buyer in the
signed gateway context. Money is `Money { amount: String (a decimal), currency }`. Mutations take one
`input` and return a payload with `userErrors { field message code }`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.federation import Schema

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
)
from shared.graphql.ids import graphql_id as _id
from shared.graphql.ids import optional_graphql_id as _opt_id
from subgraphs.pricing import loaders, models, service
from subgraphs.pricing import quotes as q
from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.money import Money as MoneyValue
from subgraphs.pricing.money import parse_unit_amount
from subgraphs.pricing.resolution import LineRequest, PriceResolution
from subgraphs.pricing.resolution import PriceListKind as DomainKind
from subgraphs.pricing.resolution import QuantityRule as DomainRule

WRITE = [["pricing:write"]]


def _user_error(exc: PricingError) -> UserError:
    return user_error_at(exc.field, exc.message, exc.code.value)


def _parse_id(value: strawberry.ID | str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise PricingError(ErrorCode.INVALID_INPUT, "Not a valid id.", field) from None


def _parse_optional_id(value: strawberry.ID | str | None, field: str) -> uuid.UUID | None:
    return None if value is None else _parse_id(value, field)


def _uuid_or_none(value: strawberry.ID | str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- value types


def _money(value: MoneyValue) -> Money:
    return Money.of(value.amount, value.currency)


@strawberry.enum(description="Where a resolved price came from.")
class PriceSource(Enum):
    CONTRACT = "CONTRACT"
    PRICE_LIST = "PRICE_LIST"
    BASE = "BASE"


@strawberry.enum
class PriceListKind(Enum):
    BASE = "BASE"
    STANDARD = "STANDARD"
    CONTRACT = "CONTRACT"


@strawberry.enum
class QuoteStatus(Enum):
    REQUESTED = "REQUESTED"
    QUOTED = "QUOTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="Order quantity limits: minimum, optional maximum, and the step.")
class QuantityRule:
    minimum: int
    maximum: int | None
    increment: int

    @classmethod
    def of(cls, rule: DomainRule) -> QuantityRule:
        return cls(minimum=rule.minimum, maximum=rule.maximum, increment=rule.increment)


@strawberry.type(description="One price break: from `minQuantity` units on, `unitPrice` each.")
class Price:
    price_list_id: strawberry.ID
    sku_id: strawberry.ID
    product_id: strawberry.ID | None
    min_quantity: int
    unit_price: Money

    @classmethod
    def from_model(cls, row: models.Price, currency: str) -> Price:
        return cls(
            price_list_id=_id(row.price_list_id),
            sku_id=_id(row.sku_id),
            product_id=_opt_id(row.product_id),
            min_quantity=row.min_quantity,
            unit_price=_money(MoneyValue(row.unit_amount, currency)),
        )


@strawberry.federation.type(keys=["id"], description="Prices in one currency, with validity and priority.")
class PriceList:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    name: str
    currency: str
    kind: PriceListKind
    priority: int
    valid_from: datetime | None
    valid_to: datetime | None
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.PriceList) -> PriceList:
        return cls(
            id=_id(row.id),
            tenant_id=tenant_id_of(row.tenant_id),
            name=row.name,
            currency=row.currency,
            kind=PriceListKind(row.kind),
            priority=row.priority,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            active=row.active,
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PriceList | None:
        list_id = _uuid_or_none(id)
        if list_id is None:
            return None
        async with info.context.session() as session:
            row = await session.get(models.PriceList, list_id)
        return cls.from_model(row) if row else None

    @strawberry.field(description="Buyer organizations the list is assigned to (their units inherit it).")
    async def assigned_organization_ids(self, info: Info) -> list[strawberry.ID]:
        ids = await info.context.loaders.get(loaders.list_assignments_loader).load(uuid.UUID(self.id))
        return [_id(i) for i in ids]

    @strawberry.field(description="Price breaks, by SKU and minimum quantity.")
    async def prices(self, info: Info, sku_id: strawberry.ID | None = None) -> list[Price]:
        rows = await info.context.loaders.get(loaders.list_prices_loader).load(uuid.UUID(self.id))
        wanted = _uuid_or_none(sku_id) if sku_id is not None else None
        return [Price.from_model(r, self.currency) for r in rows if wanted is None or r.sku_id == wanted]


@strawberry.type(description="The price a buyer pays for a SKU at a quantity, and which rule set it.")
class PriceResult:
    sku_id: strawberry.ID
    quantity: int
    unit_price: Money | None
    line_total: Money | None
    source: PriceSource | None
    price_list_id: strawberry.ID | None
    price_list_name: str | None
    break_min_quantity: int | None = strawberry.field(description="The price break that applied.")
    assigned_organization_id: strawberry.ID | None = strawberry.field(
        description="The organization whose assignment made the list apply (null for BASE)."
    )
    quantity_rule: QuantityRule | None
    explanation: str | None
    user_errors: list[UserError]

    @classmethod
    def of(
        cls, sku_id: uuid.UUID, quantity: int, resolution: PriceResolution | None, errors: list[UserError]
    ) -> PriceResult:
        r = resolution
        return cls(
            sku_id=_id(sku_id),
            quantity=quantity,
            unit_price=_money(r.unit_price) if r else None,
            line_total=_money(r.line_total) if r else None,
            source=PriceSource(r.source.value) if r else None,
            price_list_id=_id(r.price_list.id) if r else None,
            price_list_name=r.price_list.name if r else None,
            break_min_quantity=r.break_min_quantity if r else None,
            assigned_organization_id=_opt_id(r.assigned_organization_id) if r else None,
            quantity_rule=QuantityRule.of(r.quantity_rule) if r else None,
            explanation=r.explanation if r else None,
            user_errors=errors,
        )


@strawberry.type
class PriceRange:
    min: Money
    max: Money


# --------------------------------------------------------------------------- catalog entities


async def _sku_price(info: Info, sku: strawberry.ID, quantity: int, currency: str | None) -> PriceResult:
    sku_id = _uuid_or_none(sku)
    if sku_id is None:
        error = PricingError(ErrorCode.INVALID_INPUT, "Not a valid id.", "id")
        return PriceResult.of(uuid.UUID(int=0), quantity, None, [_user_error(error)])
    outcome = await info.context.loaders.get(loaders.sku_price_loader).load(
        loaders.PriceKey(sku_id, quantity, currency)
    )
    errors = [_user_error(outcome.error)] if outcome.error else []
    return PriceResult.of(sku_id, quantity, outcome.resolution, errors)


@strawberry.federation.type(keys=["id"], description="A catalog SKU, priced here for the current buyer.")
class Sku:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Sku:
        return cls(id=id)

    @strawberry.field(description="Unit price and line total for this buyer at `quantity`, with the rule.")
    async def price(self, info: Info, quantity: int = 1, currency: str | None = None) -> PriceResult:
        return await _sku_price(info, self.id, quantity, currency)

    @strawberry.federation.field(
        requires_scopes=WRITE,
        description="Every price break of this SKU in the tenant's price lists, by list name and minimum "
        "quantity. Pricing managers only (it shows every buyer's contract prices); the gateway removes "
        "it for anyone else.",
    )
    async def price_breaks(self, info: Info) -> list[Price] | None:
        principal = info.context.principal
        sku_id = _uuid_or_none(self.id)
        if principal is None or not principal.has_scope("pricing:write") or sku_id is None:
            return None  # the gateway never asks for it without the scope; refuse anyway
        rows = await info.context.loaders.get(loaders.sku_prices_loader).load(sku_id)
        return [Price.from_model(row, currency) for row, currency in rows]

    @strawberry.field(description="Order quantity limits for this buyer.")
    async def quantity_rule(self, info: Info) -> QuantityRule:
        sku_id = _uuid_or_none(self.id)
        if sku_id is None:
            return QuantityRule.of(DomainRule())
        return QuantityRule.of(await info.context.loaders.get(loaders.quantity_rule_loader).load(sku_id))


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    skus: list[Sku] = strawberry.federation.field(external=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID, skus: list[Any] | None = None) -> Product:
        """`skus` arrives (as `[{id}]`, in the catalog's order) when `price` is asked (`@requires`)."""
        ids = [item.get("id") if isinstance(item, dict) else getattr(item, "id", None) for item in skus or []]
        return cls(id=id, skus=[Sku(id=strawberry.ID(str(i))) for i in ids if i is not None])

    @strawberry.federation.field(
        requires=["skus { id }"],
        description="The price of the product's default SKU (its first in the catalog) for this buyer at "
        "`quantity`, explained like `Sku.price`; null when the product has no SKU.",
    )
    async def price(self, info: Info, quantity: int = 1, currency: str | None = None) -> PriceResult | None:
        if not self.skus:
            return None
        return await _sku_price(info, self.skus[0].id, quantity, currency)

    @strawberry.field(
        description="Lowest and highest single-unit price of the product's SKUs for this buyer."
    )
    async def price_range(self, info: Info) -> PriceRange | None:
        product_id = _uuid_or_none(self.id)
        if product_id is None:
            return None
        found = await info.context.loaders.get(loaders.price_range_loader).load(product_id)
        return PriceRange(min=_money(found.minimum), max=_money(found.maximum)) if found else None


# --------------------------------------------------------------------------- quotes


@strawberry.type(description="An item of the buyer's request, with the target price it hopes for.")
class QuoteRequestItem:
    sku_id: strawberry.ID
    quantity: int
    target_unit_price: Money | None
    note: str | None


@strawberry.type(description="A line of the seller's offer.")
class QuoteLine:
    sku_id: strawberry.ID
    quantity: int
    unit_price: Money
    line_total: Money


@strawberry.type(description="One round of negotiation: the request and, once answered, the offer.")
class QuoteVersion:
    number: int
    items: list[QuoteRequestItem]
    buyer_note: str | None
    requested_at: datetime
    lines: list[QuoteLine] | None
    valid_until: datetime | None
    terms: str | None
    seller_note: str | None
    responded_at: datetime | None
    total: Money | None

    @classmethod
    def of(cls, v: q.QuoteVersion, currency: str) -> QuoteVersion:
        total = v.total(currency)
        return cls(
            number=v.number,
            items=[
                QuoteRequestItem(
                    sku_id=_id(i.sku_id),
                    quantity=i.quantity,
                    target_unit_price=(
                        _money(MoneyValue(i.target_unit_price, currency))
                        if i.target_unit_price is not None
                        else None
                    ),
                    note=i.note,
                )
                for i in v.items
            ],
            buyer_note=v.buyer_note,
            requested_at=v.requested_at,
            lines=(
                [
                    QuoteLine(
                        sku_id=_id(li.sku_id),
                        quantity=li.quantity,
                        unit_price=_money(MoneyValue(li.unit_price, currency)),
                        line_total=_money(MoneyValue(li.total(currency), currency)),
                    )
                    for li in v.lines
                ]
                if v.lines is not None
                else None
            ),
            valid_until=v.valid_until,
            terms=v.terms,
            seller_note=v.seller_note,
            responded_at=v.responded_at,
            total=_money(total) if total else None,
        )


@strawberry.federation.type(keys=["id"], description="A negotiation from request for quote to decision.")
class Quote:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DESCRIPTION)
    status: QuoteStatus = strawberry.field(description="EXPIRED as soon as the offer's validity has passed.")
    buyer_organization_id: strawberry.ID
    seller_organization_id: strawberry.ID | None
    requested_by_user_id: strawberry.ID | None
    currency: str
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    reject_reason: str | None
    version: int = strawberry.field(description="Changes on every transition; pass it as expectedVersion.")
    current_version: QuoteVersion
    versions: list[QuoteVersion] = strawberry.field(description="Every round, oldest first.")

    @classmethod
    def of(cls, view: service.QuoteView) -> Quote:
        quote = view.quote
        return cls(
            id=_id(quote.id),
            tenant_id=tenant_id_of(view.tenant_id),
            status=QuoteStatus(q.effective_status(quote, service.now_utc()).value),
            buyer_organization_id=_id(quote.buyer_organization_id),
            seller_organization_id=_opt_id(quote.seller_organization_id),
            requested_by_user_id=_opt_id(quote.requested_by),
            currency=quote.currency,
            created_at=quote.created_at,
            updated_at=quote.updated_at,
            decided_at=quote.decided_at,
            reject_reason=quote.reject_reason,
            version=view.row_version,
            current_version=QuoteVersion.of(quote.current, quote.currency),
            versions=[QuoteVersion.of(v, quote.currency) for v in quote.versions],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Quote | None:
        quote_id = _uuid_or_none(id)
        if quote_id is None:
            return None
        async with info.context.session() as session:
            view = await service.get_quote(session, quote_id, loaders.caller_of(info.context))
        return cls.of(view) if view else None


# --------------------------------------------------------------------------- queries


@strawberry.input
class CartLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.type(description="A cart line priced, or the error that prevented it.")
class CartLinePrice:
    index: int
    sku_id: strawberry.ID
    quantity: int
    price: PriceResult


@strawberry.type
class CartPrices:
    currency: str | None
    lines: list[CartLinePrice]
    total: Money | None = strawberry.field(description="Sum of the priced lines' rounded totals.")
    user_errors: list[UserError]


@strawberry.type
class Query:
    @strawberry.field(
        directives=[CONNECTION_LIST_SIZE],
        description="Price lists visible to the caller, by name.")
    async def price_lists(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PriceList]:
        settings = info.context.settings
        page = PageArgs.parse(
            first, after, default=settings.page_size_default, maximum=settings.page_size_max
        )
        caller = loaders.caller_of(info.context)
        async with info.context.session() as session:
            buyer = await service.buyer_context(session, caller.organization_id)
            rows, total = await service.list_price_lists(
                session, caller, buyer, limit=page.limit, after=page.after
            )
        return Connection.build(
            [(PriceList.from_model(r), key) for r, key in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.field
    async def price_list(self, info: Info, id: strawberry.ID) -> PriceList | None:
        return await PriceList.resolve_reference(info, id)

    @strawberry.federation.field(authenticated=True)
    async def quote(self, info: Info, id: strawberry.ID) -> Quote | None:
        return await Quote.resolve_reference(info, id)

    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        authenticated=True, description="The caller's quotes, newest first.")
    async def quotes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Quote]:
        settings = info.context.settings
        page = PageArgs.parse(
            first, after, default=settings.page_size_default, maximum=settings.page_size_max
        )
        async with info.context.session() as session:
            rows, total = await service.list_quotes(
                session, loaders.caller_of(info.context), limit=page.limit, after=page.after
            )
        return Connection.build(
            [(Quote.of(view), key) for view, key in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.field(description="Price a whole cart for the caller's organization in one call.")
    async def cart_prices(
        self, info: Info, lines: list[CartLineInput], currency: str | None = None
    ) -> CartPrices:
        caller = loaders.caller_of(info.context)
        try:
            requests = [
                LineRequest(_parse_id(line.sku_id, f"lines.{i}.skuId"), line.quantity)
                for i, line in enumerate(lines)
            ]
            async with info.context.session() as session:
                buyer = await service.buyer_context(session, caller.organization_id)
                cart = await service.price_lines(session, buyer, requests, currency=currency)
        except PricingError as exc:
            return CartPrices(currency=None, lines=[], total=None, user_errors=[_user_error(exc)])
        priced = [
            CartLinePrice(
                index=i,
                sku_id=_id(o.request.sku_id),
                quantity=o.request.quantity,
                price=PriceResult.of(
                    o.request.sku_id,
                    o.request.quantity,
                    o.resolution,
                    [_user_error(o.error)] if o.error else [],
                ),
            )
            for i, o in enumerate(cart.outcomes)
        ]
        errors = [_user_error(o.error) for o in cart.outcomes if o.error]
        return CartPrices(currency=cart.currency, lines=priced, total=_money(cart.total), user_errors=errors)


# --------------------------------------------------------------------------- mutations


@strawberry.input
class PriceListCreateInput:
    name: str
    currency: str
    kind: PriceListKind = PriceListKind.STANDARD
    priority: int = 0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    seller_organization_id: strawberry.ID | None = None
    idempotency_key: str | None = strawberry.field(default=None, description="Replays return the first list.")


@strawberry.type
class PriceListPayload:
    price_list: PriceList | None
    user_errors: list[UserError]


@strawberry.input
class PriceListAssignInput:
    price_list_id: strawberry.ID
    organization_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    unassign_organization_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class PriceBreakSetInput:
    price_list_id: strawberry.ID
    sku_id: strawberry.ID
    product_id: strawberry.ID | None = strawberry.field(default=None, description="For Product.priceRange.")
    min_quantity: int = 1
    amount: str | None = strawberry.field(default=None, description="Unit price (decimal string).")
    remove: bool = strawberry.field(default=False, description="Delete this break instead of setting it.")


@strawberry.type
class PriceBreakSetPayload:
    price: Price | None
    user_errors: list[UserError]


@strawberry.input
class QuantityRuleSetInput:
    sku_id: strawberry.ID
    price_list_id: strawberry.ID | None = strawberry.field(default=None, description="Null: the SKU default.")
    minimum: int = 1
    maximum: int | None = None
    increment: int = 1
    remove: bool = False


@strawberry.type
class QuantityRuleSetPayload:
    quantity_rule: QuantityRule | None
    user_errors: list[UserError]


@strawberry.input
class QuoteItemInput:
    sku_id: strawberry.ID
    quantity: int
    target_unit_price: str | None = None
    note: str | None = None


@strawberry.input
class QuoteRequestInput:
    items: list[QuoteItemInput]
    currency: str | None = None
    note: str | None = None
    seller_organization_id: strawberry.ID | None = None
    buyer_organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="A business unit of the caller's organization; default: the caller's."
    )
    idempotency_key: str | None = None


@strawberry.input
class QuoteLineInput:
    sku_id: strawberry.ID
    quantity: int
    unit_price: str


@strawberry.input
class QuoteRespondInput:
    quote_id: strawberry.ID
    lines: list[QuoteLineInput]
    valid_until: datetime
    terms: str | None = None
    note: str | None = None
    expected_version: int | None = None


@strawberry.input
class QuoteDecisionInput:
    quote_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input
class QuoteRejectInput:
    quote_id: strawberry.ID
    reason: str | None = None
    expected_version: int | None = None


@strawberry.input
class QuoteReviseInput:
    quote_id: strawberry.ID
    items: list[QuoteItemInput]
    note: str | None = None
    expected_version: int | None = None


@strawberry.type
class QuotePayload:
    quote: Quote | None
    user_errors: list[UserError]


def _items(items: list[QuoteItemInput], field: str = "items") -> list[q.RequestedItem]:
    return [
        q.RequestedItem(
            sku_id=_parse_id(item.sku_id, f"{field}.{i}.skuId"),
            quantity=item.quantity,
            target_unit_price=(
                None
                if item.target_unit_price is None
                else parse_unit_amount(item.target_unit_price, f"{field}.{i}.targetUnitPrice")
            ),
            note=item.note,
        )
        for i, item in enumerate(items)
    ]


def _required_amount(amount: str | None) -> str:
    if amount is None:
        raise PricingError(ErrorCode.INVALID_AMOUNT, "Give an amount (or remove: true).", "amount")
    return amount


def _caller(info: Info) -> service.Caller:
    return loaders.caller_of(info.context)


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def price_list_create(self, info: Info, input: PriceListCreateInput) -> PriceListPayload:
        try:
            data = service.NewPriceList(
                name=input.name,
                currency=input.currency,
                kind=DomainKind(input.kind.value),
                priority=input.priority,
                valid_from=input.valid_from,
                valid_to=input.valid_to,
                seller_organization_id=_parse_optional_id(
                    input.seller_organization_id, "sellerOrganizationId"
                ),
                idempotency_key=input.idempotency_key,
            )
            async with info.context.session() as session:
                row = await service.create_price_list(
                    session, info.context.require_tenant(), _caller(info), data
                )
        except PricingError as exc:
            return PriceListPayload(price_list=None, user_errors=[_user_error(exc)])
        return PriceListPayload(price_list=PriceList.from_model(row), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def price_list_assign(self, info: Info, input: PriceListAssignInput) -> PriceListPayload:
        try:
            list_id = _parse_id(input.price_list_id, "priceListId")
            assign = [_parse_id(o, f"organizationIds.{i}") for i, o in enumerate(input.organization_ids)]
            unassign = [
                _parse_id(o, f"unassignOrganizationIds.{i}")
                for i, o in enumerate(input.unassign_organization_ids)
            ]
            async with info.context.session() as session:
                row = await service.assign_price_list(
                    session, info.context.require_tenant(), _caller(info), list_id, assign, unassign=unassign
                )
        except PricingError as exc:
            return PriceListPayload(price_list=None, user_errors=[_user_error(exc)])
        return PriceListPayload(price_list=PriceList.from_model(row), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def price_break_set(self, info: Info, input: PriceBreakSetInput) -> PriceBreakSetPayload:
        try:
            list_id = _parse_id(input.price_list_id, "priceListId")
            sku_id = _parse_id(input.sku_id, "skuId")
            product_id = _parse_optional_id(input.product_id, "productId")
            async with info.context.session() as session:
                row = await service.set_price_break(
                    session,
                    info.context.require_tenant(),
                    _caller(info),
                    price_list_id=list_id,
                    sku_id=sku_id,
                    min_quantity=input.min_quantity,
                    amount=None if input.remove else _required_amount(input.amount),
                    product_id=product_id,
                )
                currency = (await service.get_price_list(session, list_id)).currency
        except PricingError as exc:
            return PriceBreakSetPayload(price=None, user_errors=[_user_error(exc)])
        return PriceBreakSetPayload(price=Price.from_model(row, currency) if row else None, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def quantity_rule_set(self, info: Info, input: QuantityRuleSetInput) -> QuantityRuleSetPayload:
        try:
            sku_id = _parse_id(input.sku_id, "skuId")
            list_id = _parse_optional_id(input.price_list_id, "priceListId")
            async with info.context.session() as session:
                row = await service.set_quantity_rule(
                    session,
                    info.context.require_tenant(),
                    _caller(info),
                    sku_id=sku_id,
                    price_list_id=list_id,
                    minimum=input.minimum,
                    maximum=input.maximum,
                    increment=input.increment,
                    remove=input.remove,
                )
        except PricingError as exc:
            return QuantityRuleSetPayload(quantity_rule=None, user_errors=[_user_error(exc)])
        rule = (
            QuantityRule(minimum=row.minimum, maximum=row.maximum, increment=row.increment) if row else None
        )
        return QuantityRuleSetPayload(quantity_rule=rule, user_errors=[])

    @strawberry.federation.mutation(authenticated=True, description="A buyer's request for quote.")
    async def quote_request(self, info: Info, input: QuoteRequestInput) -> QuotePayload:
        try:
            data = service.NewQuoteRequest(
                items=_items(input.items),
                currency=input.currency,
                note=input.note,
                seller_organization_id=_parse_optional_id(
                    input.seller_organization_id, "sellerOrganizationId"
                ),
                buyer_organization_id=_parse_optional_id(input.buyer_organization_id, "buyerOrganizationId"),
                idempotency_key=input.idempotency_key,
            )
            async with info.context.session() as session:
                view = await service.request_quote(
                    session, info.context.require_tenant(), _caller(info), data
                )
        except PricingError as exc:
            return QuotePayload(quote=None, user_errors=[_user_error(exc)])
        info.context.wake_relay()
        return QuotePayload(quote=Quote.of(view), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE, description="The seller's offer for a request.")
    async def quote_respond(self, info: Info, input: QuoteRespondInput) -> QuotePayload:
        try:
            quote_id = _parse_id(input.quote_id, "quoteId")
            lines = [
                q.OfferLine(
                    _parse_id(line.sku_id, f"lines.{i}.skuId"),
                    line.quantity,
                    parse_unit_amount(line.unit_price, f"lines.{i}.unitPrice"),
                )
                for i, line in enumerate(input.lines)
            ]
            response = service.QuoteResponse(lines, input.valid_until, input.terms, input.note)
            async with info.context.session() as session:
                view = await service.respond_to_quote(
                    session,
                    info.context.require_tenant(),
                    _caller(info),
                    quote_id,
                    response,
                    input.expected_version,
                )
        except PricingError as exc:
            return QuotePayload(quote=None, user_errors=[_user_error(exc)])
        info.context.wake_relay()
        return QuotePayload(quote=Quote.of(view), user_errors=[])

    @strawberry.federation.mutation(authenticated=True, description="The buyer accepts the current offer.")
    async def quote_accept(self, info: Info, input: QuoteDecisionInput) -> QuotePayload:
        try:
            quote_id = _parse_id(input.quote_id, "quoteId")
            async with info.context.session() as session:
                view = await service.accept_quote(
                    session, info.context.require_tenant(), _caller(info), quote_id, input.expected_version
                )
        except PricingError as exc:
            return QuotePayload(quote=None, user_errors=[_user_error(exc)])
        info.context.wake_relay()
        return QuotePayload(quote=Quote.of(view), user_errors=[])

    @strawberry.federation.mutation(
        authenticated=True, description="Buyer rejects an offer / seller declines."
    )
    async def quote_reject(self, info: Info, input: QuoteRejectInput) -> QuotePayload:
        try:
            quote_id = _parse_id(input.quote_id, "quoteId")
            async with info.context.session() as session:
                view = await service.reject_quote(
                    session,
                    info.context.require_tenant(),
                    _caller(info),
                    quote_id,
                    input.reason,
                    input.expected_version,
                )
        except PricingError as exc:
            return QuotePayload(quote=None, user_errors=[_user_error(exc)])
        info.context.wake_relay()
        return QuotePayload(quote=Quote.of(view), user_errors=[])

    @strawberry.federation.mutation(
        authenticated=True, description="Renegotiate: a new version of the request."
    )
    async def quote_revise(self, info: Info, input: QuoteReviseInput) -> QuotePayload:
        try:
            quote_id = _parse_id(input.quote_id, "quoteId")
            items = _items(input.items)
            async with info.context.session() as session:
                view = await service.revise_quote(
                    session,
                    info.context.require_tenant(),
                    _caller(info),
                    quote_id,
                    items,
                    input.note,
                    input.expected_version,
                )
        except PricingError as exc:
            return QuotePayload(quote=None, user_errors=[_user_error(exc)])
        info.context.wake_relay()
        return QuotePayload(quote=Quote.of(view), user_errors=[])


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[PriceList, Quote, Sku, Product],
    federation_version=FEDERATION_VERSION,
)
