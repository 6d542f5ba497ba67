"""Idempotency per external reference for the bulk sync mutations partner ERPs call.

An ERP pushes rows it names itself (`externalReference`: its document or line id). Each row is
applied once per (tenant, operation, reference): a replay of the same row is a no-op that
returns what the first call recorded; the same reference with other content is refused
(`EXTERNAL_REFERENCE_REUSED`). The claims are made in the caller's transaction, so a batch that
fails (any row's userError) rolls back its claims with its effects.

    claims = await claim_rows(session, schema="stock", tenant_id=t, operation="syncStockLevels",
                              rows=[SyncClaim(i, ref, fingerprint), ...])
    claims.new / claims.replayed (index -> stored outcome) / claims.reused (indices)
    ... apply claims.new ...
    await record_outcomes(session, schema="stock", tenant_id=t, operation=..., outcomes={ref: {...}})

The table: `<schema>.sync_rows`, created by `sync_rows_sql(schema)` in the domain's migration.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.idempotency import request_fingerprint
from shared.migrations_helpers import sql_ident, tenant_rls_sql

REFERENCE_MAX_LENGTH = 200


def sync_rows_sql(schema: str) -> list[str]:
    s = sql_ident(schema)
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.sync_rows (
            tenant_id UUID NOT NULL,
            operation TEXT NOT NULL,
            external_reference TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            outcome JSONB,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, operation, external_reference)
        )""",
        *tenant_rls_sql("sync_rows", schema=s),
    ]


@dataclass(frozen=True, slots=True)
class SyncClaim:
    index: int
    reference: str
    fingerprint: str


@dataclass(slots=True)
class Claims:
    new: list[int] = field(default_factory=list)
    replayed: dict[int, dict[str, Any]] = field(default_factory=dict)
    reused: list[int] = field(default_factory=list)


def fingerprint(row: Mapping[str, Any]) -> str:
    return request_fingerprint(row)


async def claim_rows(
    session: AsyncSession,
    *,
    schema: str,
    tenant_id: uuid.UUID,
    operation: str,
    rows: Sequence[SyncClaim],
) -> Claims:
    """Claim every reference in one INSERT; the ones already there are replays or reuses.

    A concurrent batch claiming the same reference makes this INSERT wait for it (unique index):
    after its commit the row is a replay, after its rollback ours."""
    table = f"{sql_ident(schema)}.sync_rows"
    claims = Claims()
    if not rows:
        return claims
    inserted = {
        r[0]
        for r in (
            await session.execute(
                text(
                    f"INSERT INTO {table} (tenant_id, operation, external_reference, request_hash) "
                    "SELECT :t, :o, ref, h FROM unnest(CAST(:refs AS text[]), CAST(:hashes AS text[])) "
                    "AS u(ref, h) ORDER BY ref "
                    "ON CONFLICT (tenant_id, operation, external_reference) DO NOTHING "
                    "RETURNING external_reference"
                ),
                {
                    "t": tenant_id,
                    "o": operation,
                    "refs": [r.reference for r in rows],
                    "hashes": [r.fingerprint for r in rows],
                },
            )
        ).all()
    }
    existing = [r for r in rows if r.reference not in inserted]
    stored: dict[str, tuple[str, Any]] = {}
    if existing:
        result = await session.execute(
            text(
                f"SELECT external_reference, request_hash, outcome FROM {table} "
                "WHERE tenant_id = :t AND operation = :o AND external_reference = ANY(CAST(:refs AS text[]))"
            ),
            {"t": tenant_id, "o": operation, "refs": [r.reference for r in existing]},
        )
        stored = {row.external_reference: (row.request_hash, row.outcome) for row in result}
    for r in rows:
        if r.reference in inserted:
            claims.new.append(r.index)
            continue
        request_hash, outcome = stored[r.reference]
        if request_hash == r.fingerprint:
            claims.replayed[r.index] = dict(outcome or {})
        else:
            claims.reused.append(r.index)
    return claims


async def record_outcomes(
    session: AsyncSession,
    *,
    schema: str,
    tenant_id: uuid.UUID,
    operation: str,
    outcomes: Mapping[str, dict[str, Any]],
) -> None:
    """Store what each newly applied row did (returned to later replays)."""
    if not outcomes:
        return
    table = f"{sql_ident(schema)}.sync_rows"
    refs = list(outcomes)
    await session.execute(
        text(
            f"UPDATE {table} s SET outcome = u.outcome FROM unnest(CAST(:refs AS text[]), "
            "CAST(:outs AS jsonb[])) AS u(ref, outcome) "
            "WHERE s.tenant_id = :t AND s.operation = :o AND s.external_reference = u.ref"
        ),
        {
            "t": tenant_id,
            "o": operation,
            "refs": refs,
            "outs": [orjson.dumps(outcomes[r]).decode() for r in refs],
        },
    )
