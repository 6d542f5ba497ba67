# ruff: noqa: E501  (the DDL below is kept verbatim)
"""finance: credit notes for returns, consolidated invoices per buyer and period, sharing rules
per product line, scheduled reconciliation (job leases, run trigger); RLS on the new tenant tables.

Revision ID: 0002_finance_returns
Revises: 0001_finance_initial
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations_helpers import enable_tenant_rls, grant_app_access, sql_ident
from shared.settings import get_settings

revision: str = "0002_finance_returns"
down_revision: str | None = "0001_finance_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "finance"
NEW_TENANT_TABLES = ("product_line_rules", "consolidated_invoices", "credit_notes")

DDL: tuple[str, ...] = (
    """CREATE TABLE finance.product_line_rules (
    tenant_id UUID NOT NULL,
    product_line VARCHAR(64) NOT NULL,
    platform_fee NUMERIC(7, 4) NOT NULL,
    supplier NUMERIC(7, 4) NOT NULL,
    level1 NUMERIC(7, 4) NOT NULL,
    level2 NUMERIC(7, 4) NOT NULL,
    remainder_policy VARCHAR(24) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_product_line_rules PRIMARY KEY (tenant_id, product_line),
    CONSTRAINT ck_product_line_rules_sum CHECK (platform_fee + supplier + level1 + level2 = 100 AND LEAST(platform_fee, supplier, level1, level2) >= 0),
    CONSTRAINT ck_product_line_rules_policy CHECK (remainder_policy IN ('LARGEST_REMAINDER', 'ROUNDING_ACCOUNT'))
)""",
    "ALTER TABLE finance.buyer_profiles ADD COLUMN invoice_period VARCHAR(8)",
    "ALTER TABLE finance.buyer_profiles ADD CONSTRAINT ck_buyer_profiles_invoice_period CHECK (invoice_period IN ('ORDER', 'WEEK', 'MONTH'))",
    """CREATE TABLE finance.consolidated_invoices (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL,
    number VARCHAR(80) NOT NULL,
    buyer_organization_id UUID NOT NULL,
    currency VARCHAR(3) NOT NULL,
    terms VARCHAR(16) NOT NULL,
    period VARCHAR(8) NOT NULL,
    period_start TIMESTAMP WITH TIME ZONE NOT NULL,
    period_end TIMESTAMP WITH TIME ZONE NOT NULL,
    status VARCHAR(16) NOT NULL,
    total NUMERIC(19, 4) NOT NULL DEFAULT 0,
    issued_at TIMESTAMP WITH TIME ZONE,
    due_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_consolidated_invoices PRIMARY KEY (id),
    CONSTRAINT uq_consolidated_invoices_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_consolidated_invoices_period UNIQUE (tenant_id, buyer_organization_id, currency, period_start),
    CONSTRAINT uq_consolidated_invoices_number UNIQUE (tenant_id, number),
    CONSTRAINT ck_consolidated_invoices_status CHECK (status IN ('OPEN', 'ISSUED')),
    CONSTRAINT ck_consolidated_invoices_period CHECK (period IN ('WEEK', 'MONTH') AND period_end > period_start)
)""",
    "CREATE INDEX ix_consolidated_invoices_close ON finance.consolidated_invoices (tenant_id, status, period_end)",
    "ALTER TABLE finance.invoices ADD COLUMN credited NUMERIC(19, 4) NOT NULL DEFAULT 0",
    "ALTER TABLE finance.invoices ADD COLUMN consolidated_id UUID",
    "ALTER TABLE finance.invoices ADD CONSTRAINT ck_invoices_credited CHECK (credited >= 0 AND credited <= total)",
    "ALTER TABLE finance.invoices ADD CONSTRAINT fk_invoices_consolidated FOREIGN KEY (tenant_id, consolidated_id) REFERENCES finance.consolidated_invoices (tenant_id, id)",
    "CREATE INDEX ix_invoices_consolidated ON finance.invoices (tenant_id, consolidated_id)",
    """CREATE TABLE finance.credit_notes (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL,
    number VARCHAR(80) NOT NULL,
    order_id UUID NOT NULL,
    invoice_id UUID NOT NULL,
    return_id UUID NOT NULL,
    currency VARCHAR(3) NOT NULL,
    amount NUMERIC(19, 4) NOT NULL,
    cash_refund NUMERIC(19, 4) NOT NULL,
    clawback NUMERIC(19, 4) NOT NULL,
    lines JSONB NOT NULL,
    entry_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_credit_notes PRIMARY KEY (id),
    CONSTRAINT uq_credit_notes_return UNIQUE (tenant_id, return_id),
    CONSTRAINT uq_credit_notes_number UNIQUE (tenant_id, number),
    CONSTRAINT fk_credit_notes_invoice FOREIGN KEY (tenant_id, invoice_id) REFERENCES finance.invoices (tenant_id, id),
    CONSTRAINT ck_credit_notes_amounts CHECK (amount > 0 AND cash_refund >= 0 AND clawback >= 0 AND cash_refund <= amount AND clawback <= amount)
)""",
    "CREATE INDEX ix_credit_notes_order ON finance.credit_notes (tenant_id, order_id)",
    "ALTER TABLE finance.reconciliation_runs ADD COLUMN trigger VARCHAR(16) NOT NULL DEFAULT 'MANUAL'",
    "ALTER TABLE finance.reconciliation_runs ADD COLUMN statement_available BOOLEAN NOT NULL DEFAULT true",
    "ALTER TABLE finance.reconciliation_runs ADD CONSTRAINT ck_reconciliation_runs_trigger CHECK (trigger IN ('MANUAL', 'SCHEDULED'))",
    # The schedule reconciles a (tenant, day, provider) once, whatever the leases did.
    "CREATE UNIQUE INDEX uq_reconciliation_runs_scheduled ON finance.reconciliation_runs (tenant_id, day, provider) WHERE trigger = 'SCHEDULED'",
    # Not tenant data: which process holds a periodic job until when (no RLS, like known_tenants).
    """CREATE TABLE finance.job_leases (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(128) NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_tick_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_job_leases PRIMARY KEY (name)
)""",
)


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)
    for table in NEW_TENANT_TABLES:
        enable_tenant_rls(f"{S}.{table}")
    grant_app_access(S)
    role = sql_ident(get_settings().app_db_role)
    # grant_app_access re-grants DML on every table: take back what 0001 took back.
    op.execute(
        f"REVOKE UPDATE, DELETE, TRUNCATE ON finance.journal_entries, finance.journal_lines FROM {role}"
    )
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON finance.known_tenants FROM {role}")
    # Credit notes are documents: never changed, never deleted.
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON finance.credit_notes FROM {role}")
    op.execute(f"REVOKE DELETE, TRUNCATE ON finance.job_leases FROM {role}")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS finance.job_leases")
    op.execute("DROP INDEX IF EXISTS finance.uq_reconciliation_runs_scheduled")
    op.execute(
        "ALTER TABLE finance.reconciliation_runs DROP CONSTRAINT IF EXISTS ck_reconciliation_runs_trigger"
    )
    op.execute("ALTER TABLE finance.reconciliation_runs DROP COLUMN IF EXISTS statement_available")
    op.execute("ALTER TABLE finance.reconciliation_runs DROP COLUMN IF EXISTS trigger")
    op.execute("DROP TABLE IF EXISTS finance.credit_notes")
    op.execute("ALTER TABLE finance.invoices DROP CONSTRAINT IF EXISTS fk_invoices_consolidated")
    op.execute("ALTER TABLE finance.invoices DROP CONSTRAINT IF EXISTS ck_invoices_credited")
    op.execute("ALTER TABLE finance.invoices DROP COLUMN IF EXISTS consolidated_id")
    op.execute("ALTER TABLE finance.invoices DROP COLUMN IF EXISTS credited")
    op.execute("DROP TABLE IF EXISTS finance.consolidated_invoices")
    op.execute(
        "ALTER TABLE finance.buyer_profiles DROP CONSTRAINT IF EXISTS ck_buyer_profiles_invoice_period"
    )
    op.execute("ALTER TABLE finance.buyer_profiles DROP COLUMN IF EXISTS invoice_period")
    op.execute("DROP TABLE IF EXISTS finance.product_line_rules")
