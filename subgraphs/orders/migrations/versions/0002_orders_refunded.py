"""orders: a return ends `refunded` once finance has issued its credit note.

Revision ID: 0002_orders_refunded
Revises: 0001_orders_initial
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_orders_refunded"
down_revision: str | None = "0001_orders_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE orders.returns DROP CONSTRAINT ck_returns_state")
    op.execute(
        "ALTER TABLE orders.returns ADD CONSTRAINT ck_returns_state CHECK (state IN "
        "('requested', 'approved', 'rejected', 'received', 'refund_requested', 'refunded'))"
    )


def downgrade() -> None:
    op.execute("UPDATE orders.returns SET state = 'refund_requested' WHERE state = 'refunded'")
    op.execute("ALTER TABLE orders.returns DROP CONSTRAINT ck_returns_state")
    op.execute(
        "ALTER TABLE orders.returns ADD CONSTRAINT ck_returns_state CHECK (state IN "
        "('requested', 'approved', 'rejected', 'received', 'refund_requested'))"
    )
