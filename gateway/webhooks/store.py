"""The dispatcher's reads and writes of the `orgs.webhook_*` tables (created and owned by the orgs
subgraph's migration 0003; docs/webhooks.md is the contract). Every transaction here sets
`app.webhook_dispatcher = on`, the policy that lets the dispatcher work across tenants under RLS.

Durability: an event becomes a `pending` delivery and the endpoint's `cursor` moves past it in ONE
transaction, so after a crash the subscription resumes after the last recorded event (the unique
(endpoint, event key) index drops an event seen twice). Deliveries are claimed by pushing their
`next_attempt_at` forward (FOR UPDATE SKIP LOCKED), so several dispatchers never send one at once
and a dispatcher that dies mid-POST leaves it due again after the hold.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database


class LeaseLost(Exception):
    """Another dispatcher owns the endpoint now (or it was disabled or deleted)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: uuid.UUID
    tenant_id: uuid.UUID
    organization_id: uuid.UUID
    subscription: str
    variables: dict[str, Any]
    event_types: tuple[str, ...]
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    cursor: str | None
    version: int


@dataclass(frozen=True, slots=True)
class Due:
    id: uuid.UUID
    tenant_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    secret: str
    event_type: str | None
    payload: dict[str, Any]
    attempts: int
    window_started_at: datetime


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.db.session() as session:
            await session.execute(text("SELECT set_config('app.webhook_dispatcher', 'on', true)"))
            yield session

    async def lease_endpoints(self, owner: str, seconds: float) -> list[Endpoint]:
        """Take or renew the leases of enabled endpoints nobody else holds; the ones returned are ours."""
        async with self.transaction() as session:
            rows = await session.execute(
                text(
                    "UPDATE orgs.webhook_endpoints SET lease_owner = :o, "
                    "lease_until = now() + make_interval(secs => :s) "
                    "WHERE enabled AND (lease_owner = :o OR lease_until IS NULL OR lease_until < now()) "
                    "RETURNING id, tenant_id, organization_id, subscription, variables, event_types, "
                    "principal_roles, principal_scopes, cursor, version"
                ),
                {"o": owner, "s": seconds},
            )
            return [
                Endpoint(
                    r.id,
                    r.tenant_id,
                    r.organization_id,
                    r.subscription,
                    dict(r.variables or {}),
                    tuple(r.event_types or ()),
                    tuple(r.principal_roles or ()),
                    tuple(r.principal_scopes or ()),
                    r.cursor,
                    r.version,
                )
                for r in rows
            ]

    async def release_leases(self, owner: str) -> None:
        async with self.transaction() as session:
            await session.execute(
                text(
                    "UPDATE orgs.webhook_endpoints SET lease_owner = NULL, lease_until = NULL "
                    "WHERE lease_owner = :o"
                ),
                {"o": owner},
            )

    async def record_event(
        self,
        endpoint: Endpoint,
        owner: str,
        *,
        cursor: str | None,
        event_key: str,
        event_type: str | None,
        payload: dict[str, Any] | None,
    ) -> bool:
        """Queue the delivery (None: the event is filtered out) and move the cursor, together.
        True when a new delivery was queued."""
        async with self.transaction() as session:
            queued = False
            if payload is not None:
                queued = (
                    await session.execute(
                        text(
                            "INSERT INTO orgs.webhook_deliveries (id, tenant_id, endpoint_id, event_key, "
                            "event_type, payload) VALUES (:id, :t, :e, :k, :ty, CAST(:p AS jsonb)) "
                            "ON CONFLICT (endpoint_id, event_key) DO NOTHING RETURNING id"
                        ),
                        {
                            "id": uuid.UUID(payload["id"]),
                            "t": endpoint.tenant_id,
                            "e": endpoint.id,
                            "k": event_key,
                            "ty": event_type,
                            "p": orjson.dumps(payload).decode(),
                        },
                    )
                ).first() is not None
            moved = await session.execute(
                text(
                    "UPDATE orgs.webhook_endpoints SET cursor = COALESCE(:c, cursor), last_error = NULL, "
                    "last_error_at = NULL WHERE id = :e AND lease_owner = :o AND enabled"
                ),
                {"c": cursor, "e": endpoint.id, "o": owner},
            )
            if not getattr(moved, "rowcount", 0):
                raise LeaseLost(str(endpoint.id))  # rolls the delivery back with it
            return queued

    async def set_error(self, endpoint_id: uuid.UUID, owner: str, message: str) -> None:
        async with self.transaction() as session:
            await session.execute(
                text(
                    "UPDATE orgs.webhook_endpoints SET last_error = :m, last_error_at = now() "
                    "WHERE id = :e AND lease_owner = :o"
                ),
                {"m": message[:2000], "e": endpoint_id, "o": owner},
            )

    async def claim_due(self, limit: int, hold_seconds: float) -> list[Due]:
        """Due deliveries of enabled endpoints, held for `hold_seconds` (the POST's time)."""
        async with self.transaction() as session:
            rows = await session.execute(
                text(
                    "WITH due AS (SELECT d.id FROM orgs.webhook_deliveries d "
                    "JOIN orgs.webhook_endpoints e ON e.id = d.endpoint_id "
                    "WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled "
                    "ORDER BY d.next_attempt_at LIMIT :n FOR UPDATE OF d SKIP LOCKED) "
                    "UPDATE orgs.webhook_deliveries d "
                    "SET next_attempt_at = now() + make_interval(secs => :h) "
                    "FROM due, orgs.webhook_endpoints e WHERE d.id = due.id AND e.id = d.endpoint_id "
                    "RETURNING d.id, d.tenant_id, d.endpoint_id, e.url, e.secret, d.event_type, d.payload, "
                    "d.attempts, d.window_started_at"
                ),
                {"n": limit, "h": hold_seconds},
            )
            return [
                Due(
                    r.id,
                    r.tenant_id,
                    r.endpoint_id,
                    r.url,
                    r.secret,
                    r.event_type,
                    dict(r.payload),
                    r.attempts,
                    r.window_started_at,
                )
                for r in rows
            ]

    async def finish(
        self,
        due: Due,
        *,
        status: str,
        next_attempt_at: datetime | None,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
    ) -> None:
        """The attempt in the log and the delivery's new state: delivered, pending (retry) or dead."""
        async with self.transaction() as session:
            await session.execute(
                text(
                    "UPDATE orgs.webhook_deliveries SET status = :st, attempts = attempts + 1, "
                    "last_attempt_at = now(), last_status = :code, last_error = :err, "
                    "next_attempt_at = COALESCE(:next, next_attempt_at), "
                    "delivered_at = CASE WHEN :st = 'delivered' THEN now() ELSE delivered_at END, "
                    "dead_at = CASE WHEN :st = 'dead' THEN now() ELSE dead_at END "
                    "WHERE id = :id AND status = 'pending'"
                ),
                {"st": status, "code": status_code, "err": error, "next": next_attempt_at, "id": due.id},
            )
            await session.execute(
                text(
                    "INSERT INTO orgs.webhook_attempts (tenant_id, delivery_id, endpoint_id, status_code, "
                    "error, duration_ms) VALUES (:t, :d, :e, :code, :err, :ms)"
                ),
                {
                    "t": due.tenant_id,
                    "d": due.id,
                    "e": due.endpoint_id,
                    "code": status_code,
                    "err": error,
                    "ms": duration_ms,
                },
            )

    async def counts(self, endpoint_ids: Sequence[uuid.UUID]) -> dict[str, int]:
        """Deliveries per status of these endpoints (tests, diagnostics)."""
        async with self.transaction() as session:
            rows = await session.execute(
                text(
                    "SELECT status, count(*) AS n FROM orgs.webhook_deliveries "
                    "WHERE endpoint_id = ANY(:ids) GROUP BY status"
                ),
                {"ids": list(endpoint_ids)},
            )
            return {r.status: int(r.n) for r in rows}
