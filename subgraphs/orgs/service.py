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

from sqlalchemy import ColumnElement, func, literal, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import BadUserInputError, FieldError, UserInputError
from shared.events import add_event
from subgraphs.orgs import audit, events
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.models import SCHEMA, Membership, Organization, OrganizationKind, Role, Tenant, User
from subgraphs.orgs.roles import BUILTIN_ROLES, KNOWN_SCOPES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL = EMAIL
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


def clean_name(value: str, field_name: str, errors: list[FieldError]) -> str:
    value = value.strip()
    if not value:
        errors.append(FieldError((field_name,), "must not be blank", "BLANK"))
    elif len(value) > NAME_MAX:
        errors.append(FieldError((field_name,), f"must be at most {NAME_MAX} characters", "TOO_LONG"))
    return value


_name = clean_name


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
    scope: Scope | None = None,
) -> tuple[list[tuple[Organization, list[Any]]], int]:
    """One page ordered by (name, id), keyset after `after` = [name, id]; plus the total count.
    Returns up to `limit + 1` rows so the caller knows whether there is a next page. `scope`
    limits the rows to the caller's data scope (None: no limit, for internal callers)."""
    filters: list[ColumnElement[bool]] = []
    if scope is not None and not scope.all:
        filters.append(Organization.id.in_(scope.ids))
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


async def create_membership(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    data: NewMembership,
    actor: Actor | None = None,
    scope: Scope | None = None,
) -> Membership:
    """`scope` (the caller's data scope) limits which organizations it may add members to."""
    errors: list[FieldError] = []
    user_id = _uuid(data.user_id, "userId", errors)
    organization_id = _uuid(data.organization_id, "organizationId", errors)
    roles = sorted({r.strip() for r in data.roles})
    for role in roles:
        if not _ROLE.match(role):
            errors.append(FieldError(("roles",), f"invalid role name {role!r}", "INVALID"))
    if user_id is not None and await session.get(User, user_id) is None:
        errors.append(FieldError(("userId",), "no such user", "NOT_FOUND"))
    if organization_id is not None and (
        (scope is not None and not scope.allows(organization_id))
        or await session.get(Organization, organization_id) is None
    ):
        errors.append(FieldError(("organizationId",), "no such organization", "NOT_FOUND"))
    if not errors:
        errors += await check_roles(session, roles, "roles")
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
    await audit.record(
        session,
        tenant_id,
        actor or Actor(None, None),
        "membership_created",
        "membership",
        membership.id,
        {"user_id": str(user_id), "organization_id": str(organization_id), "roles": roles},
    )
    return membership


async def _insert(session: AsyncSession, row: object, on_conflict: FieldError) -> None:
    """Insert under a savepoint so a lost race on a unique key becomes a userError, not a 500."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise UserInputError([on_conflict]) from exc


# --------------------------------------------------------------------------- roles


async def custom_roles(session: AsyncSession) -> list[Role]:
    return list(await session.scalars(select(Role).order_by(Role.code)))


async def check_roles(session: AsyncSession, roles: Sequence[str], field_name: str) -> list[FieldError]:
    """Errors for role codes that are neither built-in nor custom roles of the tenant."""
    unknown = [r for r in roles if r not in BUILTIN_ROLES]
    if unknown:
        found = set(await session.scalars(select(Role.code).where(Role.code.in_(unknown))))
        unknown = [r for r in unknown if r not in found]
    return [FieldError((field_name,), f"unknown role {r!r}", "UNKNOWN_ROLE") for r in unknown]


def _scopes(scopes: Sequence[str], errors: list[FieldError]) -> list[str]:
    wanted = sorted({s.strip() for s in scopes})
    for scope in wanted:
        if scope not in KNOWN_SCOPES:
            errors.append(FieldError(("scopes",), f"unknown scope {scope!r}", "INVALID"))
    return wanted


async def create_role(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, *, code: str, name: str, scopes: Sequence[str]
) -> Role:
    errors: list[FieldError] = []
    code = code.strip()
    if not _ROLE.match(code):
        errors.append(FieldError(("code",), "lower-case letters, digits, _ : - (max 64)", "INVALID"))
    elif code in BUILTIN_ROLES:
        errors.append(FieldError(("code",), "a built-in role has this code", "TAKEN"))
    clean = clean_name(name, "name", errors)
    wanted = _scopes(scopes, errors)
    if not errors and await session.scalar(select(Role.id).where(Role.code == code)):
        errors.append(FieldError(("code",), "a role with this code exists", "TAKEN"))
    if errors:
        raise UserInputError(errors)
    role = Role(tenant_id=tenant_id, code=code, name=clean, scopes=wanted)
    await _insert(session, role, FieldError(("code",), "a role with this code exists", "TAKEN"))
    data = {"id": str(role.id), "code": code, "name": clean, "scopes": wanted}
    await audit.record(session, tenant_id, actor, "role_created", "role", role.id, data)
    await add_event(session, SCHEMA, events.event("role_created", tenant_id, role.id, data))
    return role


async def update_role(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    *,
    code: str,
    name: str | None = None,
    scopes: Sequence[str] | None = None,
) -> Role:
    """Change a custom role's name or scopes (built-in roles are fixed). Tokens already issued keep
    their scopes until they expire; new logins get the new set."""
    if code in BUILTIN_ROLES:
        raise UserInputError([FieldError(("code",), "built-in roles cannot be changed", "BUILTIN_ROLE")])
    role = await session.scalar(select(Role).where(Role.code == code).with_for_update())
    if role is None:
        raise UserInputError([FieldError(("code",), "no such role", "NOT_FOUND")])
    errors: list[FieldError] = []
    before = {"name": role.name, "scopes": list(role.scopes)}
    if name is not None:
        role.name = clean_name(name, "name", errors)
    if scopes is not None:
        role.scopes = _scopes(scopes, errors)
    if errors:
        raise UserInputError(errors)
    role.updated_at = utcnow()
    await session.flush()
    data = {"id": str(role.id), "code": role.code, "name": role.name, "scopes": list(role.scopes)}
    await audit.record(session, tenant_id, actor, "role_updated", "role", role.id, {**data, "before": before})
    await add_event(session, SCHEMA, events.event("role_updated", tenant_id, role.id, data))
    return role


async def update_membership_roles(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    scope: Scope,
    membership_id: str,
    roles: Sequence[str],
) -> Membership:
    errors: list[FieldError] = []
    mid = _uuid(membership_id, "id", errors)
    if errors:
        raise UserInputError(errors)
    membership = await session.get(Membership, mid, with_for_update=True)
    if membership is None or not scope.allows(membership.organization_id):
        raise UserInputError([FieldError(("id",), "no such membership", "NOT_FOUND")])
    wanted = sorted({r.strip() for r in roles})
    errors = [
        FieldError(("roles",), f"invalid role name {r!r}", "INVALID") for r in wanted if not _ROLE.match(r)
    ]
    errors = errors or await check_roles(session, wanted, "roles")
    if errors:
        raise UserInputError(errors)
    previous = list(membership.roles)
    membership.roles = wanted
    await session.flush()
    data = {
        "id": str(membership.id),
        "user_id": str(membership.user_id),
        "organization_id": str(membership.organization_id),
        "roles": wanted,
        "previous_roles": previous,
    }
    await audit.record(
        session, tenant_id, actor, "membership_roles_changed", "membership", membership.id, data
    )
    await add_event(session, SCHEMA, events.event("membership_roles_changed", tenant_id, membership.id, data))
    return membership


# --------------------------------------------------------------------------- business-unit settings


_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TERMS = re.compile(r"^[A-Z0-9_]{1,32}$")


@dataclass(frozen=True, slots=True)
class EffectiveSettings:
    """Settings after inheritance; `*_from` is the organization the value comes from."""

    currency: str | None
    currency_from: uuid.UUID | None
    payment_terms: str | None
    payment_terms_from: uuid.UUID | None


async def effective_settings(
    session: AsyncSession, org_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EffectiveSettings]:
    """Each organization's own value, else its nearest ancestor's (one recursive query)."""
    chain = (
        select(
            Organization.id.label("start"),
            Organization.id.label("org"),
            Organization.parent_id.label("parent"),
            literal(0).label("depth"),
            Organization.currency.label("currency"),
            Organization.payment_terms.label("terms"),
        )
        .where(Organization.id.in_(org_ids))
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(
            chain.c.start,
            Organization.id,
            Organization.parent_id,
            chain.c.depth + 1,
            Organization.currency,
            Organization.payment_terms,
        ).where(Organization.id == chain.c.parent)
    )
    rows = (await session.execute(select(chain).order_by(chain.c.start, chain.c.depth))).all()
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for row in rows:
        acc = found.setdefault(row.start, {})
        if row.currency is not None and "currency" not in acc:
            acc["currency"] = (row.currency, row.org)
        if row.terms is not None and "terms" not in acc:
            acc["terms"] = (row.terms, row.org)
    out: dict[uuid.UUID, EffectiveSettings] = {}
    for org_id in org_ids:
        acc = found.get(org_id, {})
        currency, currency_from = acc.get("currency", (None, None))
        terms, terms_from = acc.get("terms", (None, None))
        out[org_id] = EffectiveSettings(currency, currency_from, terms, terms_from)
    return out


_UNSET: Any = object()


async def update_settings(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    scope: Scope,
    organization_id: str,
    *,
    currency: str | None = _UNSET,
    payment_terms: str | None = _UNSET,
) -> Organization:
    """Set (or with None clear, i.e. inherit again) an organization's own settings."""
    errors: list[FieldError] = []
    org_id = _uuid(organization_id, "organizationId", errors)
    if errors:
        raise UserInputError(errors)
    org = await session.get(Organization, org_id)
    if org is None or not scope.allows(org.id):
        raise UserInputError([FieldError(("organizationId",), "no such organization", "NOT_FOUND")])
    if currency is not _UNSET:
        if currency is not None and not _CURRENCY.match(currency.strip().upper()):
            errors.append(FieldError(("currency",), "an ISO 4217 code such as USD", "INVALID"))
        else:
            org.currency = currency.strip().upper() if currency else None
    if payment_terms is not _UNSET:
        if payment_terms is not None and not _TERMS.match(payment_terms.strip().upper()):
            errors.append(FieldError(("paymentTerms",), "a code such as NET30", "INVALID"))
        else:
            org.payment_terms = payment_terms.strip().upper() if payment_terms else None
    if errors:
        raise UserInputError(errors)
    await session.flush()
    data = {"currency": org.currency, "payment_terms": org.payment_terms}
    await audit.record(
        session, tenant_id, actor, "organization_settings_changed", "organization", org.id, data
    )
    return org
