"""Tables of the orgs subgraph, all in the `orgs` schema, all tenant-scoped under RLS."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import ARRAY, CheckConstraint, ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import TenantMixin, TimestampMixin, schema_metadata

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
