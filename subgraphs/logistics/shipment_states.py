"""The shipment state machine (pure: no database, no GraphQL).

    CREATED -> LABELLED -> DISPATCHED -> IN_TRANSIT -> DELIVERED
    CREATED, LABELLED -> CANCELLED           (before the carrier has the parcel)
    DISPATCHED, IN_TRANSIT -> EXCEPTION      (no progress, failed delivery, lost parcel)
    EXCEPTION -> IN_TRANSIT | DELIVERED      (the carrier reports progress again)
    DISPATCHED -> DELIVERED                  (a carrier may skip in-transit scans)
    EXCEPTION -> IN_TRANSIT | RETURNED | LOST (staff resolve it: retry delivery,
                                               return to sender, mark lost)

DELIVERED, CANCELLED, RETURNED and LOST are final; a cancelled, returned or lost shipment can be
re-routed: a new shipment with the same lines replaces it. Tracking statuses reported by
carriers map onto these with `tracking_target`; `apply_tracking` decides whether a carrier
event moves a shipment, using the carrier's own timestamp so a late, older event never
overrides a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ShipmentStatus(StrEnum):
    CREATED = "CREATED"
    LABELLED = "LABELLED"
    DISPATCHED = "DISPATCHED"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"
    LOST = "LOST"


S = ShipmentStatus
FINAL: frozenset[ShipmentStatus] = frozenset({S.DELIVERED, S.CANCELLED, S.RETURNED, S.LOST})
# A shipment in these may be replaced by a re-routed one (before the carrier has it, or after
# it came back or was lost); LABELLED and CREATED ones are cancelled first.
REROUTABLE: frozenset[ShipmentStatus] = frozenset({S.CREATED, S.LABELLED, S.CANCELLED, S.RETURNED, S.LOST})
# Statuses in which the carrier holds the parcel (it counts as shipped for the order).
WITH_CARRIER: frozenset[ShipmentStatus] = frozenset({S.DISPATCHED, S.IN_TRANSIT, S.EXCEPTION, S.DELIVERED})

TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.CREATED: frozenset({S.LABELLED, S.CANCELLED}),
    S.LABELLED: frozenset({S.DISPATCHED, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.IN_TRANSIT, S.DELIVERED, S.EXCEPTION}),
    S.IN_TRANSIT: frozenset({S.DELIVERED, S.EXCEPTION}),
    S.EXCEPTION: frozenset({S.IN_TRANSIT, S.DELIVERED, S.RETURNED, S.LOST}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
    S.LOST: frozenset(),
}


class Resolution(StrEnum):
    """What staff decide for a shipment in EXCEPTION."""

    RETRY_DELIVERY = "RETRY_DELIVERY"  # the carrier tries again: back in transit
    RETURN_TO_SENDER = "RETURN_TO_SENDER"  # the parcel goes back to the warehouse
    MARK_LOST = "MARK_LOST"  # the carrier cannot find it


def resolution_target(action: Resolution) -> ShipmentStatus:
    return {
        Resolution.RETRY_DELIVERY: S.IN_TRANSIT,
        Resolution.RETURN_TO_SENDER: S.RETURNED,
        Resolution.MARK_LOST: S.LOST,
    }[action]


class TransitionError(Exception):
    def __init__(self, current: ShipmentStatus, target: ShipmentStatus) -> None:
        super().__init__(f"a {current.value} shipment cannot become {target.value}")
        self.current = current
        self.target = target


def can_transition(current: ShipmentStatus, target: ShipmentStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: ShipmentStatus, target: ShipmentStatus) -> None:
    if not can_transition(current, target):
        raise TransitionError(current, target)


class TrackingStatus(StrEnum):
    """What a carrier reports (webhook `status`)."""

    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"
    FAILED_DELIVERY = "FAILED_DELIVERY"
    LOST = "LOST"


def tracking_target(status: TrackingStatus) -> ShipmentStatus:
    return {
        TrackingStatus.PICKED_UP: S.DISPATCHED,
        TrackingStatus.IN_TRANSIT: S.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY: S.IN_TRANSIT,
        TrackingStatus.DELIVERED: S.DELIVERED,
        TrackingStatus.FAILED_DELIVERY: S.EXCEPTION,
        TrackingStatus.LOST: S.EXCEPTION,
    }[status]


class TrackingOutcome(StrEnum):
    APPLIED = "APPLIED"  # the shipment moved
    PROGRESS = "PROGRESS"  # same status, newer scan: only the progress clock moves
    STALE = "STALE"  # older than the newest applied event: recorded, ignored
    IGNORED = "IGNORED"  # not a legal move from here (e.g. anything after DELIVERED)


@dataclass(frozen=True, slots=True)
class TrackingDecision:
    outcome: TrackingOutcome
    target: ShipmentStatus | None


def apply_tracking(
    current: ShipmentStatus,
    last_tracking_at: datetime | None,
    status: TrackingStatus,
    occurred_at: datetime,
) -> TrackingDecision:
    """How a carrier event at `occurred_at` changes a shipment in `current` whose newest applied
    carrier event happened at `last_tracking_at`."""
    if last_tracking_at is not None and occurred_at <= last_tracking_at:
        return TrackingDecision(TrackingOutcome.STALE, None)
    if current in FINAL:
        return TrackingDecision(TrackingOutcome.IGNORED, None)
    target = tracking_target(status)
    if target == current:
        return TrackingDecision(TrackingOutcome.PROGRESS, None)
    if path_to(current, target):
        return TrackingDecision(TrackingOutcome.APPLIED, target)
    return TrackingDecision(TrackingOutcome.IGNORED, None)


def path_to(current: ShipmentStatus, target: ShipmentStatus) -> list[ShipmentStatus]:
    """The legal steps from `current` to `target` (for carrier events that skip steps: a parcel
    first seen IN_TRANSIT while LABELLED passes through DISPATCHED). Empty when unreachable."""
    if current == target:
        return []
    frontier: list[tuple[ShipmentStatus, list[ShipmentStatus]]] = [(current, [])]
    seen = {current}
    while frontier:
        state, path = frontier.pop(0)
        for nxt in sorted(TRANSITIONS[state], key=lambda s: s.value):
            if nxt in seen or nxt in (S.CANCELLED, S.RETURNED, S.LOST):
                continue
            if nxt == target:
                return [*path, nxt]
            seen.add(nxt)
            frontier.append((nxt, [*path, nxt]))
    return []
