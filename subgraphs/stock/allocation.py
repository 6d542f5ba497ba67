"""The allocation strategy: which locations serve which order lines. Pure: no database, no GraphQL.

Input: the order's lines, the candidate locations (already filtered by the caller: the seller's
active warehouses and the tenant's active platform locations) and what each (SKU, location) has
available right now. Output: an `Allocation` (every line fully served) or a `Shortage` (at least
one line cannot be; nothing is allocated: all lines or none).

1. Rank the locations: `priority` ascending (lower first); then nearest to the delivery address:
   great-circle distance (haversine) when both sides have coordinates, else same region and
   longest common postal-code prefix (in that order) after every location with a distance; last
   the location id (a stable order, so equal inputs always give equal allocations).
2. Lines in order; each line is served by the first ranked location that can serve it whole.
3. When no single location can, the line is split across locations in rank order (each gives
   what it has) until it is served.
4. A line that cannot be served even split makes the whole order a `Shortage`.
Several lines of the same SKU draw from the same remaining quantities.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Place:
    """A point on the map as far as it is known (any field may be missing)."""

    region: str | None = None
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True, slots=True)
class Candidate:
    location_id: uuid.UUID
    priority: int
    place: Place


@dataclass(frozen=True, slots=True)
class Line:
    line_id: str
    sku_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class Pick:
    line_id: str
    sku_id: uuid.UUID
    location_id: uuid.UUID
    quantity: int


@dataclass(frozen=True, slots=True)
class Allocation:
    picks: tuple[Pick, ...]


@dataclass(frozen=True, slots=True)
class ShortLine:
    line_id: str
    sku_id: uuid.UUID
    requested: int
    available: int


@dataclass(frozen=True, slots=True)
class Shortage:
    lines: tuple[ShortLine, ...]


def haversine_km(a: Place, b: Place) -> float:
    assert a.latitude is not None and a.longitude is not None
    assert b.latitude is not None and b.longitude is not None
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _norm(value: str | None) -> str:
    return (value or "").replace(" ", "").upper()


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def proximity_key(location: Place, destination: Place | None) -> tuple[int, float, int]:
    """Smaller is nearer: (0, km, 0) with coordinates on both sides, else
    (1, 0 same region / 1 other, -common postal prefix length)."""
    if destination is None:
        return (1, 1.0, 0)
    if location.has_coordinates and destination.has_coordinates:
        return (0, haversine_km(location, destination), 0)
    same_region = bool(destination.region) and _norm(location.region) == _norm(destination.region)
    prefix = _common_prefix(_norm(location.postal_code), _norm(destination.postal_code))
    return (1, 0.0 if same_region else 1.0, -prefix)


def rank(candidates: Sequence[Candidate], destination: Place | None) -> list[Candidate]:
    return sorted(
        candidates,
        key=lambda c: (c.priority, proximity_key(c.place, destination), str(c.location_id)),
    )


def allocate(
    lines: Sequence[Line],
    candidates: Sequence[Candidate],
    available: Mapping[tuple[uuid.UUID, uuid.UUID], int],
    destination: Place | None = None,
) -> Allocation | Shortage:
    """`available[(sku_id, location_id)]`: what may be reserved there now (missing: nothing)."""
    ranked = rank(candidates, destination)
    remaining = {key: max(0, qty) for key, qty in available.items()}
    picks: list[Pick] = []
    short: list[ShortLine] = []
    for line in lines:
        if line.quantity <= 0:
            continue
        whole = next(
            (c for c in ranked if remaining.get((line.sku_id, c.location_id), 0) >= line.quantity), None
        )
        if whole is not None:
            remaining[(line.sku_id, whole.location_id)] -= line.quantity
            picks.append(Pick(line.line_id, line.sku_id, whole.location_id, line.quantity))
            continue
        total = sum(remaining.get((line.sku_id, c.location_id), 0) for c in ranked)
        if total < line.quantity:
            short.append(ShortLine(line.line_id, line.sku_id, line.quantity, total))
            continue
        needed = line.quantity
        for c in ranked:
            key = (line.sku_id, c.location_id)
            take = min(needed, remaining.get(key, 0))
            if take > 0:
                remaining[key] -= take
                picks.append(Pick(line.line_id, line.sku_id, c.location_id, take))
                needed -= take
            if needed == 0:
                break
    if short:
        return Shortage(tuple(short))
    return Allocation(tuple(picks))
