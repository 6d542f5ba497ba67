# ruff: noqa: E501  (the DDL below is kept verbatim)
"""logistics: settings, warehouses, carriers, order projections, pick waves, shipments and their
transitions, tracking events; RLS; outbox, processed events, idempotency keys.

Revision ID: 0001_logistics_initial
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

revision: str = "0001_logistics_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "logistics"
TENANT_TABLES = (
    "tenant_settings",
    "warehouses",
    "carriers",
    "order_projections",
    "pick_waves",
    "shipments",
    "shipment_transitions",
    "tracking_events",
)

# Written out (not generated from models.py at run time) so this revision never changes.
DDL: tuple[str, ...] = (
    """CREATE TABLE logistics.carriers (
    id UUID NOT NULL,
    code VARCHAR(40) NOT NULL,
    name VARCHAR(200) NOT NULL,
    kind VARCHAR(20) NOT NULL,
    quality NUMERIC(6, 4) NOT NULL,
    price_per_parcel NUMERIC(19, 4) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    countries JSONB NOT NULL,
    webhook_secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_carriers PRIMARY KEY (id),
    CONSTRAINT uq_carriers_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_carriers_tenant_id_code UNIQUE (tenant_id, code),
    CONSTRAINT ck_carriers_quality CHECK (quality >= 0 AND quality <= 1),
    CONSTRAINT ck_carriers_price CHECK (price_per_parcel >= 0)
)""",
    "CREATE INDEX ix_logistics_carriers_tenant_id ON logistics.carriers (tenant_id)",
    """CREATE TABLE logistics.job_tenants (
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_job_tenants PRIMARY KEY (tenant_id)
)""",
    """CREATE TABLE logistics.order_projections (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    number VARCHAR(64),
    buyer_organization_id UUID,
    seller_organization_id UUID,
    delivery JSONB,
    lines JSONB,
    allocations JSONB,
    confirmed_at TIMESTAMP WITH TIME ZONE,
    cancelled_at TIMESTAMP WITH TIME ZONE,
    routed_at TIMESTAMP WITH TIME ZONE,
    routing_decision JSONB,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_order_projections PRIMARY KEY (id),
    CONSTRAINT uq_order_projections_tenant_id_order_id UNIQUE (tenant_id, order_id)
)""",
    "CREATE INDEX ix_logistics_order_projections_tenant_id ON logistics.order_projections (tenant_id)",
    """CREATE TABLE logistics.pick_waves (
    id UUID NOT NULL,
    location_id UUID NOT NULL,
    released_at TIMESTAMP WITH TIME ZONE NOT NULL,
    shipment_count INTEGER NOT NULL,
    pick_list JSONB NOT NULL,
    trigger VARCHAR(16) NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_pick_waves PRIMARY KEY (id),
    CONSTRAINT uq_pick_waves_tenant_id_id UNIQUE (tenant_id, id)
)""",
    "CREATE INDEX ix_logistics_pick_waves_tenant_id ON logistics.pick_waves (tenant_id)",
    "CREATE INDEX ix_pick_waves_page ON logistics.pick_waves (tenant_id, released_at, id)",
    """CREATE TABLE logistics.tenant_settings (
    id UUID NOT NULL,
    routing_weights JSONB NOT NULL,
    wave_size INTEGER NOT NULL,
    wave_interval_seconds INTEGER NOT NULL,
    stale_after_seconds INTEGER NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_tenant_settings PRIMARY KEY (id),
    CONSTRAINT uq_tenant_settings_tenant_id UNIQUE (tenant_id),
    CONSTRAINT ck_tenant_settings_wave_size CHECK (wave_size >= 1),
    CONSTRAINT ck_tenant_settings_wave_interval CHECK (wave_interval_seconds >= 0),
    CONSTRAINT ck_tenant_settings_stale_after CHECK (stale_after_seconds >= 60)
)""",
    "CREATE INDEX ix_logistics_tenant_settings_tenant_id ON logistics.tenant_settings (tenant_id)",
    """CREATE TABLE logistics.warehouses (
    id UUID NOT NULL,
    location_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    country VARCHAR(2) NOT NULL,
    region VARCHAR(100),
    cost_per_parcel NUMERIC(19, 4) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_warehouses PRIMARY KEY (id),
    CONSTRAINT uq_warehouses_tenant_id_location_id UNIQUE (tenant_id, location_id),
    CONSTRAINT ck_warehouses_cost CHECK (cost_per_parcel >= 0)
)""",
    "CREATE INDEX ix_logistics_warehouses_tenant_id ON logistics.warehouses (tenant_id)",
    """CREATE TABLE logistics.shipments (
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    location_id UUID NOT NULL,
    carrier_id UUID,
    status VARCHAR(16) NOT NULL,
    lines JSONB NOT NULL,
    tracking_number VARCHAR(64),
    label_pdf BYTEA,
    wave_id UUID,
    dispatched_at TIMESTAMP WITH TIME ZONE,
    delivered_at TIMESTAMP WITH TIME ZONE,
    delivered_by VARCHAR(16),
    exception_reason VARCHAR(40),
    exception_at TIMESTAMP WITH TIME ZONE,
    last_tracking_at TIMESTAMP WITH TIME ZONE,
    last_progress_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_shipments PRIMARY KEY (id),
    CONSTRAINT uq_shipments_tenant_id_id UNIQUE (tenant_id, id),
    CONSTRAINT uq_shipments_tenant_id_order_id_location_id UNIQUE (tenant_id, order_id, location_id),
    CONSTRAINT uq_shipments_tenant_id_tracking_number UNIQUE (tenant_id, tracking_number),
    CONSTRAINT fk_shipments_tenant_id_carriers FOREIGN KEY(tenant_id, carrier_id) REFERENCES logistics.carriers (tenant_id, id),
    CONSTRAINT fk_shipments_tenant_id_pick_waves FOREIGN KEY(tenant_id, wave_id) REFERENCES logistics.pick_waves (tenant_id, id),
    CONSTRAINT ck_shipments_status CHECK (status IN ('CREATED', 'LABELLED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'EXCEPTION', 'CANCELLED'))
)""",
    "CREATE INDEX ix_logistics_shipments_tenant_id ON logistics.shipments (tenant_id)",
    "CREATE INDEX ix_shipments_order ON logistics.shipments (tenant_id, order_id)",
    "CREATE INDEX ix_shipments_page ON logistics.shipments (tenant_id, created_at, id)",
    "CREATE INDEX ix_shipments_progress ON logistics.shipments (tenant_id, last_progress_at) WHERE status IN ('DISPATCHED', 'IN_TRANSIT')",
    "CREATE INDEX ix_shipments_wave_queue ON logistics.shipments (tenant_id, location_id, created_at) WHERE wave_id IS NULL AND status <> 'CANCELLED'",
    """CREATE TABLE logistics.tracking_events (
    id UUID NOT NULL,
    carrier_id UUID NOT NULL,
    carrier_event_id VARCHAR(200) NOT NULL,
    shipment_id UUID,
    tracking_number VARCHAR(64) NOT NULL,
    status VARCHAR(32) NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    outcome VARCHAR(16) NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_tracking_events PRIMARY KEY (id),
    CONSTRAINT uq_tracking_events_tenant_id_carrier_id_carrier_event_id UNIQUE (tenant_id, carrier_id, carrier_event_id),
    CONSTRAINT fk_tracking_events_tenant_id_carriers FOREIGN KEY(tenant_id, carrier_id) REFERENCES logistics.carriers (tenant_id, id)
)""",
    "CREATE INDEX ix_logistics_tracking_events_tenant_id ON logistics.tracking_events (tenant_id)",
    """CREATE TABLE logistics.shipment_transitions (
    seq SERIAL NOT NULL,
    shipment_id UUID NOT NULL,
    from_status VARCHAR(16),
    to_status VARCHAR(16) NOT NULL,
    source VARCHAR(16) NOT NULL,
    reason TEXT,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    tenant_id UUID NOT NULL,
    CONSTRAINT pk_shipment_transitions PRIMARY KEY (seq),
    CONSTRAINT fk_shipment_transitions_tenant_id_shipments FOREIGN KEY(tenant_id, shipment_id) REFERENCES logistics.shipments (tenant_id, id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_logistics_shipment_transitions_tenant_id ON logistics.shipment_transitions (tenant_id)",
    "CREATE INDEX ix_shipment_transitions_shipment ON logistics.shipment_transitions (tenant_id, shipment_id, seq)",
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


def downgrade() -> None:
    for table in ("idempotency_keys", "processed_events", "outbox", *reversed(TENANT_TABLES), "job_tenants"):
        op.execute(f"DROP TABLE IF EXISTS {S}.{table} CASCADE")
