# mypy: disable-error-code="untyped-decorator"
"""GraphQL types of the orgs auth features (roles, API keys, invitations, audit log, login)."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
import strawberry

from subgraphs.orgs import models
from subgraphs.orgs.roles import BuiltinRole

TENANT_ID_DOC = "The tenant this belongs to."


@strawberry.type(description="A named set of permission scopes: built-in, or custom to the tenant.")
class Role:
    code: str
    name: str
    scopes: list[str]
    built_in: bool

    @classmethod
    def builtin(cls, role: BuiltinRole) -> Role:
        return cls(code=role.code, name=role.name, scopes=sorted(role.scopes), built_in=True)

    @classmethod
    def custom(cls, row: models.Role) -> Role:
        return cls(code=row.code, name=row.name, scopes=sorted(row.scopes), built_in=False)


@strawberry.type(description="A partner system's key; the secret is never shown again.")
class ApiKey:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    organization_id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to recognize it in lists.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="Updated at most once a minute.")

    @classmethod
    def from_model(cls, row: models.ApiKey) -> ApiKey:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            organization_id=strawberry.ID(str(row.organization_id)),
            name=row.name,
            prefix=row.prefix,
            scopes=sorted(row.scopes),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type
class Invitation:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    organization_id: strawberry.ID
    email: str
    roles: list[str]
    expires_at: datetime
    accepted_at: datetime | None

    @classmethod
    def from_model(cls, row: models.Invitation) -> Invitation:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            organization_id=strawberry.ID(str(row.organization_id)),
            email=row.email,
            roles=list(row.roles),
            expires_at=row.expires_at,
            accepted_at=row.accepted_at,
        )


@strawberry.type(description="One change of roles, memberships, keys or users.")
class AuditEntry:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    action: str
    subject_type: str
    subject_id: strawberry.ID
    actor_user_id: strawberry.ID | None
    actor_organization_id: strawberry.ID | None
    data: str = strawberry.field(description="Details, as a JSON object.")
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.AuditEntry) -> AuditEntry:
        def opt(value: uuid.UUID | None) -> strawberry.ID | None:
            return strawberry.ID(str(value)) if value else None

        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            action=row.action,
            subject_type=row.subject_type,
            subject_id=strawberry.ID(str(row.subject_id)),
            actor_user_id=opt(row.actor_user_id),
            actor_organization_id=opt(row.actor_organization_id),
            data=orjson.dumps(row.data, option=orjson.OPT_SORT_KEYS).decode(),
            created_at=row.created_at,
        )


@strawberry.type(description="Settings after inheritance through the business-unit hierarchy.")
class BusinessUnitSettings:
    currency: str | None
    currency_from: strawberry.ID | None = strawberry.field(
        description="The organization the value comes from."
    )
    payment_terms: str | None
    payment_terms_from: strawberry.ID | None
