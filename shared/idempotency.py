"""Idempotency keys for mutations that create or move money or stock.

    async with info.context.session() as session:
        result = await run_once(
            session, schema="orders", tenant_id=tenant, key=input.idempotency_key,
            operation="orderPlace", request=input_as_dict,
            produce=lambda: place_order(session, ...),      # returns a JSON-able dict
        )
    # result.response: what the first call produced; result.replayed: True on a retry

The key row, the effect and the stored response commit together; a failed attempt (exception,
including `UserInputError`) rolls back the key too, so the client may retry. Reusing a key for a
different request is refused (`IDEMPOTENCY_KEY_REUSED`). Two concurrent calls with one key:
the second waits on the key's unique index until the first commits, then replays its response.
The table comes from `shared.migrations_helpers.create_idempotency_table(schema)`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import FieldError, UserInputError
from shared.migrations_helpers import sql_ident

KEY_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IdempotentResult:
    response: dict[str, Any]
    replayed: bool


def request_fingerprint(request: Mapping[str, Any] | str) -> str:
    raw = request.encode() if isinstance(request, str) else orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()


def check_key(key: str, field: str = "idempotencyKey") -> str:
    key = key.strip()
    if not key or len(key) > KEY_MAX_LENGTH:
        raise UserInputError([FieldError((field,), f"must be 1 to {KEY_MAX_LENGTH} characters", "INVALID")])
    return key


async def run_once(
    session: AsyncSession,
    *,
    schema: str,
    tenant_id: uuid.UUID,
    key: str,
    operation: str,
    request: Mapping[str, Any] | str,
    produce: Callable[[], Awaitable[dict[str, Any]]],
    field: str = "idempotencyKey",
) -> IdempotentResult:
    """Run `produce` once per (tenant, key); later calls get the stored response."""
    table = f"{sql_ident(schema)}.idempotency_keys"
    key = check_key(key, field)
    fingerprint = request_fingerprint(request)
    claimed = (
        await session.execute(
            text(
                f"INSERT INTO {table} (tenant_id, key, operation, request_hash) VALUES (:t, :k, :o, :h) "
                "ON CONFLICT (tenant_id, key) DO NOTHING RETURNING key"
            ),
            {"t": tenant_id, "k": key, "o": operation, "h": fingerprint},
        )
    ).first() is not None
    if claimed:
        response = await produce()
        await session.execute(
            text(f"UPDATE {table} SET response = CAST(:r AS jsonb) WHERE tenant_id = :t AND key = :k"),
            {"r": orjson.dumps(response).decode(), "t": tenant_id, "k": key},
        )
        return IdempotentResult(response, replayed=False)
    row = (
        await session.execute(
            text(f"SELECT operation, request_hash, response FROM {table} WHERE tenant_id = :t AND key = :k"),
            {"t": tenant_id, "k": key},
        )
    ).one()
    if row.operation != operation or row.request_hash != fingerprint:
        raise UserInputError(
            [
                FieldError(
                    (field,), "this key was already used for a different request", "IDEMPOTENCY_KEY_REUSED"
                )
            ]
        )
    return IdempotentResult(dict(row.response or {}), replayed=True)
