"""Reference verifier for the platform's webhooks (standard library only: copy it into your ERP).

Every delivery is a POST with a JSON body and these headers:

    Webhook-Id: 6f1c...            the delivery's id, the same on every retry: drop duplicates by it
    Webhook-Timestamp: 1764890000  when this attempt was signed (unix seconds)
    Webhook-Signature: t=1764890000,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

`verify(secret, headers, body)` checks, in this order, and raises `InvalidWebhook` otherwise:
1. the signature header parses and one `v1` value equals the HMAC of "<t>." + the raw body under
   your endpoint's secret (constant-time comparison; several `v1` values are accepted, so a
   rotation can overlap);
2. `t` is within `tolerance` seconds (default 300) of your clock: a captured request replayed
   later is refused even though its signature is genuine;
3. `Webhook-Timestamp`, when present, equals `t`.

Verify the raw bytes you received, before parsing the JSON. Then process idempotently: remember the
`Webhook-Id`s you handled (for longer than the platform retries: 24 h) and answer 2xx for a
duplicate without doing the work again. Answer 2xx quickly; anything else is retried with
exponential backoff for 24 hours, then the delivery becomes a dead letter the tenant can replay.

    python examples/webhook_verify.py --secret whsec_... --port 8088   # a tiny receiver that prints events
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TOLERANCE = 300


class InvalidWebhook(Exception):
    """The request is not a genuine, fresh delivery (answer 400 and do nothing)."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def expected_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, object]:
    """The parsed event when the delivery is genuine and fresh; InvalidWebhook otherwise."""
    raw = _header(headers, "Webhook-Signature")
    if not raw:
        raise InvalidWebhook("no Webhook-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in raw.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidWebhook("the signature's timestamp is not a number") from None
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidWebhook("the signature header needs t=... and v1=...")
    wanted = expected_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(wanted, s) for s in signatures):
        raise InvalidWebhook("signature mismatch")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidWebhook(f"timestamp outside the tolerance of {tolerance} s (a replayed request?)")
    header_ts = _header(headers, "Webhook-Timestamp")
    if header_ts is not None and header_ts.strip() != str(timestamp):
        raise InvalidWebhook("Webhook-Timestamp differs from the signed timestamp")
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidWebhook("the body is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidWebhook("the body is not a JSON object")
    return event


def _serve(secret: str, port: int) -> None:
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                event = verify(secret, dict(self.headers.items()), body)
            except InvalidWebhook as exc:
                self.send_response(400)
                self.end_headers()
                self.wfile.write(str(exc).encode())
                return
            delivery = self.headers.get("Webhook-Id", "")
            if delivery not in seen:
                seen.add(delivery)
                print(json.dumps({"id": delivery, "type": event.get("type"), "data": event.get("data")}))
            self.send_response(204)
            self.end_headers()

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print verified webhook deliveries.")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args()
    _serve(args.secret, args.port)
