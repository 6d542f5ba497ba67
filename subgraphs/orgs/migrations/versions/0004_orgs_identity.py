"""orgs identity: e-mail verification, one-time tokens (reset, verification), TOTP second factor with
recovery codes, the MFA policy of an organization.

Revision ID: 0004_orgs_identity
Revises: 0003_orgs_webhooks
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations_helpers import enable_tenant_rls, grant_app_access

revision: str = "0004_orgs_identity"
down_revision: str | None = "0003_orgs_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orgs"


def _ts(name: str, nullable: bool = True) -> sa.Column[sa.DateTime]:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "user_id"],
        [f"{S}.users.tenant_id", f"{S}.users.id"],
        name=f"fk_{table}_tenant_id_users",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("users", _ts("email_verified_at"), schema=S)
    op.add_column(
        "organizations",
        sa.Column("require_mfa", sa.Boolean(), server_default="false", nullable=False),
        schema=S,
    )
    op.create_table(
        "identity_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        sa.UniqueConstraint("token_hash", name="uq_identity_tokens_token_hash"),
        sa.CheckConstraint("purpose IN ('reset', 'verify')", name="ck_identity_tokens_purpose"),
        _user_fk("identity_tokens"),
        schema=S,
    )
    op.create_index("ix_identity_tokens_tenant_id", "identity_tokens", ["tenant_id"], schema=S)
    op.create_index("ix_identity_tokens_user_id", "identity_tokens", ["user_id"], schema=S)
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),  # AES-GCM sealed (mfa.py)
        _ts("created_at", nullable=False),
        _ts("confirmed_at"),
        sa.Column("last_step", sa.BigInteger(), nullable=True),  # a code is accepted once
        _user_fk("user_totp"),
        schema=S,
    )
    op.create_index("ix_user_totp_tenant_id", "user_totp", ["tenant_id"], schema=S)
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        _ts("created_at", nullable=False),
        _ts("used_at"),
        _user_fk("recovery_codes"),
        schema=S,
    )
    op.create_index("ix_recovery_codes_tenant_id", "recovery_codes", ["tenant_id"], schema=S)
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"], schema=S)
    for table in ("identity_tokens", "user_totp", "recovery_codes"):
        enable_tenant_rls(f"{S}.{table}")
    grant_app_access(S)


def downgrade() -> None:
    for table in ("recovery_codes", "user_totp", "identity_tokens"):
        op.drop_table(table, schema=S)
    op.drop_column("organizations", "require_mfa", schema=S)
    op.drop_column("users", "email_verified_at", schema=S)
