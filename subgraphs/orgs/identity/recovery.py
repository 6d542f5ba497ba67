"""Password reset and e-mail verification by mail: single-use, expiring tokens of which only the SHA-256
is stored. No GraphQL here.

- `request_reset` answers the same whether or not the e-mail has an account; the mail goes out in the
  background after the commit, so the answer's timing does not depend on it either. At most one mail
  per account per `mail_interval` seconds (Redis), whoever asks.
- `reset_password` sets the new password, raises the user's session version (every token issued
  before is refused by the gateway, docs/auth-contract.md) and uses up every open reset token of the
  user. It also counts as a verified e-mail: the user read the mail.
- `request_verification` / `verify_email` for a signed-in user's own address.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.errors import FieldError, UserInputError
from subgraphs.orgs import audit, auth, gateway_sync
from subgraphs.orgs.access import Actor
from subgraphs.orgs.identity import mail
from subgraphs.orgs.identity.config import IdentitySettings
from subgraphs.orgs.identity.models import IdentityToken
from subgraphs.orgs.identity.throttle import redis_client
from subgraphs.orgs.models import Tenant, User
from subgraphs.orgs.passwords import hash_password_async, password_problem

log = logging.getLogger(__name__)

RESET, VERIFY = "reset", "verify"
INVALID_TOKEN = FieldError(("token",), "this link is not valid (any more)", "INVALID_TOKEN")
EXPIRED_TOKEN = FieldError(("token",), "this link has expired; ask for a new one", "TOKEN_EXPIRED")

_background: set[asyncio.Task[None]] = set()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _later(coro: Coroutine[Any, Any, None]) -> None:
    """Run a mail delivery after the answer; keep a reference so the task is not collected."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _deliver(settings: IdentitySettings, to: str, subject: str, body: str) -> None:
    try:
        await mail.send(settings, to, subject, body)
    except (OSError, ValueError) as exc:  # smtplib errors are OSErrors
        log.warning("could not send %r to a user: %s", subject, exc)


async def drain() -> None:
    """Wait for mails still being sent (tests, shutdown)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)


async def _issue(session: AsyncSession, tenant_id: uuid.UUID, user: User, purpose: str, ttl: int) -> str:
    now = utcnow()
    # Only the newest link of a kind works: older unused ones are used up now.
    await session.execute(
        update(IdentityToken)
        .where(
            IdentityToken.user_id == user.id,
            IdentityToken.purpose == purpose,
            IdentityToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        IdentityToken(
            tenant_id=tenant_id,
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            email=user.email,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    await session.flush()
    return token


def _open(user_id: uuid.UUID, purpose: str) -> tuple[Any, ...]:
    token = IdentityToken
    return (token.user_id == user_id, token.purpose == purpose, token.used_at.is_(None))


def _link(base: str, slug: str, token: str) -> str:
    return f"{base}?{urlencode({'tenant': slug, 'token': token})}"


async def _allowed_to_mail(redis_url: str, settings: IdentitySettings, key: str) -> bool:
    try:
        return bool(
            await redis_client(redis_url).set(
                f"{settings.login_throttle_prefix}mail:{key}", "1", nx=True, ex=settings.mail_interval
            )
        )
    except (RedisError, OSError) as exc:
        log.warning("mail throttle unavailable: %s", exc)
        return False


async def request_reset(
    db: Database,
    redis_url: str,
    settings: IdentitySettings,
    *,
    tenant: str,
    email: str,
    client_address: str | None,
) -> None:
    """Mail a reset link if the e-mail has an active account in the tenant; the same answer otherwise."""
    email = email.strip().lower()
    tenant_id = await auth.resolve_tenant(db, tenant)
    key = hashlib.sha256(f"{tenant_id or tenant}\x00{email}".encode()).hexdigest()[:32]
    if tenant_id is None or not await _allowed_to_mail(redis_url, settings, f"reset:{key}"):
        return
    async with db.tenant_session(tenant_id) as session:
        user = await session.scalar(select(User).where(User.email == email))
        if user is None or not user.active:
            return
        row = await session.get(Tenant, tenant_id)
        slug = row.slug if row is not None else str(tenant_id)
        token = await _issue(session, tenant_id, user, RESET, settings.reset_token_ttl)
        data = {"email": email, "client_address": client_address}
        await audit.record(
            session, tenant_id, Actor(user.id, None), "password_reset_requested", "user", user.id, data
        )
    minutes = settings.reset_token_ttl // 60
    body = (
        f"Hello {user.display_name},\n\nsomeone asked to reset the password of {email}.\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{_link(settings.reset_url, slug, token)}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.\n"
    )
    _later(_deliver(settings, email, "Reset your password", body))


async def _take(session: AsyncSession, token: str, purpose: str) -> IdentityToken:
    row = await session.scalar(
        select(IdentityToken).where(IdentityToken.token_hash == token_hash(token)).with_for_update()
    )
    if row is None or row.purpose != purpose or row.used_at is not None:
        raise UserInputError([INVALID_TOKEN])
    if row.expires_at <= utcnow():
        raise UserInputError([EXPIRED_TOKEN])
    row.used_at = utcnow()
    return row


async def reset_password(
    db: Database, redis_url: str, *, tenant: str, token: str, password: str, client_address: str | None
) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise UserInputError([FieldError(("password",), problem, "WEAK_PASSWORD")])
    tenant_id = await auth.resolve_tenant(db, tenant)
    if tenant_id is None:
        raise UserInputError([INVALID_TOKEN])
    new_hash = await hash_password_async(password)
    async with db.tenant_session(tenant_id) as session:
        row = await _take(session, token, RESET)
        user = await session.get(User, row.user_id, with_for_update=True)
        if user is None or not user.active:
            raise UserInputError([INVALID_TOKEN])
        user.password_hash = new_hash
        user.session_version += 1
        if user.email_verified_at is None and user.email == row.email:
            user.email_verified_at = utcnow()
        await session.execute(
            update(IdentityToken)
            .where(
                IdentityToken.user_id == user.id,
                IdentityToken.purpose == RESET,
                IdentityToken.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        data = {"session_version": user.session_version, "client_address": client_address}
        await audit.record(session, tenant_id, Actor(user.id, None), "password_reset", "user", user.id, data)
        uid, version = user.id, user.session_version
    # Right after the commit: the gateway refuses tokens with an older `sv` from now on.
    await gateway_sync.publish_session_version(redis_url, str(uid), version)


async def request_verification(
    db: Database, redis_url: str, settings: IdentitySettings, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """Mail a verification link to the user's address; False when it is verified already."""
    async with db.tenant_session(tenant_id) as session:
        user = await session.get(User, user_id)
        if user is None or not user.active:
            raise UserInputError([FieldError((), "no such user", "NOT_FOUND")])
        if user.email_verified_at is not None:
            return False
        if not await _allowed_to_mail(redis_url, settings, f"verify:{user_id}"):
            raise UserInputError(
                [FieldError((), "a mail was sent a moment ago; check your inbox", "TOO_SOON")]
            )
        row = await session.get(Tenant, tenant_id)
        slug = row.slug if row is not None else str(tenant_id)
        token = await _issue(session, tenant_id, user, VERIFY, settings.verify_token_ttl)
        email, name = user.email, user.display_name
    body = (
        f"Hello {name},\n\nplease confirm that {email} is your address by opening this link:\n\n"
        f"{_link(settings.verify_url, slug, token)}\n"
    )
    _later(_deliver(settings, email, "Confirm your e-mail address", body))
    return True


async def verify_email(db: Database, *, tenant: str, token: str) -> None:
    tenant_id = await auth.resolve_tenant(db, tenant)
    if tenant_id is None:
        raise UserInputError([INVALID_TOKEN])
    async with db.tenant_session(tenant_id) as session:
        row = await _take(session, token, VERIFY)
        user = await session.get(User, row.user_id, with_for_update=True)
        if user is None or user.email != row.email:  # the address changed since: verify the new one
            raise UserInputError([INVALID_TOKEN])
        user.email_verified_at = utcnow()
        await audit.record(session, tenant_id, Actor(user.id, None), "email_verified", "user", user.id, {})
