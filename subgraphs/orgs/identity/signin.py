"""The password login as the GraphQL mutation runs it: throttle (throttle.py), check, audit, token.

Every attempt in a known tenant gets an audit entry in its own transaction: `login_succeeded` or
`login_failed` with `data.reason` (`invalid_credentials`, `throttled`, `user_deactivated`,
`no_membership`), the client address and the e-mail as typed (lower-cased). The subject is the user
when the e-mail belongs to one, else a stable pseudonymous id of the e-mail (uuid5), so an admin can
group the attempts on a non-existent address without the answer telling the caller anything. An
unknown tenant has no audit log: those attempts are only logged by the process (and throttled).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select

from shared.db import Database
from shared.errors import AppError, FieldError, UserInputError
from subgraphs.orgs import audit, auth
from subgraphs.orgs.access import Actor
from subgraphs.orgs.identity import mfa
from subgraphs.orgs.identity.config import IdentitySettings, get_identity_settings
from subgraphs.orgs.identity.throttle import Attempt, LoginThrottle, Verdict
from subgraphs.orgs.models import Membership, User

log = logging.getLogger(__name__)

_PSEUDONYM_NAMESPACE = uuid.UUID("6f1d3c3e-6a57-4d0c-9a8e-3f0d1f6a8b21")


class TooManyAttempts(UserInputError):
    """Refused before any password check; `retry_after` seconds until the next attempt may be checked."""

    def __init__(self, retry_after: float) -> None:
        error = FieldError(("email",), "too many failed attempts; retry later", "TOO_MANY_ATTEMPTS")
        super().__init__([error])
        self.retry_after = retry_after


class MfaRequired(Exception):
    """The password was right; the second factor comes next (`loginMfa`, or enrollment first)."""

    def __init__(self, token: str, *, enroll: bool) -> None:
        super().__init__("a second factor is required")
        self.token, self.enroll = token, enroll


class ThrottleUnavailable(AppError):
    """The throttle's Redis cannot be reached: logins are refused rather than left unprotected."""

    code = "SERVICE_UNAVAILABLE"


async def _audit(
    db: Database,
    tenant_id: uuid.UUID,
    user: User | None,
    email: str,
    action: str,
    data: dict[str, Any],
) -> None:
    subject = user.id if user is not None else uuid.uuid5(_PSEUDONYM_NAMESPACE, f"{tenant_id}:{email}")
    async with db.tenant_session(tenant_id) as session:
        org: uuid.UUID | None = None
        if user is not None:  # the entry shows up in the audit log of the user's organization
            org = await session.scalar(
                select(Membership.organization_id)
                .where(Membership.user_id == user.id)
                .order_by(Membership.created_at)
                .limit(1)
            )
        actor = Actor(user.id if user is not None else None, org)
        await audit.record(session, tenant_id, actor, action, "login", subject, {"email": email, **data})


async def login(
    db: Database,
    redis_url: str,
    *,
    email: str,
    password: str,
    tenant: str,
    organization_id: str | None,
    client_address: str | None,
    settings: IdentitySettings | None = None,
) -> auth.IssuedToken:
    settings = settings or get_identity_settings()
    org_id = auth.parse_organization_id(organization_id)
    email = email.strip().lower()
    tenant_id = await auth.resolve_tenant(db, tenant)
    attempt = Attempt.of(tenant_id or tenant.strip().lower(), email, client_address)
    throttle = LoginThrottle(redis_url, settings) if settings.login_throttle else None
    where = {"client_address": client_address}

    async def failed(user: User | None, reason: str, **extra: Any) -> None:
        if tenant_id is not None:
            await _audit(db, tenant_id, user, email, "login_failed", {**where, "reason": reason, **extra})
        else:
            log.info("login failed in unknown tenant %r from %s: %s", tenant, client_address, reason)

    if throttle is not None:
        try:
            verdict = await throttle.check(attempt)
        except (RedisError, OSError) as exc:
            log.warning("login throttle unavailable: %s", exc)
            raise ThrottleUnavailable("sign-in is unavailable right now; retry later") from None
        if not verdict.allowed:
            await failed(None, "throttled", throttle=verdict.reason, retry_after=verdict.retry_after)
            raise TooManyAttempts(verdict.retry_after)
    try:
        user, ok = await auth.check_password(db, tenant_id, email, password)
        if not ok or user is None or tenant_id is None:
            counts = await throttle.failed(attempt) if throttle is not None else None
            await failed(user, "invalid_credentials", **({"failures": list(counts)} if counts else {}))
            raise UserInputError([auth.BAD_CREDENTIALS])
        if user.active:
            async with db.tenant_session(tenant_id) as session:
                has_factor = await mfa.enabled(session, user.id)
                needs_factor = has_factor or await mfa.required_by_policy(session, user.id)
            if needs_factor:
                if throttle is not None:
                    await throttle.release(attempt)  # counters stay until the second factor passes
                challenge = mfa.Challenge(tenant_id, user.id, org_id, email, client_address, not has_factor)
                token = await mfa.open_challenge(redis_url, settings, challenge)
                await _audit(db, tenant_id, user, email, "login_mfa_challenged", where)
                raise MfaRequired(token, enroll=not has_factor)
        try:
            issued = await auth.issue_token(db, tenant_id, user, org_id)
        except UserInputError as exc:
            if throttle is not None:
                await throttle.release(attempt)  # the password was right: not a guess
            await failed(user, exc.errors[0].code.lower())
            raise
        if throttle is not None:
            await throttle.succeeded(attempt)
    except (RedisError, OSError) as exc:
        log.warning("login throttle unavailable: %s", exc)
        raise ThrottleUnavailable("sign-in is unavailable right now; retry later") from None
    await _audit(
        db,
        tenant_id,
        user,
        email,
        "login_succeeded",
        {**where, "organization_id": str(issued.organization_id), "method": "password"},
    )
    return issued


async def _guarded(
    redis_url: str, settings: IdentitySettings, challenge: mfa.Challenge
) -> tuple[LoginThrottle | None, Attempt]:
    attempt = Attempt.of(challenge.tenant_id, challenge.email, challenge.client_address)
    throttle = LoginThrottle(redis_url, settings) if settings.login_throttle else None
    if throttle is not None:
        verdict = await throttle.check(attempt)
        if not verdict.allowed:
            raise TooManyAttempts(verdict.retry_after)
    return throttle, attempt


async def _finish(
    db: Database,
    redis_url: str,
    settings: IdentitySettings,
    mfa_token: str,
    challenge: mfa.Challenge,
    method: str,
    throttle: LoginThrottle | None,
    attempt: Attempt,
) -> auth.IssuedToken:
    if not await mfa.close_challenge(redis_url, settings, mfa_token):  # used by a concurrent request
        raise UserInputError([FieldError(("mfaToken",), "sign in again", "INVALID_MFA_TOKEN")])
    async with db.tenant_session(challenge.tenant_id) as session:
        user = await session.get(User, challenge.user_id)
    if user is None:
        raise UserInputError([auth.BAD_CREDENTIALS])
    amr = ["pwd", "otp"] if method == "totp" else ["pwd", "mfa"]
    issued = await auth.issue_token(
        db, challenge.tenant_id, user, challenge.organization_id, extra_claims={"amr": amr}
    )
    if throttle is not None:
        await throttle.succeeded(attempt)
    data = {"client_address": challenge.client_address, "organization_id": str(issued.organization_id)}
    await _audit(
        db,
        challenge.tenant_id,
        user,
        challenge.email,
        "login_succeeded",
        {**data, "method": f"password+{method}"},
    )
    return issued


async def login_mfa(
    db: Database, redis_url: str, *, mfa_token: str, code: str, settings: IdentitySettings | None = None
) -> auth.IssuedToken:
    """The second step of a login: the challenge's user with a TOTP or recovery code."""
    settings = settings or get_identity_settings()
    challenge = await mfa.load_challenge(redis_url, settings, mfa_token)
    if challenge.enroll:
        error = FieldError(
            ("mfaToken",), "set up a second factor first (totpEnroll)", "MFA_ENROLLMENT_REQUIRED"
        )
        raise UserInputError([error])
    throttle, attempt = await _guarded(redis_url, settings, challenge)
    async with db.tenant_session(challenge.tenant_id) as session:
        method = await mfa.verify(session, challenge.user_id, code)
    if method is None:
        await mfa.wrong_code(redis_url, settings, mfa_token)
        if throttle is not None:
            await throttle.failed(attempt)
        await _audit(
            db,
            challenge.tenant_id,
            None,
            challenge.email,
            "login_failed",
            {"client_address": challenge.client_address, "reason": "invalid_mfa_code"},
        )
        raise UserInputError([mfa.INVALID_CODE])
    return await _finish(db, redis_url, settings, mfa_token, challenge, method, throttle, attempt)


async def enroll_during_login(
    db: Database, redis_url: str, mfa_token: str, settings: IdentitySettings
) -> mfa.Enrollment:
    challenge = await mfa.load_challenge(redis_url, settings, mfa_token)
    if not challenge.enroll:
        raise UserInputError(
            [FieldError(("mfaToken",), "a second factor is set up already", "MFA_ALREADY_ENABLED")]
        )
    async with db.tenant_session(challenge.tenant_id) as session:
        user = await session.get(User, challenge.user_id)
        if user is None:
            raise UserInputError([FieldError(("mfaToken",), "sign in again", "INVALID_MFA_TOKEN")])
        return await mfa.enroll(session, challenge.tenant_id, user, settings)


async def confirm_during_login(
    db: Database, redis_url: str, mfa_token: str, code: str, settings: IdentitySettings
) -> tuple[list[str], auth.IssuedToken]:
    """Confirm the factor set up during a login; the login completes with it."""
    challenge = await mfa.load_challenge(redis_url, settings, mfa_token)
    throttle, attempt = await _guarded(redis_url, settings, challenge)
    try:
        async with db.tenant_session(challenge.tenant_id) as session:
            codes = await mfa.confirm(session, challenge.tenant_id, challenge.user_id, code, settings)
    except UserInputError:
        await mfa.wrong_code(redis_url, settings, mfa_token)
        if throttle is not None:
            await throttle.failed(attempt)
        raise
    issued = await _finish(db, redis_url, settings, mfa_token, challenge, "totp", throttle, attempt)
    return codes, issued


__all__ = ["MfaRequired", "ThrottleUnavailable", "TooManyAttempts", "Verdict", "login", "login_mfa"]
