"""Pricing a cart and learning its SKUs' facts from the other domains, over NATS request-reply.

Prices come from `svc.pricing` op `cart_prices` (the buyer's prices and quantity rules, resolved
for the principal of the forwarded signed context); seller, SKU code, product name and category
from `svc.catalog` op `sku_info` (only SKUs the buyer's catalog shows). `call` is
`RequestContext.call` or an equivalent outside a request. No GraphQL here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.errors import AppError, FieldError
from shared.rpc import RpcError, ServiceUnavailable

Call = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_LINES = 500  # pricing's cart_prices and catalog's sku_info limit
REPLY_WITHIN = 3.0


class DependencyUnavailableError(AppError):
    """Another domain the answer depends on did not answer in time."""

    code = "DEPENDENCY_UNAVAILABLE"


class DependencyError(AppError):
    """Another domain answered with an error the caller cannot fix."""

    code = "DEPENDENCY_ERROR"


@dataclass(frozen=True, slots=True)
class QuantityRule:
    minimum: int = 1
    maximum: int | None = None
    increment: int = 1


@dataclass(frozen=True, slots=True)
class SkuFacts:
    seller_organization_id: uuid.UUID | None
    sku_code: str | None
    product_name: str | None
    category_id: uuid.UUID | None
    status: str | None


@dataclass(slots=True)
class CheckoutLine:
    index: int
    sku_id: uuid.UUID
    quantity: int
    unit_price: Decimal | None = None
    line_total: Decimal | None = None
    price_source: str | None = None
    price_list_id: uuid.UUID | None = None
    rule: QuantityRule | None = None
    facts: SkuFacts | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass(slots=True)
class Checkout:
    currency: str
    lines: list[CheckoutLine]

    @property
    def errors(self) -> list[FieldError]:
        return [e for line in self.lines for e in line.errors]

    @property
    def total(self) -> Decimal:
        return sum((li.line_total for li in self.lines if li.line_total is not None), Decimal("0"))


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _field(index: int, name: str = "quantity") -> tuple[str, ...]:
    return ("lines", str(index), name)


def rule_errors(index: int, quantity: int, rule: QuantityRule) -> list[FieldError]:
    """The quantity rule (min, step, max) as per-line errors."""
    out: list[FieldError] = []
    if quantity < rule.minimum:
        out.append(FieldError(_field(index), f"at least {rule.minimum} units", "QUANTITY_BELOW_MINIMUM"))
    if rule.increment > 1 and quantity % rule.increment:
        out.append(
            FieldError(
                _field(index), f"in steps of {rule.increment} units", "QUANTITY_NOT_MULTIPLE_OF_INCREMENT"
            )
        )
    if rule.maximum is not None and quantity > rule.maximum:
        out.append(FieldError(_field(index), f"at most {rule.maximum} units", "QUANTITY_ABOVE_MAXIMUM"))
    return out


async def _ask(call: Call, domain: str, op: str, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        return await call(domain, op, arguments)
    except ServiceUnavailable as exc:
        raise DependencyUnavailableError(
            f"the {domain} service did not answer; retry in a moment", extensions={"service": domain}
        ) from exc
    except RpcError as exc:
        raise DependencyError(
            f"{domain} refused the request: {exc.message}", extensions={"service": domain, "cause": exc.code}
        ) from exc


async def sku_facts(call: Call, sku_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SkuFacts]:
    if not sku_ids:
        return {}
    reply = await _ask(call, "catalog", "sku_info", {"sku_ids": [str(s) for s in sku_ids]})
    out: dict[uuid.UUID, SkuFacts] = {}
    for key, info in (reply.get("skus") or {}).items():
        sku = _uuid(key)
        if sku is None or not isinstance(info, dict):
            continue
        out[sku] = SkuFacts(
            seller_organization_id=_uuid(info.get("seller_organization_id")),
            sku_code=info.get("sku_code"),
            product_name=info.get("product_name"),
            category_id=_uuid(info.get("category_id")),
            status=info.get("status"),
        )
    return out


async def price_cart(call: Call, lines: Sequence[tuple[uuid.UUID, int]]) -> Checkout:
    """Prices, rules and facts of every line, with per-line errors (field `lines.<i>.<name>`)."""
    if len(lines) > MAX_LINES:
        raise DependencyError(f"a cart holds at most {MAX_LINES} lines")
    pricing_args = {"lines": [{"sku_id": str(s), "quantity": q} for s, q in lines]}
    priced, facts = await asyncio.gather(
        _ask(call, "pricing", "cart_prices", pricing_args), sku_facts(call, [s for s, _ in lines])
    )
    currency = str(priced.get("currency") or "")
    replies = priced.get("lines") or []
    out: list[CheckoutLine] = []
    for index, (sku, quantity) in enumerate(lines):
        line = CheckoutLine(index, sku, quantity, facts=facts.get(sku))
        reply = replies[index] if index < len(replies) and isinstance(replies[index], dict) else {}
        if reply.get("unit_price") is not None:
            line.unit_price = Decimal(str(reply["unit_price"]))
            line.line_total = Decimal(str(reply["line_total"]))
            line.price_source = reply.get("source")
            line.price_list_id = _uuid(reply.get("price_list_id"))
        raw_rule = reply.get("quantity_rule")
        if isinstance(raw_rule, dict):
            line.rule = QuantityRule(
                int(raw_rule.get("minimum") or 1),
                raw_rule.get("maximum"),
                int(raw_rule.get("increment") or 1),
            )
        if line.facts is None or line.facts.status != "ACTIVE" or line.facts.seller_organization_id is None:
            line.errors.append(
                FieldError(_field(index, "skuId"), "this SKU is not available to you", "SKU_UNAVAILABLE")
            )
        error = reply.get("error")
        if isinstance(error, dict):
            line.errors.append(
                FieldError(
                    _field(index), str(error.get("message") or ""), str(error.get("code") or "NO_PRICE")
                )
            )
        elif line.rule is not None:
            line.errors.extend(rule_errors(index, quantity, line.rule))
        if line.unit_price is None and not isinstance(error, dict):
            line.errors.append(FieldError(_field(index), "no price for this SKU", "NO_PRICE"))
        out.append(line)
    return Checkout(currency, out)
