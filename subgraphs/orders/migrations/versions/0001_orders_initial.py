# ruff: noqa: E501  (the DDL below is kept verbatim)
"""orders: org unit projection, settings, carts, purchases, orders and lines, transitions (append-only),
approval rules and decisions, quantity limits, returns; RLS, outbox, processed events, idempotency keys.

Revision ID: 0001_orders_initial
Revises:
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from shared.migrations_helpers import (
    create_idempotency_table,
    create_outbox_table,
    create_processed_events_table,
    create_subgraph_schema,
    enable_tenant_rls,
    grant_app_access,
)
from shared.settings import get_settings

revision: str = "0001_orders_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "orders"
TENANT_TABLES = (
    "org_units",
    "settings",
    "carts",
    "cart_lines",
    "purchases",
    "orders",
    "order_lines",
    "order_transitions",
    "approval_rules",
    "order_approvals",
    "quantity_limits",
    "returns",
    "return_lines",
)

# Written out (not generated from models.py at run time) so this revision never changes.
DDL: tuple[str, ...] = (
    """CREATE TABLE orders.approval_rules (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    min_total NUMERIC(19, 4),
    currency VARCHAR(3),
    category_id UUID,
    seller_organization_id UUID,
    tiers JSONB NOT NULL,
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_approval_rules PRIMARY KEY (id),
    CONSTRAINT uq_approval_rules_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT ck_approval_rules_condition CHECK (min_total IS NOT NULL OR category_id IS NOT NULL OR seller_organization_id IS NOT NULL)
)""",
    """CREATE INDEX ix_approval_rules_org ON orders.approval_rules (tenant_id, organization_id)""",
    """CREATE INDEX ix_orders_approval_rules_tenant_id ON orders.approval_rules (tenant_id)""",
    """CREATE TABLE orders.carts (
    id UUID NOT NULL,
    buyer_organization_id UUID NOT NULL,
    created_by UUID,
    status VARCHAR(16) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_carts PRIMARY KEY (id),
    CONSTRAINT uq_carts_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT ck_carts_status CHECK (status IN ('open', 'ordered'))
)""",
    """CREATE INDEX ix_orders_carts_tenant_id ON orders.carts (tenant_id)""",
    """CREATE UNIQUE INDEX uq_carts_open ON orders.carts (tenant_id, buyer_organization_id) WHERE status = 'open'""",
    """CREATE TABLE orders.org_units (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    parent_id UUID,
    kind VARCHAR(16),
    name VARCHAR(200),
    CONSTRAINT pk_org_units PRIMARY KEY (tenant_id, id)
)""",
    """CREATE INDEX ix_orders_org_units_parent_id ON orders.org_units (parent_id)""",
    """CREATE TABLE orders.purchases (
    id UUID NOT NULL,
    buyer_organization_id UUID NOT NULL,
    placed_by UUID,
    currency VARCHAR(3) NOT NULL,
    total NUMERIC(19, 4) NOT NULL,
    cart_id UUID,
    quote_id UUID,
    po_number VARCHAR(100),
    note TEXT,
    delivery JSONB,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_purchases PRIMARY KEY (id),
    CONSTRAINT uq_purchases_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_purchases_tenant_id_quote_id UNIQUE (tenant_id, quote_id)
)""",
    """CREATE INDEX ix_orders_purchases_buyer_organization_id ON orders.purchases (buyer_organization_id)""",
    """CREATE INDEX ix_orders_purchases_tenant_id ON orders.purchases (tenant_id)""",
    """CREATE INDEX ix_purchases_page ON orders.purchases (tenant_id, created_at, id)""",
    """CREATE TABLE orders.quantity_limits (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    sku_id UUID NOT NULL,
    period VARCHAR(8) NOT NULL,
    max_units INTEGER NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_quantity_limits PRIMARY KEY (id),
    CONSTRAINT uq_quantity_limits_tenant_id_organization_id_sku_id_period UNIQUE (tenant_id, organization_id, sku_id, period),
    CONSTRAINT ck_quantity_limits_period CHECK (period IN ('month', 'week')),
    CONSTRAINT ck_quantity_limits_max_units CHECK (max_units >= 0)
)""",
    """CREATE INDEX ix_orders_quantity_limits_tenant_id ON orders.quantity_limits (tenant_id)""",
    """CREATE TABLE orders.settings (
    tenant_id UUID NOT NULL,
    approve_payment_on_placement BOOLEAN NOT NULL,
    reserve_for_seconds INTEGER,
    CONSTRAINT pk_settings PRIMARY KEY (tenant_id)
)""",
    """CREATE TABLE orders.cart_lines (
    cart_id UUID NOT NULL,
    sku_id UUID NOT NULL,
    quantity INTEGER NOT NULL,
    added_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_cart_lines PRIMARY KEY (cart_id, sku_id),
    CONSTRAINT fk_cart_lines_tenant_id_carts FOREIGN KEY(tenant_id, cart_id) REFERENCES orders.carts (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_cart_lines_quantity CHECK (quantity > 0)
)""",
    """CREATE INDEX ix_orders_cart_lines_tenant_id ON orders.cart_lines (tenant_id)""",
    """CREATE TABLE orders.orders (
    id UUID NOT NULL,
    purchase_id UUID NOT NULL,
    number VARCHAR(32) NOT NULL,
    buyer_organization_id UUID NOT NULL,
    seller_organization_id UUID NOT NULL,
    placed_by UUID,
    state VARCHAR(24) NOT NULL,
    state_reason VARCHAR(200),
    currency VARCHAR(3) NOT NULL,
    total NUMERIC(19, 4) NOT NULL,
    source VARCHAR(8) NOT NULL,
    quote_id UUID,
    po_number VARCHAR(100),
    note TEXT,
    delivery JSONB,
    approval_tiers JSONB NOT NULL,
    approval_tier INTEGER NOT NULL,
    reservation_id UUID,
    reservation_expires_at TIMESTAMP WITH TIME ZONE,
    payment_approved_at TIMESTAMP WITH TIME ZONE,
    payment_approved_by UUID,
    payment_method VARCHAR(32),
    failure JSONB,
    placed_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_orders PRIMARY KEY (id),
    CONSTRAINT uq_orders_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_orders_tenant_id_number UNIQUE (tenant_id, number),
    CONSTRAINT fk_orders_tenant_id_purchases FOREIGN KEY(tenant_id, purchase_id) REFERENCES orders.purchases (tenant_id, id),
    CONSTRAINT ck_orders_state CHECK (state IN ('draft', 'pending_approval', 'placed', 'reserved', 'confirmed', 'partially_shipped', 'shipped', 'delivered', 'completed', 'cancelled', 'rejected', 'expired', 'reservation_failed')),
    CONSTRAINT ck_orders_source CHECK (source IN ('cart', 'quote'))
)""",
    """CREATE INDEX ix_orders_buyer ON orders.orders (tenant_id, buyer_organization_id)""",
    """CREATE INDEX ix_orders_orders_tenant_id ON orders.orders (tenant_id)""",
    """CREATE INDEX ix_orders_page ON orders.orders (tenant_id, created_at, id)""",
    """CREATE INDEX ix_orders_seller ON orders.orders (tenant_id, seller_organization_id)""",
    """CREATE INDEX ix_orders_state ON orders.orders (tenant_id, state)""",
    """CREATE TABLE orders.order_approvals (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    tier INTEGER NOT NULL,
    role VARCHAR(64) NOT NULL,
    decision VARCHAR(16) NOT NULL,
    decided_by UUID,
    comment TEXT,
    decided_at TIMESTAMP WITH TIME ZONE NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_order_approvals PRIMARY KEY (id),
    CONSTRAINT fk_order_approvals_tenant_id_orders FOREIGN KEY(tenant_id, order_id) REFERENCES orders.orders (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT uq_order_approvals_order_id_tier UNIQUE (order_id, tier),
    CONSTRAINT ck_order_approvals_decision CHECK (decision IN ('approved', 'rejected'))
)""",
    """CREATE INDEX ix_orders_order_approvals_tenant_id ON orders.order_approvals (tenant_id)""",
    """CREATE TABLE orders.order_lines (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    position INTEGER NOT NULL,
    sku_id UUID NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price NUMERIC(19, 4) NOT NULL,
    line_total NUMERIC(19, 4) NOT NULL,
    sku_code VARCHAR(64),
    product_name VARCHAR(200),
    category_id UUID,
    price_source VARCHAR(16),
    price_list_id UUID,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_order_lines PRIMARY KEY (id),
    CONSTRAINT uq_order_lines_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT fk_order_lines_tenant_id_orders FOREIGN KEY(tenant_id, order_id) REFERENCES orders.orders (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT ck_order_lines_quantity CHECK (quantity > 0)
)""",
    """CREATE INDEX ix_order_lines_order ON orders.order_lines (tenant_id, order_id)""",
    """CREATE INDEX ix_order_lines_sku ON orders.order_lines (tenant_id, sku_id)""",
    """CREATE INDEX ix_orders_order_lines_tenant_id ON orders.order_lines (tenant_id)""",
    """CREATE TABLE orders.order_transitions (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    from_state VARCHAR(24),
    to_state VARCHAR(24) NOT NULL,
    reason VARCHAR(200),
    actor VARCHAR(64) NOT NULL,
    actor_organization_id UUID,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_order_transitions PRIMARY KEY (id),
    CONSTRAINT fk_order_transitions_tenant_id_orders FOREIGN KEY(tenant_id, order_id) REFERENCES orders.orders (tenant_id, id) ON DELETE CASCADE
)""",
    """CREATE INDEX ix_order_transitions_order ON orders.order_transitions (tenant_id, order_id, at)""",
    """CREATE INDEX ix_orders_order_transitions_tenant_id ON orders.order_transitions (tenant_id)""",
    """CREATE TABLE orders.returns (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    state VARCHAR(24) NOT NULL,
    requested_by UUID,
    note TEXT,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_returns PRIMARY KEY (id),
    CONSTRAINT uq_returns_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT fk_returns_tenant_id_orders FOREIGN KEY(tenant_id, order_id) REFERENCES orders.orders (tenant_id, id),
    CONSTRAINT ck_returns_state CHECK (state IN ('requested', 'approved', 'rejected', 'received', 'refund_requested'))
)""",
    """CREATE INDEX ix_orders_returns_tenant_id ON orders.returns (tenant_id)""",
    """CREATE INDEX ix_returns_order ON orders.returns (tenant_id, order_id)""",
    """CREATE TABLE orders.return_lines (
    return_id UUID NOT NULL,
    order_line_id UUID NOT NULL,
    quantity INTEGER NOT NULL,
    reason VARCHAR(200) NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_return_lines PRIMARY KEY (return_id, order_line_id),
    CONSTRAINT fk_return_lines_tenant_id_returns FOREIGN KEY(tenant_id, return_id) REFERENCES orders.returns (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_return_lines_tenant_id_order_lines FOREIGN KEY(tenant_id, order_line_id) REFERENCES orders.order_lines (tenant_id, id),
    CONSTRAINT ck_return_lines_quantity CHECK (quantity > 0)
)""",
    """CREATE INDEX ix_orders_return_lines_tenant_id ON orders.return_lines (tenant_id)""",
    # Order numbers: a sequence never blocks concurrent placements (gaps are fine).
    "CREATE SEQUENCE orders.order_number_seq START 1000",
)


def upgrade() -> None:
    create_subgraph_schema(S)
    for statement in DDL:
        op.execute(statement)
    for table in TENANT_TABLES:
        enable_tenant_rls(f"{S}.{table}")
    create_outbox_table(S)
    create_processed_events_table(S)
    create_idempotency_table(S)
    grant_app_access(S)
    # The transition history is append-only for the application.
    role = get_settings().app_db_role
    op.execute(f"REVOKE UPDATE, DELETE ON {S}.order_transitions FROM {role}")


def downgrade() -> None:
    op.execute(f"DROP SEQUENCE IF EXISTS {S}.order_number_seq")
    for table in ("idempotency_keys", "processed_events", "outbox", *reversed(TENANT_TABLES)):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table} CASCADE")
