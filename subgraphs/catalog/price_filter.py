"""The price-range filter of product search, resolved by the pricing domain.

Catalog owns no prices: the buyer's unit price of a SKU comes from `svc.pricing` (NATS
request-reply, op `cart_prices`), asked with the caller's signed gateway context, so pricing
resolves it for the current buyer exactly as `Sku.price` does. A product matches when the unit
price of at least one of its SKUs, at `quantity` and in `currency` (the buyer's own when not
given), lies within [min, max] (both inclusive, each optional). SKUs pricing cannot price for the
buyer (no price, quantity below the minimum...) never match.

Cost: the candidates (every other filter, computed in SQL) are priced in batches of
`BATCH_LINES` SKUs, one request each (concurrently), then the search runs again restricted to
the survivors, so paging, `totalCount` and facets are exact. Broad queries are slower; more than
`MAX_CANDIDATES` candidate products is refused with `PRICE_FILTER_TOO_BROAD`.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.context import RequestContext
from shared.errors import AppError, BadUserInputError
from shared.rpc import RpcError, ServiceUnavailable

MAX_CANDIDATES = 5_000
BATCH_LINES = 500  # the pricing service's cart_prices limit
MAX_QUANTITY = 1_000_000
REPLY_WITHIN = 3.0  # seconds per batch


class DependencyUnavailableError(AppError):
    """Another domain the answer depends on did not answer in time."""

    code = "DEPENDENCY_UNAVAILABLE"


class DependencyError(AppError):
    """Another domain answered with an error the caller cannot fix."""

    code = "DEPENDENCY_ERROR"


class PriceFilterTooBroadError(AppError):
    code = "PRICE_FILTER_TOO_BROAD"


@dataclass(frozen=True, slots=True)
class PriceRange:
    minimum: Decimal | None
    maximum: Decimal | None
    currency: str | None
    quantity: int

    def contains(self, amount: Decimal) -> bool:
        return (self.minimum is None or amount >= self.minimum) and (
            self.maximum is None or amount <= self.maximum
        )


# A plain decimal: digits, optionally a point and up to 6 decimals (no sign, exponent, NaN).
_DECIMAL = re.compile(r"\d{1,15}(\.\d{1,6})?")


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        raise BadUserInputError(
            f'price.{name} must be a non-negative decimal string such as "12.50", not {value!r}',
            extensions={"argument": f"filter.price.{name}"},
        )
    return Decimal(text)


def parse_price_range(
    minimum: str | None, maximum: str | None, currency: str | None, quantity: int | None
) -> PriceRange:
    low, high = _decimal(minimum, "min"), _decimal(maximum, "max")
    if low is not None and high is not None and low > high:
        raise BadUserInputError(
            "price.min is greater than price.max", extensions={"argument": "filter.price"}
        )
    code = None
    if currency is not None:
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise BadUserInputError(
                f"unknown currency {currency!r}", extensions={"argument": "filter.price.currency"}
            )
    qty = 1 if quantity is None else quantity
    if qty < 1 or qty > MAX_QUANTITY:
        raise BadUserInputError(
            f"price.quantity must be between 1 and {MAX_QUANTITY}",
            extensions={"argument": "filter.price.quantity"},
        )
    return PriceRange(low, high, code, qty)


def _batches(items: Sequence[uuid.UUID], size: int) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _ask(ctx: RequestContext, price: PriceRange, sku_ids: Sequence[uuid.UUID]) -> dict[str, str | None]:
    arguments: dict[str, object] = {
        "lines": [{"sku_id": str(s), "quantity": price.quantity} for s in sku_ids],
    }
    if price.currency:
        arguments["currency"] = price.currency
    try:
        reply = await ctx.call("pricing", "cart_prices", arguments, reply_within=REPLY_WITHIN)
    except ServiceUnavailable as exc:
        raise DependencyUnavailableError(
            "prices are unavailable right now (the pricing service did not answer); "
            "retry, or search without the price filter",
            extensions={"service": "pricing"},
        ) from exc
    except RpcError as exc:
        if exc.code == "UNSUPPORTED_CURRENCY":
            raise BadUserInputError(exc.message, extensions={"argument": "filter.price.currency"}) from exc
        raise DependencyError(
            f"pricing refused the request: {exc.message}",
            extensions={"service": "pricing", "cause": exc.code},
        ) from exc
    return {str(line["sku_id"]): line.get("unit_price") for line in reply.get("lines") or []}


async def products_in_range(
    ctx: RequestContext, price: PriceRange, candidates: dict[uuid.UUID, list[uuid.UUID]]
) -> tuple[uuid.UUID, ...]:
    """The candidate products with at least one SKU whose buyer unit price is in range, in the
    candidates' order. One pricing request per batch of SKUs; an empty candidate set still asks
    once (with no lines) so an unknown currency is reported, not silently matching nothing."""
    sku_ids = [s for skus in candidates.values() for s in skus]
    batches = list(_batches(sku_ids, BATCH_LINES)) or [[]]
    replies = await asyncio.gather(*(_ask(ctx, price, batch) for batch in batches))
    unit_prices: dict[str, str | None] = {}
    for reply in replies:
        unit_prices.update(reply)

    def matches(sku: uuid.UUID) -> bool:
        amount = unit_prices.get(str(sku))
        return amount is not None and price.contains(Decimal(amount))

    return tuple(pid for pid, skus in candidates.items() if any(matches(s) for s in skus))
