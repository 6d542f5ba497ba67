# ruff: noqa: E501  (the DDL below is kept verbatim)
"""orgs: outbound webhooks: endpoints (a tenant setting), deliveries (the durable queue, the dead
letters) and attempts (the delivery log); RLS per tenant, plus the dispatcher's policy.

The gateway's dispatcher (gateway/webhooks/, docs/webhooks.md) reads and writes these tables across
tenants in transactions that set `app.webhook_dispatcher = on` (as the outbox relay does).

Revision ID: 0003_orgs_webhooks
Revises: 0002_orgs_auth
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations_helpers import enable_tenant_rls
from shared.settings import get_settings

revision: str = "0003_orgs_webhooks"
down_revision: str | None = "0002_orgs_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("webhook_endpoints", "webhook_deliveries", "webhook_attempts")

DDL: tuple[str, ...] = (
    """CREATE TABLE orgs.webhook_endpoints (
    id UUID NOT NULL PRIMARY KEY,
    tenant_id UUID NOT NULL,
    organization_id UUID NOT NULL,
    created_by UUID,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    event_types TEXT[] NOT NULL DEFAULT '{}',
    subscription TEXT NOT NULL,
    variables JSONB NOT NULL DEFAULT '{}',
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT true,
    principal_roles TEXT[] NOT NULL DEFAULT '{}',
    principal_scopes TEXT[] NOT NULL DEFAULT '{}',
    cursor TEXT,
    last_error TEXT,
    last_error_at TIMESTAMPTZ,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT uq_webhook_endpoints_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT fk_webhook_endpoints_tenant_id_organizations FOREIGN KEY (tenant_id, organization_id)
        REFERENCES orgs.organizations (tenant_id, id)
)""",
    "CREATE INDEX ix_webhook_endpoints_org ON orgs.webhook_endpoints (tenant_id, organization_id)",
    """CREATE TABLE orgs.webhook_deliveries (
    id UUID NOT NULL PRIMARY KEY,
    tenant_id UUID NOT NULL,
    endpoint_id UUID NOT NULL,
    event_key TEXT NOT NULL,
    event_type TEXT,
    payload JSONB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    window_started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_attempt_at TIMESTAMPTZ,
    last_status INTEGER,
    last_error TEXT,
    replays INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ,
    dead_at TIMESTAMPTZ,
    CONSTRAINT ck_webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'dead')),
    CONSTRAINT uq_webhook_deliveries_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_webhook_deliveries_event UNIQUE (endpoint_id, event_key),
    CONSTRAINT fk_webhook_deliveries_endpoint FOREIGN KEY (tenant_id, endpoint_id)
        REFERENCES orgs.webhook_endpoints (tenant_id, id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_webhook_deliveries_due ON orgs.webhook_deliveries (next_attempt_at) WHERE status = 'pending'",
    "CREATE INDEX ix_webhook_deliveries_log ON orgs.webhook_deliveries (tenant_id, endpoint_id, created_at, id)",
    """CREATE TABLE orgs.webhook_attempts (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id UUID NOT NULL,
    delivery_id UUID NOT NULL,
    endpoint_id UUID NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT fk_webhook_attempts_delivery FOREIGN KEY (tenant_id, delivery_id)
        REFERENCES orgs.webhook_deliveries (tenant_id, id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_webhook_attempts_delivery ON orgs.webhook_attempts (tenant_id, delivery_id, seq)",
)


def upgrade() -> None:
    role = get_settings().app_db_role
    for statement in DDL:
        op.execute(statement)
    for table in TABLES:
        enable_tenant_rls(f"orgs.{table}")
        # The dispatcher's transactions (app.webhook_dispatcher = on) work across tenants.
        op.execute(
            f"CREATE POLICY webhook_dispatcher ON orgs.{table} "
            "USING (current_setting('app.webhook_dispatcher', true) = 'on') "
            "WITH CHECK (current_setting('app.webhook_dispatcher', true) = 'on')"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON orgs.{table} TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE orgs.webhook_attempts_seq_seq TO {role}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE IF EXISTS orgs.{table}")
