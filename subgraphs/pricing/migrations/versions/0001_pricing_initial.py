# ruff: noqa: E501  (the DDL below is kept verbatim)
"""pricing: org unit projection, price lists, assignments, prices, quantity rules, quotes; RLS.

Revision ID: 0001_pricing_initial
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations_helpers import (
    create_outbox_table,
    create_processed_events_table,
    create_subgraph_schema,
    enable_tenant_rls,
    grant_app_access,
)

revision: str = "0001_pricing_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "pricing"
TENANT_TABLES = (
    "org_units",
    "price_lists",
    "price_list_assignments",
    "prices",
    "quantity_rules",
    "quotes",
    "quote_versions",
)

# Written out (not generated from models.py at run time) so this revision never changes.
DDL: tuple[str, ...] = (
    """CREATE TABLE pricing.org_units (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    parent_id UUID,
    kind VARCHAR(16),
    name VARCHAR(200),
    currency VARCHAR(3),
    CONSTRAINT pk_org_units PRIMARY KEY (tenant_id, id)
)""",
    "CREATE INDEX ix_pricing_org_units_parent_id ON pricing.org_units (parent_id)",
    """CREATE TABLE pricing.price_lists (
    id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    priority INTEGER NOT NULL,
    valid_from TIMESTAMP WITH TIME ZONE,
    valid_to TIMESTAMP WITH TIME ZONE,
    active BOOLEAN NOT NULL,
    seller_organization_id UUID,
    idempotency_key VARCHAR(200),
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_price_lists PRIMARY KEY (id),
    CONSTRAINT uq_price_lists_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_price_lists_tenant_id_idempotency_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT ck_price_lists_kind CHECK (kind IN ('BASE', 'STANDARD', 'CONTRACT')),
    CONSTRAINT ck_price_lists_window CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from)
)""",
    "CREATE INDEX ix_pricing_price_lists_tenant_id ON pricing.price_lists (tenant_id)",
    """CREATE TABLE pricing.quotes (
    id UUID NOT NULL,
    buyer_organization_id UUID NOT NULL,
    seller_organization_id UUID,
    requested_by UUID,
    currency VARCHAR(3) NOT NULL,
    status VARCHAR(16) NOT NULL,
    reject_reason TEXT,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE,
    row_version INTEGER NOT NULL,
    idempotency_key VARCHAR(200),
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_quotes PRIMARY KEY (id),
    CONSTRAINT uq_quotes_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_quotes_tenant_id_idempotency_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT ck_quotes_status CHECK (status IN ('REQUESTED', 'QUOTED', 'ACCEPTED', 'REJECTED', 'EXPIRED'))
)""",
    "CREATE INDEX ix_pricing_quotes_tenant_id ON pricing.quotes (tenant_id)",
    "CREATE INDEX ix_quotes_buyer ON pricing.quotes (tenant_id, buyer_organization_id)",
    "CREATE INDEX ix_quotes_page ON pricing.quotes (tenant_id, created_at, id)",
    "CREATE INDEX ix_quotes_seller ON pricing.quotes (tenant_id, seller_organization_id)",
    """CREATE TABLE pricing.price_list_assignments (
    price_list_id UUID NOT NULL,
    organization_id UUID NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_price_list_assignments PRIMARY KEY (price_list_id, organization_id),
    CONSTRAINT fk_price_list_assignments_tenant_id_price_lists FOREIGN KEY(tenant_id, price_list_id) REFERENCES pricing.price_lists (tenant_id, id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_price_list_assignments_org ON pricing.price_list_assignments (tenant_id, organization_id)",
    "CREATE INDEX ix_pricing_price_list_assignments_tenant_id ON pricing.price_list_assignments (tenant_id)",
    """CREATE TABLE pricing.prices (
    id UUID NOT NULL,
    price_list_id UUID NOT NULL,
    sku_id UUID NOT NULL,
    product_id UUID,
    min_quantity INTEGER NOT NULL,
    unit_amount NUMERIC(19, 4) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_prices PRIMARY KEY (id),
    CONSTRAINT uq_prices_price_list_id_sku_id_min_quantity UNIQUE (price_list_id, sku_id, min_quantity),
    CONSTRAINT fk_prices_tenant_id_price_lists FOREIGN KEY(tenant_id, price_list_id) REFERENCES pricing.price_lists (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_prices_min_quantity CHECK (min_quantity >= 1),
    CONSTRAINT ck_prices_unit_amount CHECK (unit_amount >= 0)
)""",
    "CREATE INDEX ix_prices_product ON pricing.prices (tenant_id, product_id)",
    "CREATE INDEX ix_prices_sku ON pricing.prices (tenant_id, sku_id)",
    "CREATE INDEX ix_pricing_prices_tenant_id ON pricing.prices (tenant_id)",
    """CREATE TABLE pricing.quantity_rules (
    id UUID NOT NULL,
    sku_id UUID NOT NULL,
    price_list_id UUID,
    minimum INTEGER NOT NULL,
    maximum INTEGER,
    increment INTEGER NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_quantity_rules PRIMARY KEY (id),
    CONSTRAINT fk_quantity_rules_tenant_id_price_lists FOREIGN KEY(tenant_id, price_list_id) REFERENCES pricing.price_lists (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_quantity_rules_satisfiable CHECK (increment >= 1 AND minimum >= 1 AND mod(minimum, increment) = 0 AND (maximum IS NULL OR (maximum >= minimum AND mod(maximum, increment) = 0)))
)""",
    "CREATE INDEX ix_pricing_quantity_rules_tenant_id ON pricing.quantity_rules (tenant_id)",
    "CREATE UNIQUE INDEX uq_quantity_rules_default ON pricing.quantity_rules (tenant_id, sku_id) WHERE price_list_id IS NULL",
    "CREATE UNIQUE INDEX uq_quantity_rules_list ON pricing.quantity_rules (tenant_id, sku_id, price_list_id) WHERE price_list_id IS NOT NULL",
    """CREATE TABLE pricing.quote_versions (
    quote_id UUID NOT NULL,
    number INTEGER NOT NULL,
    items JSONB NOT NULL,
    buyer_note TEXT,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
    lines JSONB,
    valid_until TIMESTAMP WITH TIME ZONE,
    terms TEXT,
    seller_note TEXT,
    responded_at TIMESTAMP WITH TIME ZONE,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_quote_versions PRIMARY KEY (quote_id, number),
    CONSTRAINT fk_quote_versions_tenant_id_quotes FOREIGN KEY(tenant_id, quote_id) REFERENCES pricing.quotes (tenant_id, id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_pricing_quote_versions_tenant_id ON pricing.quote_versions (tenant_id)",
)


def upgrade() -> None:
    create_subgraph_schema(S)
    for statement in DDL:
        op.execute(statement)
    for table in TENANT_TABLES:
        enable_tenant_rls(f"{S}.{table}")
    create_outbox_table(S)
    create_processed_events_table(S)
    grant_app_access(S)


def downgrade() -> None:
    for table in ("processed_events", "outbox", *reversed(TENANT_TABLES)):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table} CASCADE")
