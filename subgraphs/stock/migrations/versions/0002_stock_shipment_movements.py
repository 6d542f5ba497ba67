"""stock: movements of kind `shipment` (goods leaving on a logistics shipment).

Revision ID: 0002_stock_shipment_movements
Revises: 0001_stock_initial
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_stock_shipment_movements"
down_revision: str | None = "0001_stock_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "('receipt', 'count', 'damage', 'transfer_in', 'transfer_out')"
NEW = "('receipt', 'count', 'damage', 'transfer_in', 'transfer_out', 'shipment')"


def upgrade() -> None:
    op.execute("ALTER TABLE stock.movements DROP CONSTRAINT ck_movements_kind")
    op.execute(f"ALTER TABLE stock.movements ADD CONSTRAINT ck_movements_kind CHECK (kind IN {NEW})")
    # A shipment consumes its reservation lines (subgraphs/stock/shipments.py).
    op.execute("CREATE INDEX IF NOT EXISTS ix_movements_reference ON stock.movements (reference)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS stock.ix_movements_reference")
    op.execute("ALTER TABLE stock.movements DROP CONSTRAINT ck_movements_kind")
    op.execute(f"ALTER TABLE stock.movements ADD CONSTRAINT ck_movements_kind CHECK (kind IN {OLD})")
