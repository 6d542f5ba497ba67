"""Fulfilment routing as data: which warehouse ships which line, and with which carrier (pure).

Stock decides where units are reserved (`stock.reserved` allocations per line and location): that
is the stock picture routing works with, and every plan ships exactly the allocated quantity per
(SKU, location), so stock's committed quantities are consumed exactly. Within that, a line may go
wholly to any location holding enough of its SKU in the order's allocation (lines of one SKU can
swap locations), or stay split as stock allocated it. Every feasible plan is scored with the
tenant's weights, lowest total wins:

    parcels          x (number of parcels - 1)             order structure: splits cost
    warehouse_cost   x sum of the warehouses' cost per parcel
    region           x parcels shipped from outside the delivery country
    carrier_price    x the chosen carrier's price per parcel     } per parcel, the carrier with the
    carrier_quality  x (1 - the carrier's quality score)         } lowest sum of both (serving the
                                                                    delivery country)

Ties go to fewer parcels, then to the plan whose sorted (location, line) list is smallest, so the
result is deterministic: the simulator and the live routing make the same choice from the same
inputs.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_PLANS = 512
WEIGHT_NAMES: tuple[str, ...] = ("parcels", "warehouse_cost", "region", "carrier_price", "carrier_quality")


@dataclass(frozen=True, slots=True)
class Weights:
    parcels: Decimal = Decimal("5")
    warehouse_cost: Decimal = Decimal("1")
    region: Decimal = Decimal("3")
    carrier_price: Decimal = Decimal("1")
    carrier_quality: Decimal = Decimal("10")

    def to_json(self) -> dict[str, str]:
        return {name: format(getattr(self, name), "f") for name in WEIGHT_NAMES}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Weights:
        values: dict[str, Decimal] = {}
        for name in WEIGHT_NAMES:
            if raw and raw.get(name) is not None:
                values[name] = parse_weight(str(raw[name]), name)
        return cls(**values)


class RoutingInputError(ValueError):
    def __init__(self, field_name: str, message: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code


def parse_weight(value: str, name: str) -> Decimal:
    try:
        weight = Decimal(value)
    except InvalidOperation:
        raise RoutingInputError(name, "must be a decimal number") from None
    if not weight.is_finite() or weight < 0 or weight > 1_000_000:
        raise RoutingInputError(name, "must be between 0 and 1000000")
    return weight


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    sku_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Allocation:
    line_id: str
    sku_id: str
    location_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    location_id: str
    country: str
    cost_per_parcel: Decimal


@dataclass(frozen=True, slots=True)
class CarrierInfo:
    id: str
    code: str
    quality: Decimal
    price_per_parcel: Decimal
    countries: frozenset[str] = frozenset()

    def serves(self, country: str | None) -> bool:
        return not self.countries or (country is not None and country in self.countries)


@dataclass(frozen=True, slots=True)
class Parcel:
    location_id: str
    carrier_id: str | None
    carrier_code: str | None
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    parcels: tuple[Parcel, ...]
    score: Decimal
    breakdown: dict[str, Decimal]

    def key(self) -> tuple[Any, ...]:
        return (
            self.score,
            len(self.parcels),
            tuple((p.location_id, tuple((li.line_id, li.quantity) for li in p.lines)) for p in self.parcels),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "score": format(self.score, "f"),
            "breakdown": {k: format(v, "f") for k, v in self.breakdown.items()},
            "parcels": [
                {
                    "location_id": p.location_id,
                    "carrier_id": p.carrier_id,
                    "carrier_code": p.carrier_code,
                    "lines": [
                        {"line_id": li.line_id, "sku_id": li.sku_id, "quantity": li.quantity}
                        for li in p.lines
                    ],
                }
                for p in self.parcels
            ],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    chosen: Plan
    candidates: tuple[Plan, ...] = field(default=())


class RoutingError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _line_options(
    line: Line, allocations: Sequence[Allocation], available: Mapping[tuple[str, str], int]
) -> list[tuple[tuple[str, int], ...]]:
    """Where `line` may ship from: wholly from one location holding enough of its SKU, or split as
    stock allocated it. Each option is ((location, quantity), ...)."""
    own = [a for a in allocations if a.line_id == line.line_id]
    if sum(a.quantity for a in own) < line.quantity:
        raise RoutingError("NOT_ALLOCATED", f"line {line.line_id} is not fully allocated by stock")
    options: list[tuple[tuple[str, int], ...]] = []
    for (sku, location), quantity in sorted(available.items()):
        if sku == line.sku_id and quantity >= line.quantity:
            options.append(((location, line.quantity),))
    split: dict[str, int] = defaultdict(int)
    remaining = line.quantity
    for a in sorted(own, key=lambda a: a.location_id):
        take = min(a.quantity, remaining)
        if take > 0:
            split[a.location_id] += take
            remaining -= take
    as_allocated = tuple(sorted(split.items()))
    if as_allocated not in options:
        options.append(as_allocated)
    return options


def _best_carrier(
    carriers: Sequence[CarrierInfo], country: str | None, weights: Weights
) -> tuple[CarrierInfo | None, Decimal, Decimal]:
    best: tuple[Decimal, str, CarrierInfo] | None = None
    for c in carriers:
        if not c.serves(country):
            continue
        cost = weights.carrier_price * c.price_per_parcel + weights.carrier_quality * (1 - c.quality)
        if best is None or (cost, c.code) < (best[0], best[1]):
            best = (cost, c.code, c)
    if best is None:
        return None, Decimal(0), Decimal(0)
    chosen = best[2]
    return (
        chosen,
        weights.carrier_price * chosen.price_per_parcel,
        weights.carrier_quality * (1 - chosen.quality),
    )


def _score(
    assignment: Sequence[tuple[Line, tuple[tuple[str, int], ...]]],
    warehouses: Mapping[str, WarehouseInfo],
    carriers: Sequence[CarrierInfo],
    country: str | None,
    weights: Weights,
) -> Plan:
    by_location: dict[str, list[Line]] = defaultdict(list)
    for line, option in assignment:
        for location, quantity in option:
            by_location[location].append(Line(line.line_id, line.sku_id, quantity))
    breakdown = dict.fromkeys(WEIGHT_NAMES, Decimal(0))
    breakdown["parcels"] = weights.parcels * (len(by_location) - 1)
    parcels: list[Parcel] = []
    for location in sorted(by_location):
        warehouse = warehouses.get(location)
        if warehouse is not None:
            breakdown["warehouse_cost"] += weights.warehouse_cost * warehouse.cost_per_parcel
            if country is not None and warehouse.country != country:
                breakdown["region"] += weights.region
        carrier, price, quality = _best_carrier(carriers, country, weights)
        breakdown["carrier_price"] += price
        breakdown["carrier_quality"] += quality
        lines = tuple(sorted(by_location[location], key=lambda li: li.line_id))
        parcels.append(
            Parcel(location, carrier.id if carrier else None, carrier.code if carrier else None, lines)
        )
    return Plan(tuple(parcels), sum(breakdown.values(), Decimal(0)), breakdown)


def route(
    lines: Sequence[Line],
    allocations: Sequence[Allocation],
    warehouses: Sequence[WarehouseInfo],
    carriers: Sequence[CarrierInfo],
    *,
    country: str | None,
    weights: Weights,
) -> Decision:
    """The plan the weights choose, with every candidate scored (best first)."""
    if not lines:
        raise RoutingError("NO_LINES", "the order has no lines")
    available: dict[tuple[str, str], int] = defaultdict(int)
    for a in allocations:
        available[(a.sku_id, a.location_id)] += a.quantity
    options = [_line_options(line, allocations, available) for line in lines]
    combos: int = 1
    for o in options:
        combos *= len(o)
    if combos > MAX_PLANS:  # too many to try: keep stock's split only
        options = [[o[-1]] for o in options]
    by_location = {w.location_id: w for w in warehouses}
    plans: list[Plan] = []
    for choice in itertools.product(*options):
        used: dict[tuple[str, str], int] = defaultdict(int)
        for line, option in zip(lines, choice, strict=True):
            for location, quantity in option:
                used[(line.sku_id, location)] += quantity
        if any(q > available.get(k, 0) for k, q in used.items()):
            continue
        plans.append(_score(list(zip(lines, choice, strict=True)), by_location, carriers, country, weights))
    if not plans:
        raise RoutingError("NO_PLAN", "no plan ships the order from its allocated stock")
    unique = {p.key(): p for p in plans}
    ranked = tuple(sorted(unique.values(), key=Plan.key))
    return Decision(chosen=ranked[0], candidates=ranked)


def reroute_carrier(
    carriers: Sequence[CarrierInfo], country: str | None, weights: Weights, exclude: frozenset[str]
) -> CarrierInfo | None:
    """The carrier a re-routed parcel takes: the best one serving the country among those not
    excluded (the one that failed), else the best of all (the same one, for a retry)."""
    chosen, _, _ = _best_carrier([c for c in carriers if c.id not in exclude], country, weights)
    if chosen is None:
        chosen, _, _ = _best_carrier(carriers, country, weights)
    return chosen


def location_covers(
    allocations: Sequence[Allocation],
    used: Sequence[tuple[str, str, int]],
    lines: Sequence[Line],
    location_id: str,
) -> bool:
    """Does stock's allocation at `location_id` hold the SKUs of `lines`, beyond what the live
    shipments from there already take (`used`: sku, location, quantity)? Stock committed each unit
    at one location, so a parcel can only leave from where its units are held."""
    held: dict[str, int] = {}
    for a in allocations:
        if a.location_id == location_id:
            held[a.sku_id] = held.get(a.sku_id, 0) + a.quantity
    for sku, loc, qty in used:
        if loc == location_id:
            held[sku] = held.get(sku, 0) - qty
    need: dict[str, int] = {}
    for li in lines:
        need[li.sku_id] = need.get(li.sku_id, 0) + li.quantity
    return all(held.get(sku, 0) >= qty for sku, qty in need.items())
