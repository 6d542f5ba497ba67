# ruff: noqa: E501  (the DDL below is kept verbatim)
"""stock: locations, levels, append-only movements, reservations, settings; RLS.

Revision ID: 0001_stock_initial
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

revision: str = "0001_stock_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "stock"
TENANT_TABLES = ("locations", "levels", "movements", "reservations", "reservation_lines", "settings")

# Written out (not generated from models.py at run time) so this revision never changes.
DDL: tuple[str, ...] = (
    """CREATE TABLE stock.locations (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    code VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    priority INTEGER NOT NULL,
    country VARCHAR(2),
    region VARCHAR(64),
    postal_code VARCHAR(16),
    city VARCHAR(100),
    latitude FLOAT,
    longitude FLOAT,
    active BOOLEAN NOT NULL,
    source_location_id UUID,
    display_share_percent INTEGER,
    display_cap INTEGER,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_locations PRIMARY KEY (id),
    CONSTRAINT uq_locations_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_locations_tenant_id_code UNIQUE (tenant_id, code),
    CONSTRAINT ck_locations_kind CHECK (kind IN ('warehouse', 'platform', 'shop')),
    CONSTRAINT ck_locations_latitude CHECK (latitude IS NULL OR (latitude BETWEEN -90 AND 90)),
    CONSTRAINT ck_locations_longitude CHECK (longitude IS NULL OR (longitude BETWEEN -180 AND 180)),
    CONSTRAINT ck_locations_shop_source CHECK ((kind = 'shop') = (source_location_id IS NOT NULL)),
    CONSTRAINT ck_locations_display_share CHECK (display_share_percent IS NULL OR (display_share_percent BETWEEN 0 AND 100)),
    CONSTRAINT ck_locations_display_cap CHECK (display_cap IS NULL OR display_cap >= 0),
    CONSTRAINT fk_locations_source FOREIGN KEY(tenant_id, source_location_id) REFERENCES stock.locations (tenant_id, id)
)""",
    "CREATE INDEX ix_locations_org ON stock.locations (tenant_id, organization_id)",
    "CREATE INDEX ix_stock_locations_tenant_id ON stock.locations (tenant_id)",
    """CREATE TABLE stock.reservations (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    seller_organization_id UUID,
    status VARCHAR(16) NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    failure_reason VARCHAR(32),
    release_reason VARCHAR(32),
    committed_at TIMESTAMP WITH TIME ZONE,
    released_at TIMESTAMP WITH TIME ZONE,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_reservations PRIMARY KEY (id),
    CONSTRAINT uq_reservations_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_reservations_tenant_id_order_id UNIQUE (tenant_id, order_id),
    CONSTRAINT ck_reservations_status CHECK (status IN ('active', 'committed', 'released', 'failed'))
)""",
    "CREATE INDEX ix_reservations_expiry ON stock.reservations (expires_at) WHERE status = 'active'",
    "CREATE INDEX ix_stock_reservations_tenant_id ON stock.reservations (tenant_id)",
    """CREATE TABLE stock.settings (
    tenant_id UUID NOT NULL,
    reservation_ttl_seconds INTEGER NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_settings PRIMARY KEY (tenant_id),
    CONSTRAINT ck_settings_reservation_ttl CHECK (reservation_ttl_seconds BETWEEN 10 AND 604800)
)""",
    """CREATE TABLE stock.levels (
    id UUID NOT NULL,
    sku_id UUID NOT NULL,
    location_id UUID NOT NULL,
    on_hand INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    committed INTEGER NOT NULL,
    incoming INTEGER NOT NULL,
    safety_stock INTEGER NOT NULL,
    low_threshold INTEGER NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    version INTEGER NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_levels PRIMARY KEY (id),
    CONSTRAINT uq_levels_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_levels_tenant_id_sku_id_location_id UNIQUE (tenant_id, sku_id, location_id),
    CONSTRAINT fk_levels_location FOREIGN KEY(tenant_id, location_id) REFERENCES stock.locations (tenant_id, id),
    CONSTRAINT ck_levels_on_hand CHECK (on_hand >= 0),
    CONSTRAINT ck_levels_reserved CHECK (reserved >= 0),
    CONSTRAINT ck_levels_committed CHECK (committed >= 0),
    CONSTRAINT ck_levels_allocated CHECK (reserved + committed <= on_hand),
    CONSTRAINT ck_levels_incoming CHECK (incoming >= 0),
    CONSTRAINT ck_levels_safety_stock CHECK (safety_stock >= 0),
    CONSTRAINT ck_levels_low_threshold CHECK (low_threshold >= 0)
)""",
    "CREATE INDEX ix_levels_location ON stock.levels (tenant_id, location_id)",
    "CREATE INDEX ix_stock_levels_tenant_id ON stock.levels (tenant_id)",
    """CREATE TABLE stock.movements (
    seq BIGSERIAL NOT NULL,
    id UUID NOT NULL,
    level_id UUID NOT NULL,
    sku_id UUID NOT NULL,
    location_id UUID NOT NULL,
    kind VARCHAR(16) NOT NULL,
    delta INTEGER NOT NULL,
    on_hand_after INTEGER NOT NULL,
    reason TEXT NOT NULL,
    reference UUID,
    actor_user_id UUID,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_movements PRIMARY KEY (seq),
    CONSTRAINT ck_movements_kind CHECK (kind IN ('receipt', 'count', 'damage', 'transfer_in', 'transfer_out')),
    CONSTRAINT fk_movements_level FOREIGN KEY(tenant_id, level_id) REFERENCES stock.levels (tenant_id, id),
    CONSTRAINT uq_movements_id UNIQUE (id)
)""",
    "CREATE INDEX ix_movements_level ON stock.movements (tenant_id, level_id, seq)",
    "CREATE INDEX ix_stock_movements_tenant_id ON stock.movements (tenant_id)",
    """CREATE TABLE stock.reservation_lines (
    id UUID NOT NULL,
    reservation_id UUID NOT NULL,
    line_id VARCHAR(64) NOT NULL,
    sku_id UUID NOT NULL,
    location_id UUID NOT NULL,
    level_id UUID NOT NULL,
    quantity INTEGER NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_reservation_lines PRIMARY KEY (id),
    CONSTRAINT fk_reservation_lines_reservation FOREIGN KEY(tenant_id, reservation_id) REFERENCES stock.reservations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_reservation_lines_level FOREIGN KEY(tenant_id, level_id) REFERENCES stock.levels (tenant_id, id),
    CONSTRAINT ck_reservation_lines_quantity CHECK (quantity > 0)
)""",
    "CREATE INDEX ix_reservation_lines_level ON stock.reservation_lines (level_id)",
    "CREATE INDEX ix_reservation_lines_reservation ON stock.reservation_lines (reservation_id)",
    "CREATE INDEX ix_stock_reservation_lines_tenant_id ON stock.reservation_lines (tenant_id)",
)

# The movement log is append-only for everybody (owner included): history is never rewritten.
APPEND_ONLY: tuple[str, ...] = (
    """CREATE FUNCTION stock.movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock.movements is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON stock.movements
    FOR EACH STATEMENT EXECUTE FUNCTION stock.movements_append_only()""",
    """CREATE TRIGGER movements_no_truncate BEFORE TRUNCATE ON stock.movements
    FOR EACH STATEMENT EXECUTE FUNCTION stock.movements_append_only()""",
)

# The expiry sweeper finds the tenants with expired reservations in a transaction that sets
# `app.stock_sweeper = on` (ids and expiry only; the release itself runs in a tenant transaction).
SWEEPER_POLICY = (
    "CREATE POLICY reservations_sweeper_read ON stock.reservations FOR SELECT "
    "USING (current_setting('app.stock_sweeper', true) = 'on')"
)


def upgrade() -> None:
    create_subgraph_schema(S)
    for statement in DDL:
        op.execute(statement)
    for table in TENANT_TABLES:
        enable_tenant_rls(f"{S}.{table}")
    op.execute(SWEEPER_POLICY)
    for statement in APPEND_ONLY:
        op.execute(statement)
    create_outbox_table(S)
    create_processed_events_table(S)
    create_idempotency_table(S)
    grant_app_access(S)
    role = get_settings().app_db_role
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON stock.movements FROM {role}")


def downgrade() -> None:
    for table in ("idempotency_keys", "processed_events", "outbox", *reversed(TENANT_TABLES)):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS stock.movements_append_only()")
