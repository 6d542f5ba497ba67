"""Login (email + password in a tenant -> signed JWT) and user deactivation. No GraphQL here.

Token claims (docs/auth-contract.md): `iss`, `aud`, `sub` (user id), `tid` (tenant), `org` and
`org_id` (the organization the session acts for), `roles`, `scope` (space-separated), `sv` (the
user's session version), `iat`, `exp`, `jti`; header `kid`, `alg: EdDSA`.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.errors import FieldError, UserInputError
from shared.events import add_event
from subgraphs.orgs import audit, events, keys
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.config import OrgsSettings, get_orgs_settings
from subgraphs.orgs.models import SCHEMA, Membership, Organization, Role, TenantDirectory, User
from subgraphs.orgs.passwords import verify_password
from subgraphs.orgs.roles import scopes_of

BAD_CREDENTIALS = FieldError(("email",), "wrong email, password or tenant", "INVALID_CREDENTIALS")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: int  # unix seconds
    user_id: uuid.UUID
    organization_id: uuid.UUID
    roles: tuple[str, ...]
    scopes: tuple[str, ...]


async def resolve_tenant(db: Database, tenant: str) -> uuid.UUID | None:
    """A tenant id from its slug or id (the directory is readable before a tenant is known)."""
    value = tenant.strip().lower()
    try:
        condition = TenantDirectory.tenant_id == uuid.UUID(value)
    except ValueError:
        condition = TenantDirectory.slug == value
    async with db.session() as session:
        return await session.scalar(select(TenantDirectory.tenant_id).where(condition).limit(1))


async def custom_role_scopes(session: AsyncSession) -> dict[str, list[str]]:
    return {role.code: list(role.scopes) for role in await session.scalars(select(Role))}


async def _pick_membership(
    session: AsyncSession, memberships: Sequence[Membership], organization_id: uuid.UUID | None
) -> Membership | None:
    """The requested organization's membership, else the top-most one (a unit's parent first)."""
    if organization_id is not None:
        return next((m for m in memberships if m.organization_id == organization_id), None)
    if not memberships:
        return None
    ids = {m.organization_id for m in memberships}
    orgs = await session.scalars(select(Organization).where(Organization.id.in_(ids)))
    below = {o.id for o in orgs if o.parent_id in ids}
    return next((m for m in memberships if m.organization_id not in below), memberships[0])


def parse_organization_id(organization_id: str | None) -> uuid.UUID | None:
    if organization_id is None:
        return None
    try:
        return uuid.UUID(organization_id)
    except ValueError:
        raise UserInputError([FieldError(("organizationId",), "not a valid id", "INVALID")]) from None


async def check_password(
    db: Database, tenant_id: uuid.UUID | None, email: str, password: str
) -> tuple[User | None, bool]:
    """The user of that e-mail (None if unknown) and whether the password is right. Always one argon2
    verification (a dummy hash for unknown users), so the time tells nothing about the e-mail."""
    user: User | None = None
    if tenant_id is not None:
        async with db.tenant_session(tenant_id) as session:
            user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = await verify_password(user.password_hash if user else None, password)
    return user, ok and user is not None


async def issue_token(
    db: Database,
    tenant_id: uuid.UUID,
    user: User,
    org_id: uuid.UUID | None,
    settings: OrgsSettings | None = None,
    extra_claims: dict[str, object] | None = None,
) -> IssuedToken:
    """A token for a user whose credentials were checked (password, or an SSO provider's ID token)."""
    settings = settings or get_orgs_settings()
    if not user.active:
        raise UserInputError([FieldError(("email",), "this user is deactivated", "USER_DEACTIVATED")])
    async with db.tenant_session(tenant_id) as session:
        memberships = list(
            await session.scalars(
                select(Membership).where(Membership.user_id == user.id).order_by(Membership.created_at)
            )
        )
        membership = await _pick_membership(session, memberships, org_id)
        if membership is None:
            field = "organizationId" if org_id is not None else "email"
            raise UserInputError([FieldError((field,), "not a member of this organization", "NO_MEMBERSHIP")])
        scopes = scopes_of(membership.roles, await custom_role_scopes(session))
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user.id),
        "tid": str(tenant_id),
        "org": str(membership.organization_id),
        "org_id": str(membership.organization_id),  # the gateway's name for it (docs/auth.md)
        "roles": sorted(membership.roles),
        "scope": " ".join(sorted(scopes)),
        "sv": user.session_version,
        "iat": now,
        "exp": now + settings.token_ttl,
        "jti": secrets.token_urlsafe(12),
        **(extra_claims or {}),
    }
    async with db.session() as session:
        key = await keys.active_key(session, settings)
    return IssuedToken(
        token=keys.sign(claims, key, settings),
        expires_at=now + settings.token_ttl,
        user_id=user.id,
        organization_id=membership.organization_id,
        roles=tuple(sorted(membership.roles)),
        scopes=tuple(sorted(scopes)),
    )


async def login(
    db: Database,
    *,
    email: str,
    password: str,
    tenant: str,
    organization_id: str | None = None,
    settings: OrgsSettings | None = None,
) -> IssuedToken:
    """A signed access token, or UserInputError. Unknown tenant, unknown email and wrong password
    give the same error after the same (argon2) work. No throttling here: the GraphQL login goes
    through `identity.signin`, which adds it, the audit entries and the second factor."""
    org_id = parse_organization_id(organization_id)
    tenant_id = await resolve_tenant(db, tenant)
    user, ok = await check_password(db, tenant_id, email, password)
    if not ok or user is None or tenant_id is None:
        raise UserInputError([BAD_CREDENTIALS])
    return await issue_token(db, tenant_id, user, org_id, settings)


async def _user_in_scope(session: AsyncSession, scope: Scope, user_id: str) -> User:
    """The user, locked, if it is a member somewhere in `scope` (admins manage their members)."""
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        raise UserInputError([FieldError(("userId",), "not a valid id", "INVALID")]) from None
    user = await session.get(User, uid, with_for_update=True)
    if user is not None and not scope.all:
        orgs = await session.scalars(select(Membership.organization_id).where(Membership.user_id == uid))
        if not any(scope.allows(o) for o in orgs):
            user = None
    if user is None:
        raise UserInputError([FieldError(("userId",), "no such user", "NOT_FOUND")])
    return user


async def deactivate_user(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, scope: Scope, user_id: str
) -> User:
    """Deactivate a user and bump its session version: tokens carrying an older `sv` are refused
    by the gateway (docs/auth-contract.md). Admins of an organization may deactivate its members."""
    user = await _user_in_scope(session, scope, user_id)
    uid = user.id
    if actor.user_id == uid:
        raise UserInputError([FieldError(("userId",), "you cannot deactivate yourself", "SELF")])
    if not user.active:
        return user
    user.active = False
    user.session_version += 1
    user.deactivated_at = utcnow()
    await session.flush()
    data = {"id": str(uid), "session_version": user.session_version}
    await audit.record(session, tenant_id, actor, "user_deactivated", "user", uid, data)
    await add_event(session, SCHEMA, events.event("user_deactivated", tenant_id, uid, data))
    return user


async def reactivate_user(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, scope: Scope, user_id: str
) -> User:
    """Allow logins again. The session version stays: tokens from before the deactivation remain
    refused, new logins carry the current `sv`."""
    user = await _user_in_scope(session, scope, user_id)
    if user.active:
        return user
    user.active = True
    user.deactivated_at = None
    await session.flush()
    data = {"id": str(user.id), "session_version": user.session_version}
    await audit.record(session, tenant_id, actor, "user_reactivated", "user", user.id, data)
    await add_event(session, SCHEMA, events.event("user_reactivated", tenant_id, user.id, data))
    return user
