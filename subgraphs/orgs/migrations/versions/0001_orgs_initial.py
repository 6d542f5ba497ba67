"""orgs: tenants, organizations, users, memberships, outbox; RLS on every tenant table.

Revision ID: 0001_orgs_initial
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations_helpers import (
    create_outbox_table,
    create_processed_events_table,
    create_subgraph_schema,
    enable_tenant_rls,
    grant_app_access,
)

revision: str = "0001_orgs_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orgs"


def _created_at() -> sa.Column[sa.DateTime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    create_subgraph_schema(S)
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _created_at(),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
        schema=S,
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("external_ref", sa.String(200), nullable=True),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "id", name="uq_organizations_tenant_id_id"),
        sa.UniqueConstraint("tenant_id", "external_ref", name="uq_organizations_tenant_id_external_ref"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{S}.tenants.id"], name="fk_organizations_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            [f"{S}.organizations.tenant_id", f"{S}.organizations.id"],
            name="fk_organizations_tenant_id_organizations",
        ),
        sa.CheckConstraint(
            "kind IN ('PLATFORM', 'SUPPLIER', 'BUYER', 'DISTRIBUTOR')", name="ck_organizations_kind"
        ),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="ck_organizations_not_own_parent"),
        schema=S,
    )
    op.create_index("ix_organizations_tenant_id", "organizations", ["tenant_id"], schema=S)
    op.create_index("ix_organizations_parent_id", "organizations", ["parent_id"], schema=S)
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        _created_at(),
        sa.UniqueConstraint("tenant_id", "id", name="uq_users_tenant_id_id"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_users_tenant_id_tenants"),
        schema=S,
    )
    op.create_index("ix_users_tenant_id", "users", ["tenant_id"], schema=S)
    op.create_table(
        "memberships",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        _created_at(),
        sa.UniqueConstraint("user_id", "organization_id", name="uq_memberships_user_id_organization_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            [f"{S}.users.tenant_id", f"{S}.users.id"],
            name="fk_memberships_tenant_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "organization_id"],
            [f"{S}.organizations.tenant_id", f"{S}.organizations.id"],
            name="fk_memberships_tenant_id_organizations",
            ondelete="CASCADE",
        ),
        schema=S,
    )
    op.create_index("ix_memberships_tenant_id", "memberships", ["tenant_id"], schema=S)
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"], schema=S)
    op.create_index("ix_memberships_organization_id", "memberships", ["organization_id"], schema=S)

    enable_tenant_rls("orgs.tenants", column="id")
    enable_tenant_rls("orgs.organizations")
    enable_tenant_rls("orgs.users")
    enable_tenant_rls("orgs.memberships")
    create_outbox_table(S)
    create_processed_events_table(S)
    grant_app_access(S)


def downgrade() -> None:
    for table in ("processed_events", "outbox", "memberships", "users", "organizations", "tenants"):
        op.drop_table(table, schema=S)
