"""How a delivery is signed (Stripe's scheme): `Webhook-Signature: t=<unix seconds>,v1=<hex>` where
hex = HMAC-SHA256(endpoint secret, "<t>." + raw body). The timestamp is inside the signed bytes, so a
receiver that refuses old timestamps (examples/webhook_verify.py: 5 minutes) refuses replays of a
captured request; `Webhook-Id` (the delivery id, the same on every retry) lets it drop duplicates."""

from __future__ import annotations

import hashlib
import hmac
import time

ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
EVENT_TYPE_HEADER = "Webhook-Event-Type"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, delivery_id: str, body: bytes, *, event_type: str | None = None, now: float | None = None
) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "b2b-webhooks/1",
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"t={timestamp},v1={signature(secret, timestamp, body)}",
    }
    if event_type:
        headers[EVENT_TYPE_HEADER] = event_type
    return headers
