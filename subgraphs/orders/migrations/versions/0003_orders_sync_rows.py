"""orders: `sync_rows`, idempotency per external reference of the ERP order status sync (RLS).

Revision ID: 0003_orders_sync_rows
Revises: 0002_orders_refunded
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from shared.settings import get_settings
from shared.sync_rows import sync_rows_sql

revision: str = "0003_orders_sync_rows"
down_revision: str | None = "0002_orders_refunded"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in sync_rows_sql("orders"):
        op.execute(statement)
    # Only this table: a schema-wide grant would undo the revoked UPDATE/DELETE of the append-only logs.
    role = get_settings().app_db_role
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON orders.sync_rows TO {role}")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS orders.sync_rows")
