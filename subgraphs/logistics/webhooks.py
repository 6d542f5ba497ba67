"""Carrier tracking webhooks: `POST /webhooks/carriers/{tenant_id}/{carrier_id}`.

The carrier signs every call with the carrier account's secret:

    x-carrier-timestamp: <unix seconds>
    x-carrier-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

A call is refused (401) when the signature does not match or the timestamp is more than
`TOLERANCE_SECONDS` away from now (a captured call cannot be replayed later); an unknown tenant or
carrier is a 404 (nothing is revealed). The body is
`{"event_id", "tracking_number", "status", "occurred_at"}`; an event id already seen is answered
200 `DUPLICATE` and changes nothing (a replay inside the tolerance). Events are applied by their own
`occurred_at` (service.apply_tracking_event): a late, older event never overrides a newer one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response

from shared.db import Database
from subgraphs.logistics import service
from subgraphs.logistics.shipment_states import TrackingStatus

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "x-carrier-timestamp"
SIGNATURE_HEADER = "x-carrier-signature"
TOLERANCE_SECONDS = 300
MAX_BODY = 64 * 1024


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, *, now: float
) -> str | None:
    """None when the call is authentic and fresh, else why not."""
    if not timestamp or not signature:
        return "missing signature"
    try:
        sent = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs(now - sent) > TOLERANCE_SECONDS:
        return "timestamp outside tolerance"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "bad signature"
    return None


def _json(body: dict[str, object], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def handle(request: Request, db: Database) -> Response:
    try:
        tenant_id = uuid.UUID(request.path_params["tenant_id"])
        carrier_id = uuid.UUID(request.path_params["carrier_id"])
    except ValueError:
        return _json({"error": "NOT_FOUND"}, 404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return _json({"error": "TOO_LARGE"}, 413)
    async with db.tenant_session(tenant_id) as session:
        secret = await service.carrier_secret(session, carrier_id)
    if secret is None:
        return _json({"error": "NOT_FOUND"}, 404)
    problem = verify(
        secret,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        body,
        now=time.time(),
    )
    if problem is not None:
        log.warning("carrier webhook refused for carrier %s: %s", carrier_id, problem)
        return _json({"error": "UNAUTHENTICATED", "message": problem}, 401)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _json({"error": "BAD_REQUEST", "message": "body is not JSON"}, 400)
    if not isinstance(payload, dict):
        return _json({"error": "BAD_REQUEST", "message": "body must be an object"}, 400)
    event_id, tracking = payload.get("event_id"), payload.get("tracking_number")
    occurred_at = _parse_time(payload.get("occurred_at"))
    try:
        status = TrackingStatus(str(payload.get("status")))
    except ValueError:
        return _json({"error": "BAD_REQUEST", "message": "unknown status"}, 400)
    if not isinstance(event_id, str) or not event_id or len(event_id) > 200:
        return _json({"error": "BAD_REQUEST", "message": "event_id is required"}, 400)
    if not isinstance(tracking, str) or not tracking or len(tracking) > 64 or occurred_at is None:
        return _json({"error": "BAD_REQUEST", "message": "tracking_number and occurred_at are required"}, 400)
    async with db.tenant_session(tenant_id) as session:
        result = await service.apply_tracking_event(
            session,
            tenant_id,
            carrier_id,
            event_id=event_id,
            tracking_number=tracking,
            status=status,
            occurred_at=occurred_at,
        )
    return _json(
        {"outcome": result.outcome, "shipment_id": str(result.shipment_id) if result.shipment_id else None}
    )
