"""The return state machine. Pure.

requested -> approved -> received -> refund_requested (the seller's steps); refund_requested ->
refunded when finance has issued the credit note (`finance.credit_note_issued`, never by hand);
requested -> rejected.
"""

from __future__ import annotations

from collections.abc import Mapping

RETURN_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "requested": frozenset({"approved", "rejected"}),
    "approved": frozenset({"received"}),
    "received": frozenset({"refund_requested"}),
    "rejected": frozenset(),
    "refund_requested": frozenset({"refunded"}),
    "refunded": frozenset(),
}
# Steps finance takes, not the seller.
BY_FINANCE: frozenset[str] = frozenset({"refunded"})


def return_allowed(current: str, target: str) -> bool:
    return target in RETURN_TRANSITIONS.get(current, frozenset())
