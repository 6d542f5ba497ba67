# ruff: noqa: E501  (the DDL below is kept verbatim)
"""logistics: ZPL labels, exception resolutions (RETURNED, LOST) and re-routed shipments.

Revision ID: 0002_logistics_resolve
Revises: 0001_logistics_initial
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_logistics_resolve"
down_revision: str | None = "0001_logistics_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UP: tuple[str, ...] = (
    "ALTER TABLE logistics.shipments ADD COLUMN label_zpl TEXT",
    "ALTER TABLE logistics.shipments ADD COLUMN replaces_id UUID",
    "ALTER TABLE logistics.shipments ADD COLUMN replaced_by_id UUID",
    "ALTER TABLE logistics.shipments DROP CONSTRAINT ck_shipments_status",
    "ALTER TABLE logistics.shipments ADD CONSTRAINT ck_shipments_status CHECK (status IN ('CREATED', 'LABELLED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'EXCEPTION', 'CANCELLED', 'RETURNED', 'LOST'))",
    # One original shipment per order and location (routing's replay guard); replacements may
    # leave from the same location, and a shipment is replaced at most once.
    "ALTER TABLE logistics.shipments DROP CONSTRAINT uq_shipments_tenant_id_order_id_location_id",
    "CREATE UNIQUE INDEX uq_shipments_routed ON logistics.shipments (tenant_id, order_id, location_id) WHERE replaces_id IS NULL",
    "ALTER TABLE logistics.shipments ADD CONSTRAINT uq_shipments_tenant_id_replaces_id UNIQUE (tenant_id, replaces_id)",
    "ALTER TABLE logistics.shipments ADD CONSTRAINT fk_shipments_replaces FOREIGN KEY (tenant_id, replaces_id) REFERENCES logistics.shipments (tenant_id, id)",
)


def upgrade() -> None:
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in (
        "ALTER TABLE logistics.shipments DROP CONSTRAINT IF EXISTS fk_shipments_replaces",
        "ALTER TABLE logistics.shipments DROP CONSTRAINT IF EXISTS uq_shipments_tenant_id_replaces_id",
        "DROP INDEX IF EXISTS logistics.uq_shipments_routed",
        "DELETE FROM logistics.shipments WHERE replaces_id IS NOT NULL",
        "ALTER TABLE logistics.shipments ADD CONSTRAINT uq_shipments_tenant_id_order_id_location_id UNIQUE (tenant_id, order_id, location_id)",
        "ALTER TABLE logistics.shipments DROP CONSTRAINT ck_shipments_status",
        "UPDATE logistics.shipments SET status = 'EXCEPTION' WHERE status IN ('RETURNED', 'LOST')",
        "ALTER TABLE logistics.shipments ADD CONSTRAINT ck_shipments_status CHECK (status IN ('CREATED', 'LABELLED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'EXCEPTION', 'CANCELLED'))",
        "ALTER TABLE logistics.shipments DROP COLUMN IF EXISTS replaced_by_id",
        "ALTER TABLE logistics.shipments DROP COLUMN IF EXISTS replaces_id",
        "ALTER TABLE logistics.shipments DROP COLUMN IF EXISTS label_zpl",
    ):
        op.execute(statement)
