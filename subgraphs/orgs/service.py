"""Domain rules of the orgs subgraph. No GraphQL here: plain inputs in, models out, business
failures raised as `UserInputError` (the schema turns them into `userErrors`).

Every function takes an `AsyncSession` that is already a tenant transaction
(`RequestContext.session()` / `Database.tenant_session`), so RLS scopes every statement; the
explicit `tenant_id` arguments are only used for the rows being created.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadUserInputError, FieldError, UserInputError
from shared.events import add_event
from subgraphs.orgs import events
from subgraphs.orgs.models import SCHEMA, Membership, Organization, OrganizationKind, Tenant, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE = re.compile(r"^[a-z][a-z0-9_:-]{0,63}$")
NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class NewOrganization:
    name: str
    kind: str
    parent_id: str | None = None
    external_ref: str | None = None


@dataclass(frozen=True, slots=True)
class NewUser:
    email: str
    display_name: str


@dataclass(frozen=True, slots=True)
class NewMembership:
    user_id: str
    organization_id: str
    roles: Sequence[str] = field(default_factory=tuple)


def _uuid(value: str | None, field_name: str, errors: list[FieldError]) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        errors.append(FieldError((field_name,), "not a valid id", "INVALID"))
        return None


def _name(value: str, field_name: str, errors: list[FieldError]) -> str:
    value = value.strip()
    if not value:
        errors.append(FieldError((field_name,), "must not be blank", "BLANK"))
    elif len(value) > NAME_MAX:
        errors.append(FieldError((field_name,), f"must be at most {NAME_MAX} characters", "TOO_LONG"))
    return value


# --------------------------------------------------------------------------- reads


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def organizations_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Organization]:
    rows = await session.scalars(select(Organization).where(Organization.id.in_(ids)))
    return {org.id: org for org in rows}


async def children_by_parent(
    session: AsyncSession, parent_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Organization]]:
    rows = await session.scalars(
        select(Organization)
        .where(Organization.parent_id.in_(parent_ids))
        .order_by(Organization.name, Organization.id)
    )
    out: dict[uuid.UUID, list[Organization]] = {pid: [] for pid in parent_ids}
    for org in rows:
        assert org.parent_id is not None
        out[org.parent_id].append(org)
    return out


async def users_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    rows = await session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in rows}


async def memberships_by(
    session: AsyncSession, column: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Membership]]:
    """Memberships grouped by `user_id` or `organization_id`."""
    key = Membership.user_id if column == "user_id" else Membership.organization_id
    rows = await session.scalars(select(Membership).where(key.in_(ids)).order_by(Membership.created_at))
    out: dict[uuid.UUID, list[Membership]] = {i: [] for i in ids}
    for m in rows:
        out[getattr(m, column)].append(m)
    return out


async def list_organizations(
    session: AsyncSession,
    *,
    limit: int,
    after: list[Any] | None,
    kind: str | None = None,
    parent_id: uuid.UUID | None = None,
) -> tuple[list[tuple[Organization, list[Any]]], int]:
    """One page ordered by (name, id), keyset after `after` = [name, id]; plus the total count.
    Returns up to `limit + 1` rows so the caller knows whether there is a next page."""
    filters = []
    if kind is not None:
        filters.append(Organization.kind == kind)
    if parent_id is not None:
        filters.append(Organization.parent_id == parent_id)
    total = await session.scalar(select(func.count()).select_from(Organization).where(*filters)) or 0
    query = select(Organization).where(*filters)
    if after is not None:
        try:
            after_name, after_id = str(after[0]), uuid.UUID(str(after[1]))
        except (IndexError, ValueError) as exc:
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from exc
        query = query.where(tuple_(Organization.name, Organization.id) > tuple_(after_name, after_id))
    rows = await session.scalars(query.order_by(Organization.name, Organization.id).limit(limit + 1))
    return [(org, [org.name, str(org.id)]) for org in rows], total


# --------------------------------------------------------------------------- writes


async def create_organization(
    session: AsyncSession, tenant_id: uuid.UUID, data: NewOrganization
) -> Organization:
    errors: list[FieldError] = []
    name = _name(data.name, "name", errors)
    if data.kind not in OrganizationKind.__members__:
        errors.append(FieldError(("kind",), "unknown organization kind", "INVALID"))
    parent_id = _uuid(data.parent_id, "parentId", errors)
    external_ref = data.external_ref.strip() if data.external_ref else None
    if parent_id is not None:
        parent = await session.get(Organization, parent_id)  # RLS: another tenant's org is invisible
        if parent is None:
            errors.append(FieldError(("parentId",), "no such organization", "NOT_FOUND"))
        elif parent.kind != data.kind:
            errors.append(
                FieldError(("parentId",), "a business unit has the kind of its parent", "KIND_MISMATCH")
            )
    if external_ref and await session.scalar(
        select(Organization.id).where(Organization.external_ref == external_ref)
    ):
        errors.append(FieldError(("externalRef",), "already used by another organization", "TAKEN"))
    if errors:
        raise UserInputError(errors)
    org = Organization(
        tenant_id=tenant_id, kind=data.kind, name=name, parent_id=parent_id, external_ref=external_ref
    )
    await _insert(session, org, FieldError(("externalRef",), "already used by another organization", "TAKEN"))
    await add_event(session, SCHEMA, events.organization_created(org))
    return org


async def create_user(session: AsyncSession, tenant_id: uuid.UUID, data: NewUser) -> User:
    errors: list[FieldError] = []
    email = data.email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        errors.append(FieldError(("email",), "not a valid email address", "INVALID"))
    display_name = _name(data.display_name, "displayName", errors)
    if not errors and await session.scalar(select(User.id).where(User.email == email)):
        errors.append(FieldError(("email",), "a user with this email exists", "TAKEN"))
    if errors:
        raise UserInputError(errors)
    user = User(tenant_id=tenant_id, email=email, display_name=display_name)
    await _insert(session, user, FieldError(("email",), "a user with this email exists", "TAKEN"))
    await add_event(session, SCHEMA, events.user_created(user))
    return user


async def create_membership(session: AsyncSession, tenant_id: uuid.UUID, data: NewMembership) -> Membership:
    errors: list[FieldError] = []
    user_id = _uuid(data.user_id, "userId", errors)
    organization_id = _uuid(data.organization_id, "organizationId", errors)
    roles = sorted({r.strip() for r in data.roles})
    for role in roles:
        if not _ROLE.match(role):
            errors.append(FieldError(("roles",), f"invalid role name {role!r}", "INVALID"))
    if user_id is not None and await session.get(User, user_id) is None:
        errors.append(FieldError(("userId",), "no such user", "NOT_FOUND"))
    if organization_id is not None and await session.get(Organization, organization_id) is None:
        errors.append(FieldError(("organizationId",), "no such organization", "NOT_FOUND"))
    if errors:
        raise UserInputError(errors)
    assert user_id is not None and organization_id is not None
    existing = await session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.organization_id == organization_id
        )
    )
    if existing is not None:
        raise UserInputError([FieldError(("userId",), "already a member of this organization", "TAKEN")])
    membership = Membership(
        tenant_id=tenant_id, user_id=user_id, organization_id=organization_id, roles=roles
    )
    await _insert(
        session, membership, FieldError(("userId",), "already a member of this organization", "TAKEN")
    )
    await add_event(session, SCHEMA, events.membership_created(membership))
    return membership


async def _insert(session: AsyncSession, row: object, on_conflict: FieldError) -> None:
    """Insert under a savepoint so a lost race on a unique key becomes a userError, not a 500."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise UserInputError([on_conflict]) from exc
