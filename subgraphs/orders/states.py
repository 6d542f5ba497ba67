"""The order state machine: every allowed transition, in one place. Pure: no database, no GraphQL.

    draft -> pending_approval -> placed -> reserved -> confirmed -> partially_shipped -> shipped
          -> delivered -> completed
    final: completed, cancelled, rejected, expired, reservation_failed

`check(current, target)` is the only gate; the service calls it before every change and records
the step in `orders.order_transitions`. A refused step raises `InvalidTransition` (the GraphQL
layer reports it as the userError `INVALID_TRANSITION`) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class OrderState(StrEnum):
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


S = OrderState

TRANSITIONS: Mapping[OrderState, frozenset[OrderState]] = {
    S.DRAFT: frozenset({S.PENDING_APPROVAL, S.PLACED, S.CANCELLED}),
    S.PENDING_APPROVAL: frozenset({S.PLACED, S.REJECTED, S.CANCELLED}),
    S.PLACED: frozenset({S.RESERVED, S.RESERVATION_FAILED, S.EXPIRED, S.CANCELLED}),
    S.RESERVED: frozenset({S.CONFIRMED, S.EXPIRED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
    S.RESERVATION_FAILED: frozenset(),
}

FINAL: frozenset[OrderState] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
# States whose units count against a buyer's max-per-period limits (everything not given up).
GIVEN_UP: frozenset[OrderState] = frozenset({S.CANCELLED, S.REJECTED, S.EXPIRED, S.RESERVATION_FAILED})
# A buyer or the seller may cancel until the goods leave (stock then releases the reservation).
CANCELLABLE: frozenset[OrderState] = frozenset(s for s in TRANSITIONS if S.CANCELLED in TRANSITIONS[s])
# A return may be requested for goods that arrived.
RETURNABLE: frozenset[OrderState] = frozenset({S.DELIVERED, S.COMPLETED})


class InvalidTransition(Exception):
    """`current -> target` is not an edge of the state machine."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"an order cannot go from {current} to {target}")
        self.current = current
        self.target = target


def parse(value: str) -> OrderState:
    try:
        return OrderState(value)
    except ValueError:
        raise InvalidTransition(value, "?") from None


def allowed(current: OrderState | str, target: OrderState | str) -> bool:
    try:
        return OrderState(target) in TRANSITIONS[OrderState(current)]
    except ValueError:
        return False


def check(current: OrderState | str, target: OrderState | str) -> OrderState:
    """`target` as an OrderState when `current -> target` is allowed, else InvalidTransition."""
    if not allowed(current, target):
        raise InvalidTransition(str(current), str(target))
    return OrderState(target)


def is_final(state: OrderState | str) -> bool:
    return OrderState(state) in FINAL
