"""Level arithmetic and availability status. Pure: no database, no GraphQL.

available = on_hand - reserved - committed - safety_stock, never shown below 0.
Status: OUT_OF_STOCK at 0, LOW below the level's `low_threshold`, IN_STOCK otherwise.
A shop displays min(its share/cap of the source's available, the source's available).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(Enum):
    IN_STOCK = "IN_STOCK"
    LOW = "LOW"
    OUT_OF_STOCK = "OUT_OF_STOCK"


@dataclass(frozen=True, slots=True)
class Quantities:
    on_hand: int
    reserved: int
    committed: int
    safety_stock: int = 0
    low_threshold: int = 0

    @property
    def available(self) -> int:
        return available(self.on_hand, self.reserved, self.committed, self.safety_stock)


def available(on_hand: int, reserved: int, committed: int, safety_stock: int) -> int:
    return max(0, on_hand - reserved - committed - safety_stock)


def status_of(available_qty: int, low_threshold: int) -> Status:
    if available_qty <= 0:
        return Status.OUT_OF_STOCK
    if available_qty < low_threshold:
        return Status.LOW
    return Status.IN_STOCK


def crossed_low(before: int, after: int, low_threshold: int) -> bool:
    """True when `available` went from at or above the threshold to below it."""
    return low_threshold > 0 and before >= low_threshold > after


def shop_display(source_available: int, share_percent: int | None, cap: int | None) -> int:
    """What a shop shows of its source's available stock: its share (percent, rounded down), at
    most its cap, never more than the source can allocate."""
    shown = max(0, source_available)
    if share_percent is not None:
        shown = shown * max(0, min(100, share_percent)) // 100
    if cap is not None:
        shown = min(shown, max(0, cap))
    return min(shown, max(0, source_available))
