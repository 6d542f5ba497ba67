# Strawberry types `@strawberry.field(description=...)` (no resolver yet) as returning Any.
# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the orgs subgraph: thin types over `service.py`.

Entities (`@key(fields: "id")`): Tenant, Organization, User, Membership. Lists are Relay
connections; mutations take one `input` and return a payload with `userErrors`. Field auth
(`@authenticated`, `@requiresScopes`) is declared here and enforced by the gateway; tenant isolation
is enforced here by RLS (every session is a tenant transaction).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from aiodataloader import DataLoader
from strawberry.federation import Schema

from shared.context import RequestContext
from shared.errors import FieldError, UnauthenticatedError, UserInputError
from shared.graphql import (
    CONNECTION_LIST_SIZE,
    FEDERATION_VERSION,
    Connection,
    Info,
    PageArgs,
    UserError,
    user_errors,
)
from subgraphs.orgs import access, api_keys, audit, auth, gateway_sync, invitations, loaders, models, service
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.gql_types import ApiKey, AuditEntry, BusinessUnitSettings, Invitation, Role
from subgraphs.orgs.identity import gql as identity_gql
from subgraphs.orgs.identity import mfa, signin
from subgraphs.orgs.identity.client import client_address
from subgraphs.orgs.identity.config import identity_settings
from subgraphs.orgs.roles import BUILTIN_ROLES, SCOPES
from subgraphs.orgs.webhook_schema import WebhookMutation, WebhookQuery

WRITE = [["orgs:write"]]
ADMIN = [["orgs:admin"]]


def _scope_loader(ctx: RequestContext) -> DataLoader[int, Scope]:
    async def load(keys: list[int]) -> list[Scope]:
        async with ctx.session() as session:
            scope = await access.scope_of(session, ctx.principal)
        return [scope for _ in keys]

    return DataLoader(load)


async def data_scope(info: Info) -> Scope:
    """The organizations the caller may see (once per request)."""
    return await info.context.loaders.get(_scope_loader).load(0)


def _admin(info: Info) -> tuple[uuid.UUID, Actor]:
    """Defence in depth: the gateway already enforced `orgs:admin` from the SDL."""
    info.context.require_scope("orgs:admin")
    return info.context.require_tenant(), Actor.of(info.context.principal)


# Every tenant-scoped entity exposes its tenant: the gateway's tenant guard compares it with the
# caller's tenant on the way out. `@shareable` so other subgraphs may declare it on the same entity.
TENANT_ID_DOC = "The tenant this belongs to."


def _signed_in_user(info: Info) -> tuple[uuid.UUID, uuid.UUID]:
    principal = info.context.require_principal()
    user_id = _uuid_or_none(principal.user_id or "")
    if user_id is None:
        raise UnauthenticatedError("only a signed-in user has a second factor")
    return info.context.require_tenant(), user_id


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@strawberry.enum
class OrganizationKind(Enum):
    PLATFORM = "PLATFORM"
    SUPPLIER = "SUPPLIER"
    BUYER = "BUYER"
    DISTRIBUTOR = "DISTRIBUTOR"


@strawberry.federation.type(keys=["id"], description="One isolated marketplace.")
class Tenant:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    slug: str
    name: str

    @classmethod
    def from_model(cls, row: models.Tenant) -> Tenant:
        return cls(
            id=strawberry.ID(str(row.id)), tenant_id=strawberry.ID(str(row.id)), slug=row.slug, name=row.name
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Tenant | None:
        tenant_id = _uuid_or_none(id)
        if tenant_id is None:
            return None
        async with info.context.session() as session:
            row = await service.get_tenant(session, tenant_id)
        return cls.from_model(row) if row else None


@strawberry.federation.type(
    keys=["id"], description="A platform, supplier, buyer or distributor (or a unit of one)."
)
class Organization:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    kind: OrganizationKind
    name: str
    external_ref: str | None
    created_at: datetime
    currency: str | None = strawberry.field(description="Own setting; null inherits (see effectiveSettings).")
    payment_terms: str | None = strawberry.field(description="Own setting, e.g. NET30; null inherits.")
    parent_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: models.Organization) -> Organization:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            kind=OrganizationKind(row.kind),
            name=row.name,
            external_ref=row.external_ref,
            created_at=row.created_at,
            currency=row.currency,
            payment_terms=row.payment_terms,
            parent_id=row.parent_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Organization | None:
        org_id = _uuid_or_none(id)
        if org_id is None:
            return None
        row = await info.context.loaders.get(loaders.organization_loader).load(org_id)
        return cls.from_model(row) if row else None

    @strawberry.field(description="The organization this is a business unit of.")
    async def parent(self, info: Info) -> Organization | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.get(loaders.organization_loader).load(self.parent_id)
        return Organization.from_model(row) if row else None

    @strawberry.field(description="Business units directly under this organization (within your scope).")
    async def children(self, info: Info) -> list[Organization]:
        scope = await data_scope(info)
        rows = await info.context.loaders.get(loaders.children_loader).load(uuid.UUID(self.id))
        return [Organization.from_model(r) for r in rows if scope.allows(r.id)]

    @strawberry.field(description="Members; empty outside your organization's subtree.")
    async def memberships(self, info: Info) -> list[Membership]:
        if not (await data_scope(info)).allows(uuid.UUID(self.id)):
            return []
        rows = await info.context.loaders.get(loaders.memberships_of_organization_loader).load(
            uuid.UUID(self.id)
        )
        return [Membership.from_model(r) for r in rows]

    @strawberry.field(description="Currency and payment terms, inherited down the business-unit tree.")
    async def effective_settings(self, info: Info) -> BusinessUnitSettings:
        org_id = uuid.UUID(self.id)
        async with info.context.session() as session:
            found = (await service.effective_settings(session, [org_id]))[org_id]

        def ref(value: uuid.UUID | None) -> strawberry.ID | None:
            return strawberry.ID(str(value)) if value else None

        return BusinessUnitSettings(
            currency=found.currency,
            currency_from=ref(found.currency_from),
            payment_terms=found.payment_terms,
            payment_terms_from=ref(found.payment_terms_from),
        )

    @strawberry.federation.field(requires_scopes=ADMIN, description="API keys of this organization.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        info.context.require_scope("orgs:admin")
        scope = await data_scope(info)
        async with info.context.session() as session:
            rows = await api_keys.list_api_keys(session, scope, uuid.UUID(self.id))
        return [ApiKey.from_model(r) for r in rows]


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    email: str
    display_name: str
    created_at: datetime
    active: bool = strawberry.field(description="False once deactivated: the user's tokens stop working.")
    email_verified: bool = strawberry.field(default=False, description="Mailbox ownership proved.")

    @classmethod
    def from_model(cls, row: models.User) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            email=row.email,
            display_name=row.display_name,
            created_at=row.created_at,
            active=row.active,
            email_verified=row.email_verified_at is not None,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> User | None:
        user_id = _uuid_or_none(id)
        if user_id is None:
            return None
        row = await info.context.loaders.get(loaders.user_loader).load(user_id)
        return cls.from_model(row) if row else None

    @strawberry.field
    async def memberships(self, info: Info) -> list[Membership]:
        rows = await info.context.loaders.get(loaders.memberships_of_user_loader).load(uuid.UUID(self.id))
        return [Membership.from_model(r) for r in rows]


@strawberry.federation.type(keys=["id"], description="A user's place in an organization, with roles.")
class Membership:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    roles: list[str]
    created_at: datetime
    user_id: strawberry.Private[uuid.UUID]
    organization_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, row: models.Membership) -> Membership:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            roles=list(row.roles),
            created_at=row.created_at,
            user_id=row.user_id,
            organization_id=row.organization_id,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Membership | None:
        membership_id = _uuid_or_none(id)
        if membership_id is None:
            return None
        async with info.context.session() as session:
            row = await session.get(models.Membership, membership_id)
        return cls.from_model(row) if row else None

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        row = await info.context.loaders.get(loaders.user_loader).load(self.user_id)
        return User.from_model(row) if row else None

    @strawberry.field
    async def organization(self, info: Info) -> Organization | None:
        row = await info.context.loaders.get(loaders.organization_loader).load(self.organization_id)
        return Organization.from_model(row) if row else None


# --------------------------------------------------------------------------- queries


@strawberry.type
class Query(WebhookQuery):
    @strawberry.field(description="An organization in the caller's data scope, or null.")
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        found = await Organization.resolve_reference(info, id)
        if found is None or not (await data_scope(info)).allows(uuid.UUID(found.id)):
            return None
        return found

    @strawberry.field(
        directives=[CONNECTION_LIST_SIZE],
        description="Organizations of the caller's tenant, by name.")
    async def organizations(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        kind: OrganizationKind | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> Connection[Organization]:
        settings = info.context.settings
        page = PageArgs.parse(
            first, after, default=settings.page_size_default, maximum=settings.page_size_max
        )
        parent = _uuid_or_none(parent_id) if parent_id is not None else None
        if parent_id is not None and parent is None:
            return Connection.build([], limit=page.limit, total_count=0, has_previous=False)
        async with info.context.session() as session:
            rows, total = await service.list_organizations(
                session,
                limit=page.limit,
                after=page.after,
                kind=kind.value if kind else None,
                parent_id=parent,
                scope=await access.scope_of(session, info.context.principal),
            )
        return Connection.build(
            [(Organization.from_model(org), key) for org, key in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )

    @strawberry.federation.field(authenticated=True, description="The signed-in user, or null for API keys.")
    async def me(self, info: Info) -> User | None:
        principal = info.context.require_principal()
        if principal.user_id is None:
            return None
        return await User.resolve_reference(info, strawberry.ID(principal.user_id))

    @strawberry.field(description="The caller's tenant.")
    async def tenant(self, info: Info) -> Tenant | None:
        return await Tenant.resolve_reference(info, strawberry.ID(str(info.context.require_tenant())))

    @strawberry.federation.field(authenticated=True, description="Built-in and custom roles of the tenant.")
    async def roles(self, info: Info) -> list[Role]:
        async with info.context.session() as session:
            custom = await service.custom_roles(session)
        return [Role.builtin(r) for r in BUILTIN_ROLES.values()] + [Role.custom(r) for r in custom]

    @strawberry.field(description="Every permission scope a role can grant.")
    def permission_scopes(self) -> list[str]:
        return list(SCOPES)

    @strawberry.federation.field(
        directives=[CONNECTION_LIST_SIZE],
        requires_scopes=ADMIN, description="Role, membership, key and user changes.")
    async def audit_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AuditEntry]:
        info.context.require_scope("orgs:admin")
        settings = info.context.settings
        page = PageArgs.parse(
            first, after, default=settings.page_size_default, maximum=settings.page_size_max
        )
        scope = await data_scope(info)
        async with info.context.session() as session:
            rows, total = await audit.list_entries(session, scope, limit=page.limit, after=page.after)
        return Connection.build(
            [(AuditEntry.from_model(e), key) for e, key in rows],
            limit=page.limit,
            total_count=total,
            has_previous=page.after is not None,
        )


# --------------------------------------------------------------------------- mutations


@strawberry.input
class OrganizationCreateInput:
    name: str
    kind: OrganizationKind
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Parent, for a business unit."
    )
    external_ref: str | None = strawberry.field(default=None, description="The id in an external system.")


@strawberry.type
class OrganizationCreatePayload:
    organization: Organization | None
    user_errors: list[UserError]


@strawberry.input
class UserCreateInput:
    email: str
    display_name: str


@strawberry.type
class UserCreatePayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.input
class MembershipCreateInput:
    user_id: strawberry.ID
    organization_id: strawberry.ID
    roles: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class MembershipCreatePayload:
    membership: Membership | None
    user_errors: list[UserError]


@strawberry.input
class LoginInput:
    email: str
    password: str
    tenant: str = strawberry.field(description="The tenant's slug (or id).")
    organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="Act for this organization (default: your top-most membership)."
    )


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(description="A signed JWT: send it as `Authorization: Bearer`.")
    token_type: str
    expires_at: datetime | None
    organization_id: strawberry.ID | None
    roles: list[str]
    scopes: list[str]
    user_errors: list[UserError]
    retry_after: float | None = strawberry.field(
        default=None, description="With TOO_MANY_ATTEMPTS: seconds until an attempt is checked again."
    )
    mfa_required: bool = strawberry.field(
        default=False, description="Password right; send a code with `loginMfa(mfaToken, code)`."
    )
    mfa_enrollment_required: bool = strawberry.field(
        default=False, description="Your organization requires a second factor: `totpEnroll(mfaToken)` first."
    )
    mfa_token: str | None = strawberry.field(default=None, description="The pending login (5 minutes).")


def login_payload(issued: auth.IssuedToken) -> LoginPayload:
    return LoginPayload(
        token=issued.token,
        token_type="Bearer",
        expires_at=datetime.fromtimestamp(issued.expires_at, tz=UTC),
        organization_id=strawberry.ID(str(issued.organization_id)),
        roles=list(issued.roles),
        scopes=list(issued.scopes),
        user_errors=[],
    )


def login_refused(exc: UserInputError | None = None, **extra: Any) -> LoginPayload:
    retry = exc.retry_after if isinstance(exc, signin.TooManyAttempts) else None
    errors = user_errors(exc) if exc is not None else []
    return LoginPayload(
        token=None,
        token_type="Bearer",
        expires_at=None,
        organization_id=None,
        roles=[],
        scopes=[],
        user_errors=errors,
        retry_after=retry,
        **extra,
    )


@strawberry.input
class LoginMfaInput:
    mfa_token: str
    code: str = strawberry.field(description="The authenticator's 6 digits, or a recovery code.")


@strawberry.input
class TotpEnrollInput:
    mfa_token: str | None = strawberry.field(default=None, description="During a login that requires it.")


@strawberry.type
class TotpEnrollPayload:
    secret: str | None
    otpauth_uri: str | None = strawberry.field(description="For a QR code.")
    user_errors: list[UserError]


@strawberry.input
class TotpConfirmInput:
    code: str
    mfa_token: str | None = None


@strawberry.type
class TotpConfirmPayload:
    recovery_codes: list[str] = strawberry.field(description="Shown once; each works once instead of a code.")
    login: LoginPayload | None = strawberry.field(description="With mfaToken: the completed login.")
    user_errors: list[UserError]


@strawberry.input
class TotpDisableInput:
    code: str


@strawberry.input
class OrganizationMfaPolicyInput:
    organization_id: strawberry.ID
    required: bool


@strawberry.input
class RoleCreateInput:
    code: str = strawberry.field(description="Lower-case, e.g. `purchasing_lead`.")
    name: str
    scopes: list[str]


@strawberry.input
class RoleUpdateInput:
    code: str
    name: str | None = None
    scopes: list[str] | None = None


@strawberry.type
class RolePayload:
    role: Role | None
    user_errors: list[UserError]


@strawberry.input
class MembershipUpdateInput:
    id: strawberry.ID
    roles: list[str]


@strawberry.type
class MembershipUpdatePayload:
    membership: Membership | None
    user_errors: list[UserError]


@strawberry.input
class UserDeactivateInput:
    user_id: strawberry.ID


@strawberry.type
class UserDeactivatePayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.input
class ApiKeyCreateInput:
    organization_id: strawberry.ID
    name: str
    scopes: list[str]
    expires_at: datetime | None = None


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKey | None
    key: str | None = strawberry.field(description="The secret key. Shown only in this response.")
    user_errors: list[UserError]


@strawberry.input
class ApiKeyRevokeInput:
    id: strawberry.ID


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKey | None
    user_errors: list[UserError]


@strawberry.input
class InvitationCreateInput:
    email: str
    organization_id: strawberry.ID
    roles: list[str]


@strawberry.type
class InvitationCreatePayload:
    invitation: Invitation | None
    token: str | None = strawberry.field(description="The acceptance token. Shown only in this response.")
    user_errors: list[UserError]


@strawberry.input
class InvitationAcceptInput:
    tenant: str = strawberry.field(description="The tenant's slug (or id).")
    token: str
    display_name: str
    password: str = strawberry.field(description="For a new user; ignored when the email is already a user.")


@strawberry.type
class InvitationAcceptPayload:
    user: User | None
    membership: Membership | None
    user_errors: list[UserError]


@strawberry.input
class OrganizationSettingsUpdateInput:
    organization_id: strawberry.ID
    currency: str | None = strawberry.UNSET
    payment_terms: str | None = strawberry.UNSET


@strawberry.type
class OrganizationSettingsUpdatePayload:
    organization: Organization | None
    user_errors: list[UserError]


@strawberry.type
class Mutation(WebhookMutation):
    # Identity (docs/identity.md): anonymous except emailVerificationRequest.
    password_reset_request: identity_gql.IdentityPayload = strawberry.mutation(
        resolver=identity_gql.password_reset_request,
        description="Mail a password reset link (the answer is the same for unknown e-mails).",
    )
    password_reset: identity_gql.IdentityPayload = strawberry.mutation(
        resolver=identity_gql.password_reset,
        description="Set a new password with the mailed token; ends every session of the user.",
    )
    email_verification_request: identity_gql.IdentityPayload = strawberry.mutation(
        resolver=identity_gql.email_verification_request, description="Mail a link that verifies your e-mail."
    )
    email_verify: identity_gql.IdentityPayload = strawberry.mutation(
        resolver=identity_gql.email_verify, description="Verify an e-mail with the mailed token."
    )

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def organization_create(
        self, info: Info, input: OrganizationCreateInput
    ) -> OrganizationCreatePayload:
        data = service.NewOrganization(
            name=input.name,
            kind=input.kind.value,
            parent_id=str(input.parent_id) if input.parent_id is not None else None,
            external_ref=input.external_ref,
        )
        try:
            async with info.context.session() as session:
                org = await service.create_organization(session, info.context.require_tenant(), data)
        except UserInputError as exc:
            return OrganizationCreatePayload(organization=None, user_errors=user_errors(exc))
        return OrganizationCreatePayload(organization=Organization.from_model(org), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def user_create(self, info: Info, input: UserCreateInput) -> UserCreatePayload:
        data = service.NewUser(email=input.email, display_name=input.display_name)
        try:
            async with info.context.session() as session:
                user = await service.create_user(session, info.context.require_tenant(), data)
        except UserInputError as exc:
            return UserCreatePayload(user=None, user_errors=user_errors(exc))
        return UserCreatePayload(user=User.from_model(user), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=WRITE)
    async def membership_create(self, info: Info, input: MembershipCreateInput) -> MembershipCreatePayload:
        data = service.NewMembership(
            user_id=str(input.user_id), organization_id=str(input.organization_id), roles=tuple(input.roles)
        )
        try:
            async with info.context.session() as session:
                membership = await service.create_membership(
                    session,
                    info.context.require_tenant(),
                    data,
                    Actor.of(info.context.principal),
                    await access.scope_of(session, info.context.principal),
                )
        except UserInputError as exc:
            return MembershipCreatePayload(membership=None, user_errors=user_errors(exc))
        return MembershipCreatePayload(membership=Membership.from_model(membership), user_errors=[])

    @strawberry.mutation(description="Email + password in a tenant -> a signed access token (JWT).")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        try:
            issued = await signin.login(
                info.context.db,
                info.context.settings.redis_url,
                email=input.email,
                password=input.password,
                tenant=input.tenant,
                organization_id=str(input.organization_id) if input.organization_id is not None else None,
                client_address=client_address(info.context),
                settings=identity_settings(info.context),
            )
        except UserInputError as exc:
            return login_refused(exc)
        except signin.MfaRequired as needed:
            return login_refused(
                mfa_required=not needed.enroll, mfa_enrollment_required=needed.enroll, mfa_token=needed.token
            )
        return login_payload(issued)

    @strawberry.mutation(description="The second step of a login with a second factor.")
    async def login_mfa(self, info: Info, input: LoginMfaInput) -> LoginPayload:
        ctx = info.context
        try:
            issued = await signin.login_mfa(
                ctx.db,
                ctx.settings.redis_url,
                mfa_token=input.mfa_token,
                code=input.code,
                settings=identity_settings(ctx),
            )
        except UserInputError as exc:
            return login_refused(exc)
        return login_payload(issued)

    @strawberry.mutation(
        description="Set up a TOTP authenticator (signed in, or during a login that requires it)."
    )
    async def totp_enroll(self, info: Info, input: TotpEnrollInput | None = None) -> TotpEnrollPayload:
        ctx, settings = info.context, identity_settings(info.context)
        try:
            if input is not None and input.mfa_token:
                enrolled = await signin.enroll_during_login(
                    ctx.db, ctx.settings.redis_url, input.mfa_token, settings
                )
            else:
                tenant_id, user_id = _signed_in_user(info)
                async with ctx.session() as session:
                    user = await session.get(models.User, user_id)
                    if user is None:
                        raise UserInputError([FieldError((), "no such user", "NOT_FOUND")])
                    enrolled = await mfa.enroll(session, tenant_id, user, settings)
        except UserInputError as exc:
            return TotpEnrollPayload(secret=None, otpauth_uri=None, user_errors=user_errors(exc))
        return TotpEnrollPayload(secret=enrolled.secret, otpauth_uri=enrolled.uri, user_errors=[])

    @strawberry.mutation(description="Activate the authenticator with a first code; returns recovery codes.")
    async def totp_confirm(self, info: Info, input: TotpConfirmInput) -> TotpConfirmPayload:
        ctx, settings = info.context, identity_settings(info.context)
        login = None
        try:
            if input.mfa_token:
                codes, issued = await signin.confirm_during_login(
                    ctx.db, ctx.settings.redis_url, input.mfa_token, input.code, settings
                )
                login = login_payload(issued)
            else:
                tenant_id, user_id = _signed_in_user(info)
                async with ctx.session() as session:
                    codes = await mfa.confirm(session, tenant_id, user_id, input.code, settings)
        except UserInputError as exc:
            return TotpConfirmPayload(recovery_codes=[], login=None, user_errors=user_errors(exc))
        return TotpConfirmPayload(recovery_codes=codes, login=login, user_errors=[])

    @strawberry.mutation(description="Remove your second factor (not when your organization requires one).")
    async def totp_disable(self, info: Info, input: TotpDisableInput) -> identity_gql.IdentityPayload:
        _, user_id = _signed_in_user(info)
        try:
            async with info.context.session() as session:
                await mfa.disable(session, user_id, input.code)
        except UserInputError as exc:
            return identity_gql.IdentityPayload(ok=False, user_errors=user_errors(exc))
        return identity_gql.OK

    @strawberry.federation.mutation(
        requires_scopes=ADMIN,
        description="Require a second factor of the organization's and its units' members.",
    )
    async def organization_mfa_policy_set(
        self, info: Info, input: OrganizationMfaPolicyInput
    ) -> identity_gql.IdentityPayload:
        tenant_id, actor = _admin(info)
        org_id = _uuid_or_none(input.organization_id)
        async with info.context.session() as session:
            scope = await access.scope_of(session, info.context.principal)
            org = await session.get(models.Organization, org_id) if org_id is not None else None
            if org is None or not scope.allows(org.id):
                error = FieldError(("organizationId",), "no such organization", "NOT_FOUND")
                return identity_gql.IdentityPayload(
                    ok=False, user_errors=user_errors(UserInputError([error]))
                )
            org.require_mfa = input.required
            data = {"require_mfa": input.required}
            await audit.record(session, tenant_id, actor, "mfa_policy_changed", "organization", org.id, data)
        return identity_gql.OK

    @strawberry.federation.mutation(requires_scopes=ADMIN)
    async def role_create(self, info: Info, input: RoleCreateInput) -> RolePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                row = await service.create_role(
                    session, tenant_id, actor, code=input.code, name=input.name, scopes=input.scopes
                )
        except UserInputError as exc:
            return RolePayload(role=None, user_errors=user_errors(exc))
        return RolePayload(role=Role.custom(row), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=ADMIN)
    async def role_update(self, info: Info, input: RoleUpdateInput) -> RolePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                row = await service.update_role(
                    session, tenant_id, actor, code=input.code, name=input.name, scopes=input.scopes
                )
        except UserInputError as exc:
            return RolePayload(role=None, user_errors=user_errors(exc))
        return RolePayload(role=Role.custom(row), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=ADMIN, description="Replace a membership's roles.")
    async def membership_update(self, info: Info, input: MembershipUpdateInput) -> MembershipUpdatePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                row = await service.update_membership_roles(
                    session, tenant_id, actor, scope, str(input.id), input.roles
                )
        except UserInputError as exc:
            return MembershipUpdatePayload(membership=None, user_errors=user_errors(exc))
        return MembershipUpdatePayload(membership=Membership.from_model(row), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=ADMIN, description="Deactivate a user: no new logins, and its tokens stop working."
    )
    async def user_deactivate(self, info: Info, input: UserDeactivateInput) -> UserDeactivatePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                row = await auth.deactivate_user(session, tenant_id, actor, scope, str(input.user_id))
        except UserInputError as exc:
            return UserDeactivatePayload(user=None, user_errors=user_errors(exc))
        # After the commit: tell the gateway at once (the event is the durable copy).
        await gateway_sync.publish_session_version(
            info.context.settings.redis_url, str(row.id), row.session_version
        )
        return UserDeactivatePayload(user=User.from_model(row), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=ADMIN, description="Allow a deactivated user to log in again (old tokens stay dead)."
    )
    async def user_reactivate(self, info: Info, input: UserDeactivateInput) -> UserDeactivatePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                row = await auth.reactivate_user(session, tenant_id, actor, scope, str(input.user_id))
        except UserInputError as exc:
            return UserDeactivatePayload(user=None, user_errors=user_errors(exc))
        return UserDeactivatePayload(user=User.from_model(row), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=ADMIN, description="A key for a partner ERP.")
    async def api_key_create(self, info: Info, input: ApiKeyCreateInput) -> ApiKeyCreatePayload:
        tenant_id, actor = _admin(info)
        principal = info.context.require_principal()
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, principal)
                created = await api_keys.create_api_key(
                    session,
                    tenant_id,
                    actor,
                    scope,
                    frozenset(principal.scopes),
                    organization_id=str(input.organization_id),
                    name=input.name,
                    scopes=input.scopes,
                    expires_at=input.expires_at,
                )
        except UserInputError as exc:
            return ApiKeyCreatePayload(api_key=None, key=None, user_errors=user_errors(exc))
        return ApiKeyCreatePayload(api_key=ApiKey.from_model(created.row), key=created.key, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=ADMIN, description="Revoke a key (effective within seconds)."
    )
    async def api_key_revoke(self, info: Info, input: ApiKeyRevokeInput) -> ApiKeyRevokePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                row = await api_keys.revoke_api_key(session, tenant_id, actor, scope, str(input.id))
        except UserInputError as exc:
            return ApiKeyRevokePayload(api_key=None, user_errors=user_errors(exc))
        await gateway_sync.evict_api_key(info.context.settings.redis_url, row.key_hash)
        return ApiKeyRevokePayload(api_key=ApiKey.from_model(row), user_errors=[])

    @strawberry.federation.mutation(requires_scopes=ADMIN, description="Invite an email address with roles.")
    async def invitation_create(self, info: Info, input: InvitationCreateInput) -> InvitationCreatePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                created = await invitations.invite(
                    session,
                    tenant_id,
                    actor,
                    scope,
                    email=input.email,
                    organization_id=str(input.organization_id),
                    roles=input.roles,
                )
        except UserInputError as exc:
            return InvitationCreatePayload(invitation=None, token=None, user_errors=user_errors(exc))
        return InvitationCreatePayload(
            invitation=Invitation.from_model(created.row), token=created.token, user_errors=[]
        )

    @strawberry.mutation(description="Accept an invitation: creates the user (if new) and the membership.")
    async def invitation_accept(self, info: Info, input: InvitationAcceptInput) -> InvitationAcceptPayload:
        bad = UserInputError([FieldError(("token",), "invalid or expired invitation", "INVALID_TOKEN")])
        try:
            tenant_id = await auth.resolve_tenant(info.context.db, input.tenant)
            if tenant_id is None:
                raise bad
            async with info.context.db.tenant_session(tenant_id) as session:
                accepted = await invitations.accept(
                    session,
                    tenant_id,
                    token=input.token,
                    display_name=input.display_name,
                    password=input.password,
                )
        except UserInputError as exc:
            return InvitationAcceptPayload(user=None, membership=None, user_errors=user_errors(exc))
        return InvitationAcceptPayload(
            user=User.from_model(accepted.user),
            membership=Membership.from_model(accepted.membership),
            user_errors=[],
        )

    @strawberry.federation.mutation(
        requires_scopes=WRITE, description="Set or clear (null: inherit) an organization's own settings."
    )
    async def organization_settings_update(
        self, info: Info, input: OrganizationSettingsUpdateInput
    ) -> OrganizationSettingsUpdatePayload:
        tenant_id = info.context.require_tenant()
        changes: dict[str, str | None] = {}
        if input.currency is not strawberry.UNSET:
            changes["currency"] = input.currency
        if input.payment_terms is not strawberry.UNSET:
            changes["payment_terms"] = input.payment_terms
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                org = await service.update_settings(
                    session,
                    tenant_id,
                    Actor.of(info.context.principal),
                    scope,
                    str(input.organization_id),
                    **changes,
                )
        except UserInputError as exc:
            return OrganizationSettingsUpdatePayload(organization=None, user_errors=user_errors(exc))
        return OrganizationSettingsUpdatePayload(organization=Organization.from_model(org), user_errors=[])


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Tenant, Organization, User, Membership],
    federation_version=FEDERATION_VERSION,
)
