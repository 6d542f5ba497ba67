"""Tables of the orgs subgraph, all in the `orgs` schema, all tenant-scoped under RLS."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import TenantMixin, TimestampMixin, schema_metadata, utcnow

SCHEMA = "orgs"


class Base(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class OrganizationKind(enum.StrEnum):
    PLATFORM = "PLATFORM"
    SUPPLIER = "SUPPLIER"
    BUYER = "BUYER"
    DISTRIBUTOR = "DISTRIBUTOR"


class Tenant(TimestampMixin, Base):
    """One isolated marketplace. Its RLS policy compares `id` with the session's tenant."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Organization(TenantMixin, TimestampMixin, Base):
    """A platform, supplier, buyer or distributor; `parent_id` builds the business-unit tree."""

    __tablename__ = "organizations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),  # target of same-tenant composite foreign keys
        UniqueConstraint("tenant_id", "external_ref"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        # The parent must be in the same tenant: enforced by the composite key, not only by RLS.
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["organizations.tenant_id", "organizations.id"]),
        CheckConstraint("kind IN ('PLATFORM', 'SUPPLIER', 'BUYER', 'DISTRIBUTOR')", name="kind"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    # Business-unit settings; NULL means "inherit from the parent" (see service.effective_settings).
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_terms: Mapped[str | None] = mapped_column(String(32))
    # Policy: members of this organization (and its units) must sign in with a second factor.
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class User(TenantMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2id; NULL: cannot log in
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Carried in tokens as `sv`; bumped on deactivation so older tokens can be refused cheaply.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Membership(TenantMixin, TimestampMixin, Base):
    """A user's place in an organization, with the roles held there."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_id"),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"],
            ["organizations.tenant_id", "organizations.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)


# Tenant tables and the column their RLS policy checks (the migration enables each one).
RLS_TABLES: dict[str, str] = {
    "tenants": "id",
    "organizations": "tenant_id",
    "users": "tenant_id",
    "memberships": "tenant_id",
}


class Role(TenantMixin, TimestampMixin, Base):
    """A custom role of a tenant: a named set of scopes (built-in roles live in `roles.py`)."""

    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SigningKey(Base):
    """A JWT signing key (global, not per tenant). `private_key` is sealed with AES-GCM (keys.py);
    a retired key stays in the JWKS until `publish_until` so tokens it signed keep verifying."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    publish_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(TenantMixin, TimestampMixin, Base):
    """A partner ERP's key for an organization; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("key_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"],
            ["organizations.tenant_id", "organizations.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Invitation(TenantMixin, TimestampMixin, Base):
    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"],
            ["organizations.tenant_id", "organizations.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column()
    email: Mapped[str] = mapped_column(String(320))
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by: Mapped[uuid.UUID | None] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_user_id: Mapped[uuid.UUID | None] = mapped_column()


class AuditEntry(TenantMixin, TimestampMixin, Base):
    """Who changed which role, membership, key or user; written in the transaction of the change."""

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column()
    actor_organization_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class TenantDirectory(Base):
    """slug -> tenant, readable without a tenant (login). Maintained by a trigger on `tenants`."""

    __tablename__ = "tenant_directory"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column()


class ApiKeyDirectory(Base):
    """key hash -> tenant, readable without a tenant (the gateway's lookup)."""

    __tablename__ = "api_key_directory"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column()
    api_key_id: Mapped[uuid.UUID] = mapped_column()


RLS_TABLES.update(
    {"roles": "tenant_id", "api_keys": "tenant_id", "invitations": "tenant_id", "audit_log": "tenant_id"}
)
