"""API keys for partner ERPs. The clear key is returned once by `create_api_key` and never stored:
the table keeps its SHA-256 (hex) and a display prefix. The gateway resolves a key by that hash
(`lookup`, served on `/internal/api-keys`, docs/auth-contract.md); a lookup compares hashes in
constant time and writes `last_used_at` at most once per `api_key_touch_interval`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.errors import FieldError, UserInputError
from shared.events import add_event
from subgraphs.orgs import audit, events
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.config import OrgsSettings, get_orgs_settings
from subgraphs.orgs.models import SCHEMA, ApiKey, ApiKeyDirectory, Organization
from subgraphs.orgs.roles import KNOWN_SCOPES

KEY_PREFIX = "b2bk_"


def hash_key(key: str) -> str:
    """What the gateway sends (`gateway.auth.api_keys.hash_api_key`): sha256 of the key, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedKey:
    row: ApiKey
    key: str  # shown once


async def create_api_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    scope: Scope,
    granted: frozenset[str],
    *,
    organization_id: str,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None = None,
) -> CreatedKey:
    """A new key for an organization in the caller's scope. A key cannot carry scopes the caller
    does not hold (`granted`): no privilege escalation through keys."""
    errors: list[FieldError] = []
    try:
        org_id: uuid.UUID | None = uuid.UUID(organization_id)
    except ValueError:
        org_id = None
        errors.append(FieldError(("organizationId",), "not a valid id", "INVALID"))
    if org_id is not None and (not scope.allows(org_id) or await session.get(Organization, org_id) is None):
        errors.append(FieldError(("organizationId",), "no such organization", "NOT_FOUND"))
    clean_name = name.strip()
    if not clean_name or len(clean_name) > 200:
        errors.append(FieldError(("name",), "must be 1 to 200 characters", "INVALID"))
    wanted = sorted({s.strip() for s in scopes})
    if not wanted:
        errors.append(FieldError(("scopes",), "a key needs at least one scope", "BLANK"))
    for s in wanted:
        if s not in KNOWN_SCOPES:
            errors.append(FieldError(("scopes",), f"unknown scope {s!r}", "INVALID"))
        elif s not in granted:
            errors.append(FieldError(("scopes",), f"you do not hold {s!r}", "FORBIDDEN_SCOPE"))
    if expires_at is not None and expires_at <= utcnow():
        errors.append(FieldError(("expiresAt",), "must be in the future", "INVALID"))
    if errors:
        raise UserInputError(errors)
    assert org_id is not None
    prefix = KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"  # 256 bits of entropy after the prefix
    row = ApiKey(
        tenant_id=tenant_id,
        organization_id=org_id,
        name=clean_name,
        prefix=prefix,
        key_hash=hash_key(key),
        scopes=wanted,
        created_by=actor.user_id,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    session.add(ApiKeyDirectory(key_hash=row.key_hash, tenant_id=tenant_id, api_key_id=row.id))
    data = {"id": str(row.id), "organization_id": str(org_id), "prefix": prefix, "scopes": wanted}
    await audit.record(session, tenant_id, actor, "api_key_created", "api_key", row.id, data)
    await add_event(session, SCHEMA, events.event("api_key_created", tenant_id, row.id, data))
    return CreatedKey(row=row, key=key)


async def revoke_api_key(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, scope: Scope, key_id: str
) -> ApiKey:
    try:
        kid = uuid.UUID(key_id)
    except ValueError:
        raise UserInputError([FieldError(("id",), "not a valid id", "INVALID")]) from None
    row = await session.get(ApiKey, kid, with_for_update=True)
    if row is None or not scope.allows(row.organization_id):
        raise UserInputError([FieldError(("id",), "no such API key", "NOT_FOUND")])
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
        data = {"id": str(row.id), "organization_id": str(row.organization_id), "key_hash": row.key_hash}
        await audit.record(session, tenant_id, actor, "api_key_revoked", "api_key", row.id, data)
        await add_event(session, SCHEMA, events.event("api_key_revoked", tenant_id, row.id, data))
    return row


async def list_api_keys(session: AsyncSession, scope: Scope, organization_id: uuid.UUID) -> list[ApiKey]:
    if not scope.allows(organization_id):
        return []
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.organization_id == organization_id).order_by(ApiKey.created_at)
    )
    return list(rows)


async def lookup(db: Database, key_hash: str, settings: OrgsSettings | None = None) -> dict[str, Any] | None:
    """The gateway's record for a key hash (`gateway.auth.api_keys.ApiKeyRecord`), or None when
    unknown, revoked or expired."""
    settings = settings or get_orgs_settings()
    key_hash = key_hash.strip().lower()
    if len(key_hash) != 64 or any(c not in "0123456789abcdef" for c in key_hash):
        return None
    async with db.session() as session:
        entry = await session.get(ApiKeyDirectory, key_hash)
    if entry is None:
        return None
    now = utcnow()
    async with db.tenant_session(entry.tenant_id) as session:
        row = await session.get(ApiKey, entry.api_key_id)
        if row is None or not hmac.compare_digest(row.key_hash, key_hash):
            return None
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        # Throttled: one write per key per interval, not one per request.
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < now - timedelta(seconds=settings.api_key_touch_interval),
                ),
            )
            .values(last_used_at=now)
        )
    return {
        "key_id": str(row.id),
        "tenant_id": str(row.tenant_id),
        "organization_id": str(row.organization_id),
        "roles": [],
        "scopes": sorted(row.scopes),
        "expires_at": row.expires_at.timestamp() if row.expires_at else None,
        "revoked": False,
    }
