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
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.federation import Schema

from shared.errors import UserInputError
from shared.graphql import FEDERATION_VERSION, Connection, Info, PageArgs, UserError, user_errors
from subgraphs.orgs import loaders, models, service

WRITE = [["orgs:write"]]
# Every tenant-scoped entity exposes its tenant: the gateway's tenant guard compares it with the
# caller's tenant on the way out. `@shareable` so other subgraphs may declare it on the same entity.
TENANT_ID_DOC = "The tenant this belongs to."


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

    @strawberry.field(description="Business units directly under this organization.")
    async def children(self, info: Info) -> list[Organization]:
        rows = await info.context.loaders.get(loaders.children_loader).load(uuid.UUID(self.id))
        return [Organization.from_model(r) for r in rows]

    @strawberry.field
    async def memberships(self, info: Info) -> list[Membership]:
        rows = await info.context.loaders.get(loaders.memberships_of_organization_loader).load(
            uuid.UUID(self.id)
        )
        return [Membership.from_model(r) for r in rows]


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    email: str
    display_name: str
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.User) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            email=row.email,
            display_name=row.display_name,
            created_at=row.created_at,
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
class Query:
    @strawberry.field(description="An organization of the caller's tenant, or null.")
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        return await Organization.resolve_reference(info, id)

    @strawberry.field(description="Organizations of the caller's tenant, by name.")
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


@strawberry.type
class Mutation:
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
                membership = await service.create_membership(session, info.context.require_tenant(), data)
        except UserInputError as exc:
            return MembershipCreatePayload(membership=None, user_errors=user_errors(exc))
        return MembershipCreatePayload(membership=Membership.from_model(membership), user_errors=[])


schema = Schema(
    query=Query,
    mutation=Mutation,
    types=[Tenant, Organization, User, Membership],
    federation_version=FEDERATION_VERSION,
)
