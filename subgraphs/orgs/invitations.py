"""Invitations: an admin invites an email address into an organization with roles; the invitee
accepts with the token (shown once, stored as SHA-256) and becomes a user (or, if the email is
already a user of the tenant, only gains the membership)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import FieldError, UserInputError
from shared.events import add_event
from subgraphs.orgs import audit, events, service
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.config import OrgsSettings, get_orgs_settings
from subgraphs.orgs.models import SCHEMA, Invitation, Membership, Organization, User
from subgraphs.orgs.passwords import hash_password_async, password_problem


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CreatedInvitation:
    row: Invitation
    token: str  # shown once (sent by email in a real deployment)


@dataclass(frozen=True, slots=True)
class Accepted:
    user: User
    membership: Membership


async def invite(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    scope: Scope,
    *,
    email: str,
    organization_id: str,
    roles: Sequence[str],
    settings: OrgsSettings | None = None,
) -> CreatedInvitation:
    settings = settings or get_orgs_settings()
    errors: list[FieldError] = []
    address = email.strip().lower()
    if not service.EMAIL.match(address) or len(address) > 320:
        errors.append(FieldError(("email",), "not a valid email address", "INVALID"))
    try:
        org_id: uuid.UUID | None = uuid.UUID(organization_id)
    except ValueError:
        org_id = None
        errors.append(FieldError(("organizationId",), "not a valid id", "INVALID"))
    if org_id is not None and (not scope.allows(org_id) or await session.get(Organization, org_id) is None):
        errors.append(FieldError(("organizationId",), "no such organization", "NOT_FOUND"))
    wanted = sorted({r.strip() for r in roles})
    errors += await service.check_roles(session, wanted, "roles")
    if errors:
        raise UserInputError(errors)
    assert org_id is not None
    token = secrets.token_urlsafe(32)
    row = Invitation(
        tenant_id=tenant_id,
        organization_id=org_id,
        email=address,
        roles=wanted,
        token_hash=_hash(token),
        invited_by=actor.user_id,
        expires_at=utcnow() + timedelta(seconds=settings.invitation_ttl),
    )
    session.add(row)
    await session.flush()
    data = {"id": str(row.id), "email": address, "organization_id": str(org_id), "roles": wanted}
    await audit.record(session, tenant_id, actor, "invitation_created", "invitation", row.id, data)
    return CreatedInvitation(row=row, token=token)


async def accept(
    session: AsyncSession, tenant_id: uuid.UUID, *, token: str, display_name: str, password: str
) -> Accepted:
    """Redeem an invitation (in the invitation's tenant). The token proves control of the email."""
    row = await session.scalar(
        select(Invitation).where(Invitation.token_hash == _hash(token.strip())).with_for_update()
    )
    if row is None or row.accepted_at is not None or row.expires_at <= utcnow():
        raise UserInputError([FieldError(("token",), "invalid or expired invitation", "INVALID_TOKEN")])
    user = await session.scalar(select(User).where(User.email == row.email))
    if user is None:
        errors: list[FieldError] = []
        name = service.clean_name(display_name, "displayName", errors)
        problem = password_problem(password)
        if problem:
            errors.append(FieldError(("password",), problem, "WEAK_PASSWORD"))
        if errors:
            raise UserInputError(errors)
        user = User(tenant_id=tenant_id, email=row.email, display_name=name)
        user.password_hash = await hash_password_async(password)
        session.add(user)
        await session.flush()
        await add_event(session, SCHEMA, events.user_created(user))
    actor = Actor(user.id, row.organization_id)
    membership = await session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organization_id == row.organization_id
        )
    )
    if membership is None:
        membership = Membership(
            tenant_id=tenant_id, user_id=user.id, organization_id=row.organization_id, roles=list(row.roles)
        )
        session.add(membership)
        await session.flush()
        await add_event(session, SCHEMA, events.membership_created(membership))
    else:
        membership.roles = sorted(set(membership.roles) | set(row.roles))
    row.accepted_at = utcnow()
    row.accepted_user_id = user.id
    await session.flush()
    data = {
        "id": str(row.id),
        "user_id": str(user.id),
        "organization_id": str(row.organization_id),
        "roles": list(membership.roles),
    }
    await audit.record(session, tenant_id, actor, "invitation_accepted", "membership", membership.id, data)
    await add_event(session, SCHEMA, events.event("invitation_accepted", tenant_id, row.id, data))
    return Accepted(user=user, membership=membership)
