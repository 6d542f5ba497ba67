"""TOTP second factor (RFC 6238 via pyotp) and recovery codes. No GraphQL here.

- The secret is sealed at rest like the signing keys (AES-256-GCM under B2B_ORGS_KEY_ENCRYPTION_KEY,
  the user id as associated data); it is active once a first code confirmed it.
- A code is accepted once: its time step must be later than the last accepted one (no replay within
  the 30 s window). One step of clock drift either way is tolerated.
- Recovery codes: `recovery_codes` random codes shown once at confirmation, stored as SHA-256 (they
  carry 64 bits of randomness, so a fast hash is enough), each usable once instead of a code.
- Policy: an organization with `require_mfa` requires the factor of its members and of the members
  of its units (any ancestor's policy applies).
- Between the password and the code the login holds a challenge in Redis (`mfa_challenge_ttl`,
  at most `MAX_CODE_ATTEMPTS` wrong codes), the `mfaToken` of the login answer.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass

import orjson
import pyotp
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import FieldError, UserInputError
from subgraphs.orgs.config import OrgsSettings, get_orgs_settings
from subgraphs.orgs.identity.config import IdentitySettings
from subgraphs.orgs.identity.models import RecoveryCode, UserTotp
from subgraphs.orgs.identity.throttle import redis_client
from subgraphs.orgs.keys import _aead
from subgraphs.orgs.models import Membership, Organization, User

MAX_CODE_ATTEMPTS = 5
INVALID_CODE = FieldError(("code",), "wrong or used code", "INVALID_MFA_CODE")


def _seal(secret: str, user_id: uuid.UUID, settings: OrgsSettings) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead(settings).encrypt(nonce, secret.encode(), f"totp:{user_id}".encode())


def _unseal(sealed: bytes, user_id: uuid.UUID, settings: OrgsSettings) -> str:
    try:
        return _aead(settings).decrypt(sealed[:12], sealed[12:], f"totp:{user_id}".encode()).decode()
    except InvalidTag as exc:
        raise RuntimeError("a TOTP secret cannot be unsealed (B2B_ORGS_KEY_ENCRYPTION_KEY?)") from exc


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str  # base32, for manual entry
    uri: str  # otpauth://, for a QR code


async def enroll(
    session: AsyncSession, tenant_id: uuid.UUID, user: User, settings: IdentitySettings
) -> Enrollment:
    """A new, unconfirmed secret (replaces an unconfirmed one; a confirmed factor must be disabled first)."""
    row = await session.get(UserTotp, user.id, with_for_update=True)
    if row is not None and row.confirmed_at is not None:
        raise UserInputError([FieldError((), "a second factor is set up already", "MFA_ALREADY_ENABLED")])
    secret = pyotp.random_base32()
    sealed = _seal(secret, user.id, get_orgs_settings())
    if row is None:
        session.add(UserTotp(tenant_id=tenant_id, user_id=user.id, secret=sealed))
    else:
        row.secret, row.last_step = sealed, None
    await session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=settings.totp_issuer)
    return Enrollment(secret, uri)


def _accept_totp(row: UserTotp, code: str) -> bool:
    totp = pyotp.TOTP(_unseal(row.secret, row.user_id, get_orgs_settings()))
    now = time.time()
    for drift in (0, -1, 1):
        step = totp.timecode(now) + drift
        if secrets.compare_digest(totp.generate_otp(step), code.strip()) and step > (row.last_step or -1):
            row.last_step = step
            return True
    return False


async def confirm(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, code: str, settings: IdentitySettings
) -> list[str]:
    """Activate the enrolled secret with a first code; returns the recovery codes (shown once)."""
    row = await session.get(UserTotp, user_id, with_for_update=True)
    if row is None or row.confirmed_at is not None:
        raise UserInputError([FieldError((), "no second factor is waiting for confirmation", "NOT_ENROLLED")])
    if not _accept_totp(row, code):
        raise UserInputError([INVALID_CODE])
    row.confirmed_at = utcnow()
    return await new_recovery_codes(session, tenant_id, user_id, settings)


async def new_recovery_codes(
    session: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID, settings: IdentitySettings
) -> list[str]:
    for old in await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)):
        await session.delete(old)
    codes = ["-".join(secrets.token_hex(2) for _ in range(4)) for _ in range(settings.recovery_codes)]
    session.add_all(
        RecoveryCode(tenant_id=tenant_id, user_id=user_id, code_hash=_code_hash(c)) for c in codes
    )
    await session.flush()
    return codes


async def enabled(session: AsyncSession, user_id: uuid.UUID) -> bool:
    row = await session.get(UserTotp, user_id)
    return row is not None and row.confirmed_at is not None


async def verify(session: AsyncSession, user_id: uuid.UUID, code: str) -> str | None:
    """`totp` or `recovery_code` when `code` is accepted (and used up), else None."""
    row = await session.get(UserTotp, user_id, with_for_update=True)
    if row is None or row.confirmed_at is None:
        return None
    if code.strip().isdigit() and _accept_totp(row, code):
        return "totp"
    recovery = await session.scalar(
        select(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _code_hash(code))
        .where(RecoveryCode.used_at.is_(None))
        .with_for_update()
    )
    if recovery is None:
        return None
    recovery.used_at = utcnow()
    return "recovery_code"


async def required_by_policy(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether an organization of the user, or an ancestor of one, requires a second factor."""
    pending = set(
        await session.scalars(select(Membership.organization_id).where(Membership.user_id == user_id))
    )
    seen: set[uuid.UUID] = set()
    while pending:
        rows = list(await session.scalars(select(Organization).where(Organization.id.in_(pending))))
        if any(o.require_mfa for o in rows):
            return True
        seen |= pending
        pending = {o.parent_id for o in rows if o.parent_id is not None} - seen
    return False


async def disable(session: AsyncSession, user_id: uuid.UUID, code: str) -> None:
    if await required_by_policy(session, user_id):
        raise UserInputError([FieldError((), "your organization requires a second factor", "MFA_REQUIRED")])
    if await verify(session, user_id, code) is None:
        raise UserInputError([INVALID_CODE])
    row = await session.get(UserTotp, user_id)
    if row is not None:
        await session.delete(row)
    for old in await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)):
        await session.delete(old)


# ---- the challenge between password and code --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID | None
    email: str
    client_address: str | None
    enroll: bool  # required by policy but not set up yet: enroll, confirm, then signed in


def _challenge_key(settings: IdentitySettings, token: str) -> str:
    return f"{settings.login_throttle_prefix}mfa:{hashlib.sha256(token.encode()).hexdigest()}"


async def open_challenge(redis_url: str, settings: IdentitySettings, challenge: Challenge) -> str:
    token = secrets.token_urlsafe(32)
    value = orjson.dumps(
        {
            "tenant_id": str(challenge.tenant_id),
            "user_id": str(challenge.user_id),
            "organization_id": str(challenge.organization_id) if challenge.organization_id else None,
            "email": challenge.email,
            "client_address": challenge.client_address,
            "enroll": challenge.enroll,
            "wrong": 0,
        }
    )
    await redis_client(redis_url).set(_challenge_key(settings, token), value, ex=settings.mfa_challenge_ttl)
    return token


async def load_challenge(redis_url: str, settings: IdentitySettings, token: str) -> Challenge:
    raw = await redis_client(redis_url).get(_challenge_key(settings, token))
    if raw is None:
        raise UserInputError([FieldError(("mfaToken",), "sign in again", "INVALID_MFA_TOKEN")])
    data = orjson.loads(raw)
    org = data.get("organization_id")
    return Challenge(
        uuid.UUID(data["tenant_id"]),
        uuid.UUID(data["user_id"]),
        uuid.UUID(org) if org else None,
        data["email"],
        data.get("client_address"),
        bool(data.get("enroll")),
    )


async def close_challenge(redis_url: str, settings: IdentitySettings, token: str) -> bool:
    """Single use: True for the one caller that removed it."""
    return bool(await redis_client(redis_url).delete(_challenge_key(settings, token)))


async def wrong_code(redis_url: str, settings: IdentitySettings, token: str) -> None:
    """Count a wrong code; the challenge is gone after MAX_CODE_ATTEMPTS."""
    key = _challenge_key(settings, token)
    client = redis_client(redis_url)
    raw = await client.get(key)
    if raw is None:
        return
    data = orjson.loads(raw)
    data["wrong"] = int(data.get("wrong", 0)) + 1
    if data["wrong"] >= MAX_CODE_ATTEMPTS:
        await client.delete(key)
    else:
        await client.set(key, orjson.dumps(data), keepttl=True)
