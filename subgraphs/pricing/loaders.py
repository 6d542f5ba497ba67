"""Per-request DataLoaders of the pricing subgraph: `info.context.loaders.get(sku_price_loader)`.

Federation resolves `Sku.price` for many SKUs of one response in one `_entities` call; the loader
gathers them into one batch, priced with one snapshot (a fixed number of statements).
Each batch opens its own tenant transaction, so loaders work from any resolver, concurrently.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from shared.context import RequestContext
from shared.loaders import groups_by_key
from subgraphs.pricing import service
from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.models import Price
from subgraphs.pricing.resolution import LineOutcome, LineRequest, QuantityRule


def caller_of(ctx: RequestContext) -> service.Caller:
    principal = ctx.principal
    if principal is None:
        return service.Caller(None)

    def _uuid(value: str | None) -> uuid.UUID | None:
        try:
            return uuid.UUID(value) if value else None
        except ValueError:
            return None

    return service.Caller(
        organization_id=_uuid(principal.organization_id),
        user_id=_uuid(principal.user_id),
        can_manage_prices=principal.has_scope("pricing:write"),
    )


@dataclass(frozen=True, slots=True)
class PriceKey:
    sku_id: uuid.UUID
    quantity: int
    currency: str | None


def sku_price_loader(ctx: RequestContext) -> DataLoader[PriceKey, LineOutcome]:
    async def load(keys: Sequence[PriceKey]) -> list[LineOutcome]:
        caller = caller_of(ctx)
        results: dict[PriceKey, LineOutcome] = {}
        async with ctx.session() as session:
            buyer = await service.buyer_context(session, caller.organization_id)
            for currency in dict.fromkeys(k.currency for k in keys):
                group = [k for k in keys if k.currency == currency]
                try:
                    cart = await service.price_lines(
                        session, buyer, [LineRequest(k.sku_id, k.quantity) for k in group], currency=currency
                    )
                except PricingError as exc:  # an unknown currency fails the whole group alike
                    for k in group:
                        results[k] = LineOutcome(LineRequest(k.sku_id, k.quantity), error=exc)
                    continue
                for k, outcome in zip(group, cart.outcomes, strict=True):
                    results[k] = outcome
        return [_field_relative(results[k]) for k in keys]

    return DataLoader(load)


def _field_relative(outcome: LineOutcome) -> LineOutcome:
    """Errors of `Sku.price` name the argument at fault (`quantity`), not a cart line path."""
    if outcome.error is None:
        return outcome
    field = "quantity" if outcome.error.code != ErrorCode.NO_PRICE else None
    if outcome.error.code == ErrorCode.UNSUPPORTED_CURRENCY:
        field = "currency"
    return LineOutcome(outcome.request, error=outcome.error.at(field) if field else outcome.error.at("id"))


def quantity_rule_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, QuantityRule]:
    async def load(sku_ids: Sequence[uuid.UUID]) -> list[QuantityRule]:
        caller = caller_of(ctx)
        async with ctx.session() as session:
            buyer = await service.buyer_context(session, caller.organization_id)
            rules = await service.quantity_rules_for(session, buyer, list(sku_ids))
        return [rules[s] for s in sku_ids]

    return DataLoader(load)


def price_range_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, service.PriceRange | None]:
    async def load(product_ids: Sequence[uuid.UUID]) -> list[service.PriceRange | None]:
        caller = caller_of(ctx)
        async with ctx.session() as session:
            buyer = await service.buyer_context(session, caller.organization_id)
            ranges = await service.price_ranges(session, buyer, list(product_ids))
        return [ranges[p] for p in product_ids]

    return DataLoader(load)


def list_prices_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[Price]]:
    return groups_by_key(ctx, service.prices_of_lists)


def sku_prices_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[tuple[Price, str]]]:
    return groups_by_key(ctx, service.prices_of_skus)


def list_assignments_loader(ctx: RequestContext) -> DataLoader[uuid.UUID, list[uuid.UUID]]:
    return groups_by_key(ctx, service.assignments_of_lists)
