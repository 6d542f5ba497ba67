"""Signed payment-provider webhooks: HMAC-SHA256 over `<timestamp>.<raw body>` with the
provider's own secret, sent as `Finance-Signature: t=<unix seconds>,v1=<hex digest>`.

A webhook is accepted only when the signature matches (constant-time compare) and the timestamp
is within the tolerance of our clock (a captured request cannot be replayed later). Replays
inside the tolerance are caught by the provider event id (stored once, see payments.py).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "finance-signature"
DEFAULT_TOLERANCE = 300.0


class WebhookError(ValueError):
    """The webhook is unsigned, forged, malformed or too old; the message says which."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: bytes, header: str | None, body: bytes, *, now: float, tolerance: float) -> int:
    """Return the signed timestamp, or raise WebhookError."""
    if not header:
        raise WebhookError("missing signature")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise WebhookError("malformed signature header") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookError("timestamp outside the tolerance")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", [])):
        raise WebhookError("signature mismatch")
    return timestamp
