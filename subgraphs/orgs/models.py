"""Tables of the orgs subgraph, all in the `orgs` schema, all tenant-scoped under RLS."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
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


class WebhookEndpoint(TenantMixin, Base):
    """An organization's outbound webhook (a tenant setting): where, which events, which GraphQL
    selection, the signing secret, and the rights it acts with (the creator's, snapshotted).
    `cursor`/`lease_*`/`last_error` belong to the gateway's dispatcher (docs/webhooks.md)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(
            ["tenant_id", "organization_id"],
            ["orgs.organizations.tenant_id", "orgs.organizations.id"],
            name="fk_webhook_endpoints_tenant_id_organizations",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID]
    created_by: Mapped[uuid.UUID | None]
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    subscription: Mapped[str] = mapped_column(Text)
    variables: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    principal_roles: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    principal_scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(TenantMixin, Base):
    """One event for one endpoint: the durable queue entry (pending), then delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("endpoint_id", "event_key", name="uq_webhook_deliveries_event"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    endpoint_id: Mapped[uuid.UUID]
    event_key: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(TenantMixin, Base):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID]
    endpoint_id: Mapped[uuid.UUID]
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


RLS_TABLES.update(
    {"webhook_endpoints": "tenant_id", "webhook_deliveries": "tenant_id", "webhook_attempts": "tenant_id"}
)
