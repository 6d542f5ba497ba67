"""orgs auth: passwords and session versions, business-unit settings, custom roles, signing keys,
API keys, invitations, audit log; directories for the two lookups that happen before a tenant is
known (tenant slug at login, API key hash from the gateway).

Revision ID: 0002_orgs_auth
Revises: 0001_orgs_initial
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.migrations_helpers import enable_tenant_rls, grant_app_access

revision: str = "0002_orgs_auth"
down_revision: str | None = "0001_orgs_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orgs"


def _ts(name: str, nullable: bool = True) -> sa.Column[sa.DateTime]:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _tenant_fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{S}.{target}.tenant_id", f"{S}.{target}.id"],
        name=f"fk_{table}_tenant_id_{target}",
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.Text(), nullable=True), schema=S)
    op.add_column("users", sa.Column("active", sa.Boolean(), server_default="true", nullable=False), schema=S)
    op.add_column(
        "users", sa.Column("session_version", sa.Integer(), server_default="1", nullable=False), schema=S
    )
    op.add_column("users", _ts("deactivated_at"), schema=S)
    op.add_column("organizations", sa.Column("currency", sa.String(3), nullable=True), schema=S)
    op.add_column("organizations", sa.Column("payment_terms", sa.String(32), nullable=True), schema=S)

    op.create_table(
        "roles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        _ts("created_at", nullable=False),
        _ts("updated_at"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_roles_tenant_id_code"),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_roles_tenant_id_tenants"),
        schema=S,
    )
    op.create_index("ix_roles_tenant_id", "roles", ["tenant_id"], schema=S)

    # Global (not per tenant): one key set for the whole deployment, served as the JWKS.
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),  # AES-GCM sealed, see keys.py
        _ts("created_at", nullable=False),
        _ts("retired_at"),
        _ts("publish_until"),
        schema=S,
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("expires_at"),
        _ts("revoked_at"),
        _ts("last_used_at"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        _tenant_fk("api_keys", "organization_id", "organizations", "CASCADE"),
        schema=S,
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"], schema=S)
    op.create_index("ix_api_keys_organization_id", "api_keys", ["organization_id"], schema=S)

    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("accepted_at"),
        sa.Column("accepted_user_id", sa.Uuid(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        _tenant_fk("invitations", "organization_id", "organizations", "CASCADE"),
        schema=S,
    )
    op.create_index("ix_invitations_tenant_id", "invitations", ["tenant_id"], schema=S)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_organization_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False, server_default="{}"),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_audit_log_tenant_id_tenants"),
        schema=S,
    )
    op.create_index("ix_audit_log_tenant_id_created_at", "audit_log", ["tenant_id", "created_at"], schema=S)

    # Lookups before a tenant is known. Not under RLS on purpose: they reveal only a tenant id
    # for a public slug, or for the SHA-256 of a high-entropy key the caller already holds.
    op.create_table(
        "tenant_directory",
        sa.Column("slug", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        schema=S,
    )
    op.create_table(
        "api_key_directory",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        schema=S,
    )
    op.execute(f"""
        CREATE FUNCTION {S}.sync_tenant_directory() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM {S}.tenant_directory WHERE tenant_id = NEW.id;
          INSERT INTO {S}.tenant_directory (slug, tenant_id) VALUES (NEW.slug, NEW.id);
          RETURN NEW;
        END $$""")
    op.execute(
        f"CREATE TRIGGER tenants_directory AFTER INSERT OR UPDATE OF slug ON {S}.tenants "
        f"FOR EACH ROW EXECUTE FUNCTION {S}.sync_tenant_directory()"
    )
    # Backfill: tenants existing before this revision (visible to a superuser owner; the trigger
    # keeps the directory current from now on).
    op.execute(f"INSERT INTO {S}.tenant_directory (slug, tenant_id) SELECT slug, id FROM {S}.tenants")

    for table in ("roles", "api_keys", "invitations", "audit_log"):
        enable_tenant_rls(f"{S}.{table}")
    grant_app_access(S)


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS tenants_directory ON {S}.tenants")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.sync_tenant_directory()")
    for table in (
        "api_key_directory",
        "tenant_directory",
        "audit_log",
        "invitations",
        "api_keys",
        "signing_keys",
        "roles",
    ):
        op.drop_table(table, schema=S)
    for column in ("currency", "payment_terms"):
        op.drop_column("organizations", column, schema=S)
    for column in ("password_hash", "active", "session_version", "deactivated_at"):
        op.drop_column("users", column, schema=S)
