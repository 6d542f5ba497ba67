"""The return state machine. Pure.

requested -> approved -> received -> refund_requested (the refund itself comes with finance);
requested -> rejected.
"""

from __future__ import annotations

from collections.abc import Mapping

RETURN_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "requested": frozenset({"approved", "rejected"}),
    "approved": frozenset({"received"}),
    "received": frozenset({"refund_requested"}),
    "rejected": frozenset(),
    "refund_requested": frozenset(),
}


def return_allowed(current: str, target: str) -> bool:
    return target in RETURN_TRANSITIONS.get(current, frozenset())
