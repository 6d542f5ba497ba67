"""Price resolution: which unit price a buyer pays for a SKU at a quantity, and why.

Pure functions over plain dataclasses (no database, no GraphQL), so the precedence rules can be
tested exhaustively. The service loads a `PricingSnapshot` with a fixed number of queries for a
whole cart and asks this module for every line.

Precedence (docs/pricing.md repeats this):
1. Candidates: price lists in the requested currency, active, valid at the time
   (`valid_from <= at < valid_to`, open ends allowed), holding a price row for the SKU whose
   `min_quantity <= quantity` (a list whose breaks all start above the quantity is no candidate).
2. Source tier: CONTRACT beats PRICE_LIST beats BASE. CONTRACT and PRICE_LIST lists apply only
   when assigned to the buyer organization or one of its ancestors; BASE lists apply to every
   buyer of the tenant without assignment.
3. Inside a tier: the nearest assignment wins (the buyer's own organization, then its parent,
   and so on up), so a business unit's own list beats the one it inherits from its parent,
   whatever their priorities. Then the higher `priority`, then the later `valid_from` (the newer
   schedule), then the smaller list id (only to make the result deterministic).
4. In the winning list, the price break with the highest `min_quantity <= quantity` sets the unit
   price (a break at min quantity 1 is the plain list price).
5. The quantity rule of the SKU in the winning list applies, else the SKU's default rule (no
   list), else no limits (minimum 1, increment 1). A violation is an error with a code.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.money import Money, line_total, normalize_currency


class PriceListKind(StrEnum):
    BASE = "BASE"  # the tenant-wide fallback list prices
    STANDARD = "STANDARD"  # a negotiated list assigned to buyer organizations
    CONTRACT = "CONTRACT"  # buyer-specific contract prices, assigned to one buyer organization


class PriceSource(StrEnum):
    CONTRACT = "CONTRACT"
    PRICE_LIST = "PRICE_LIST"
    BASE = "BASE"


SOURCE_OF_KIND: dict[PriceListKind, PriceSource] = {
    PriceListKind.CONTRACT: PriceSource.CONTRACT,
    PriceListKind.STANDARD: PriceSource.PRICE_LIST,
    PriceListKind.BASE: PriceSource.BASE,
}
_TIER_RANK: dict[PriceListKind, int] = {
    PriceListKind.CONTRACT: 0,
    PriceListKind.STANDARD: 1,
    PriceListKind.BASE: 2,
}


@dataclass(frozen=True, slots=True)
class PriceListRecord:
    id: uuid.UUID
    name: str
    currency: str
    kind: PriceListKind = PriceListKind.STANDARD
    priority: int = 0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    active: bool = True

    def valid_at(self, at: datetime) -> bool:
        if not self.active:
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        return not (self.valid_to is not None and at >= self.valid_to)


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    price_list_id: uuid.UUID
    organization_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class PriceRecord:
    """One price break: from `min_quantity` units on, each unit costs `unit_amount`."""

    price_list_id: uuid.UUID
    sku_id: uuid.UUID
    min_quantity: int
    unit_amount: Decimal


@dataclass(frozen=True, slots=True)
class QuantityRule:
    minimum: int = 1
    maximum: int | None = None
    increment: int = 1

    def check(self, quantity: int, field: str = "quantity") -> None:
        """Raise the first violated constraint as a `PricingError` with its own code."""
        if quantity < self.minimum:
            raise PricingError(
                ErrorCode.QUANTITY_BELOW_MINIMUM, f"Minimum order quantity is {self.minimum}.", field
            )
        if self.maximum is not None and quantity > self.maximum:
            raise PricingError(
                ErrorCode.QUANTITY_ABOVE_MAXIMUM, f"Maximum order quantity is {self.maximum}.", field
            )
        if quantity % self.increment != 0:
            raise PricingError(
                ErrorCode.QUANTITY_NOT_MULTIPLE_OF_INCREMENT,
                f"Quantity must be a multiple of {self.increment}.",
                field,
            )


NO_LIMITS = QuantityRule()


def validate_quantity_rule(minimum: int, maximum: int | None, increment: int) -> QuantityRule:
    """A rule that can be satisfied: increment >= 1, minimum >= 1 and a multiple of the increment,
    maximum (if any) >= minimum and a multiple of the increment."""
    if increment < 1:
        raise PricingError(ErrorCode.INVALID_QUANTITY_RULE, "Increment must be at least 1.", "increment")
    if minimum < 1:
        raise PricingError(ErrorCode.INVALID_QUANTITY_RULE, "Minimum must be at least 1.", "minimum")
    if minimum % increment != 0:
        raise PricingError(
            ErrorCode.INVALID_QUANTITY_RULE, "Minimum must be a multiple of the increment.", "minimum"
        )
    if maximum is not None:
        if maximum < minimum:
            raise PricingError(
                ErrorCode.INVALID_QUANTITY_RULE, "Maximum must not be below the minimum.", "maximum"
            )
        if maximum % increment != 0:
            raise PricingError(
                ErrorCode.INVALID_QUANTITY_RULE, "Maximum must be a multiple of the increment.", "maximum"
            )
    return QuantityRule(minimum, maximum, increment)


@dataclass(frozen=True, slots=True)
class QuantityRuleRecord:
    sku_id: uuid.UUID
    price_list_id: uuid.UUID | None  # None: the SKU's default rule
    rule: QuantityRule


@dataclass(frozen=True, slots=True)
class PricingSnapshot:
    """Everything needed to price some SKUs for one buyer: loaded once, used for every line."""

    price_lists: Sequence[PriceListRecord] = ()
    assignments: Sequence[AssignmentRecord] = ()
    prices: Sequence[PriceRecord] = ()
    quantity_rules: Sequence[QuantityRuleRecord] = ()


@dataclass(frozen=True, slots=True)
class PriceResolution:
    sku_id: uuid.UUID
    quantity: int
    unit_price: Money
    line_total: Money
    source: PriceSource
    price_list: PriceListRecord
    break_min_quantity: int
    # The organization whose assignment made the list apply (None for BASE lists) and its
    # distance from the buyer (0 = the buyer itself).
    assigned_organization_id: uuid.UUID | None
    assignment_depth: int | None
    quantity_rule: QuantityRule

    @property
    def explanation(self) -> str:
        where = {
            PriceSource.CONTRACT: "contract price",
            PriceSource.PRICE_LIST: "price list",
            PriceSource.BASE: "base price list",
        }[self.source]
        text = f"{where} '{self.price_list.name}'"
        if self.assignment_depth is not None:
            text += (
                " assigned to the buyer"
                if self.assignment_depth == 0
                else (f" inherited from an ancestor organization ({self.assignment_depth} level(s) up)")
            )
        text += f", price break from {self.break_min_quantity} unit(s)"
        return text


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """A cart line: either a resolution or the error that prevented one."""

    request: LineRequest
    resolution: PriceResolution | None = None
    error: PricingError | None = None


@dataclass(slots=True)
class _Index:
    """The snapshot indexed for lookups; built once per cart."""

    lists: dict[uuid.UUID, PriceListRecord] = field(default_factory=dict)
    assigned_to: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # list id -> org ids
    prices: dict[tuple[uuid.UUID, uuid.UUID], list[PriceRecord]] = field(default_factory=dict)
    rules: dict[tuple[uuid.UUID, uuid.UUID | None], QuantityRule] = field(default_factory=dict)


def _index(snapshot: PricingSnapshot) -> _Index:
    idx = _Index()
    idx.lists = {pl.id: pl for pl in snapshot.price_lists}
    for a in snapshot.assignments:
        idx.assigned_to.setdefault(a.price_list_id, set()).add(a.organization_id)
    for p in snapshot.prices:
        idx.prices.setdefault((p.sku_id, p.price_list_id), []).append(p)
    for r in snapshot.quantity_rules:
        idx.rules[(r.sku_id, r.price_list_id)] = r.rule
    return idx


def _best_break(rows: Iterable[PriceRecord], quantity: int) -> PriceRecord | None:
    best: PriceRecord | None = None
    for row in rows:
        if row.min_quantity <= quantity and (best is None or row.min_quantity > best.min_quantity):
            best = row
    return best


_Choice = tuple[PriceListRecord, PriceRecord, uuid.UUID | None, int | None]


def _choose(
    idx: _Index, depth_of: dict[uuid.UUID, int], sku_id: uuid.UUID, quantity: int, currency: str, at: datetime
) -> _Choice | None:
    """The winning (list, break, assigned organization, depth) by the precedence above."""
    best_key: tuple[int, int, int, float, str] | None = None
    best: _Choice | None = None
    for pl in idx.lists.values():
        if pl.currency != currency or not pl.valid_at(at):
            continue
        row = _best_break(idx.prices.get((sku_id, pl.id), ()), quantity)
        if row is None:
            continue
        org: uuid.UUID | None = None
        depth: int | None = None
        if pl.kind != PriceListKind.BASE:
            reachable = [(depth_of[o], o) for o in idx.assigned_to.get(pl.id, ()) if o in depth_of]
            if not reachable:
                continue
            depth, org = min(reachable)
        key = (
            _TIER_RANK[pl.kind],
            depth if depth is not None else 0,
            -pl.priority,
            -(pl.valid_from.timestamp() if pl.valid_from is not None else float("-inf")),
            str(pl.id),
        )
        if best_key is None or key < best_key:
            best_key, best = key, (pl, row, org, depth)
    return best


def _rule(idx: _Index, sku_id: uuid.UUID, price_list_id: uuid.UUID | None) -> QuantityRule:
    if price_list_id is not None and (sku_id, price_list_id) in idx.rules:
        return idx.rules[(sku_id, price_list_id)]
    return idx.rules.get((sku_id, None), NO_LIMITS)


def _resolve_one(
    idx: _Index,
    depth_of: dict[uuid.UUID, int],
    request: LineRequest,
    currency: str,
    at: datetime,
    field: str,
) -> PriceResolution:
    if request.quantity < 1:
        raise PricingError(ErrorCode.INVALID_QUANTITY, "Quantity must be at least 1.", field)
    choice = _choose(idx, depth_of, request.sku_id, request.quantity, currency, at)
    if choice is None:
        raise PricingError(ErrorCode.NO_PRICE, f"No price for SKU {request.sku_id} in {currency}.", field)
    pl, row, org, depth = choice
    rule = _rule(idx, request.sku_id, pl.id)
    rule.check(request.quantity, field)
    return PriceResolution(
        sku_id=request.sku_id,
        quantity=request.quantity,
        unit_price=Money(row.unit_amount, currency),
        line_total=Money(line_total(row.unit_amount, request.quantity, currency), currency),
        source=SOURCE_OF_KIND[pl.kind],
        price_list=pl,
        break_min_quantity=row.min_quantity,
        assigned_organization_id=org,
        assignment_depth=depth,
        quantity_rule=rule,
    )


def chain_depths(organization_chain: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """`[buyer, parent, grandparent, ...]` -> distance of each from the buyer (first wins on cycles)."""
    depths: dict[uuid.UUID, int] = {}
    for depth, org in enumerate(organization_chain):
        depths.setdefault(org, depth)
    return depths


def resolve_cart(
    snapshot: PricingSnapshot,
    organization_chain: Sequence[uuid.UUID],
    lines: Sequence[LineRequest],
    currency: str,
    at: datetime,
    field_prefix: str = "lines",
) -> list[LineOutcome]:
    """Resolve every line against one snapshot. One bad line does not hide the others' prices:
    each outcome carries a resolution or the error at `lines.<i>.<field>`."""
    currency = normalize_currency(currency)
    idx = _index(snapshot)
    depth_of = chain_depths(organization_chain)
    outcomes: list[LineOutcome] = []
    for i, line in enumerate(lines):
        try:
            resolution = _resolve_one(idx, depth_of, line, currency, at, f"{field_prefix}.{i}.quantity")
        except PricingError as exc:
            if exc.code == ErrorCode.NO_PRICE:
                exc = exc.at(f"{field_prefix}.{i}.skuId")
            outcomes.append(LineOutcome(line, error=exc))
        else:
            outcomes.append(LineOutcome(line, resolution=resolution))
    return outcomes


def resolve_price(
    snapshot: PricingSnapshot,
    organization_chain: Sequence[uuid.UUID],
    sku_id: uuid.UUID,
    quantity: int,
    currency: str,
    at: datetime,
) -> PriceResolution:
    """One SKU; raises the `PricingError` (field `quantity` or `skuId`) when there is no price."""
    currency = normalize_currency(currency)
    try:
        return _resolve_one(
            _index(snapshot),
            chain_depths(organization_chain),
            LineRequest(sku_id, quantity),
            currency,
            at,
            "quantity",
        )
    except PricingError as exc:
        raise exc.at("skuId") if exc.code == ErrorCode.NO_PRICE else exc from None


def quantity_rule_for(
    snapshot: PricingSnapshot,
    organization_chain: Sequence[uuid.UUID],
    sku_id: uuid.UUID,
    currency: str,
    at: datetime,
) -> QuantityRule:
    """The rule a buyer ordering this SKU is held to: the rule of the list that prices one unit
    (or, when its breaks all start higher, of the list that prices the SKU at all), else the
    SKU's default rule."""
    idx = _index(snapshot)
    depth_of = chain_depths(organization_chain)
    currency = normalize_currency(currency)
    choice = _choose(idx, depth_of, sku_id, 1, currency, at) or _choose(
        idx, depth_of, sku_id, 1 << 62, currency, at
    )
    return _rule(idx, sku_id, choice[0].id if choice is not None else None)
