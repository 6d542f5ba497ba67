"""catalog: the search GIN indexes take new entries directly (no pending list).

With `fastupdate` on (the default) a GIN index collects new entries in an unsorted pending list
until a vacuum (or the list reaching gin_pending_list_limit, 4 MB) merges them; every search in
between reads that whole list. After a bulk import of a few thousand products, every search paid
several milliseconds for it until autovacuum came by. The catalog is read far more than it is
written: entries go straight into the index tree instead (writes cost a little more), and the
current list is merged now.

Revision ID: 0003_catalog_gin_no_pending
Revises: 0002_catalog_search_leakproof
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_catalog_gin_no_pending"
down_revision: str | None = "0002_catalog_search_leakproof"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = ("catalog.ix_catalog_products_search", "catalog.ix_catalog_products_facet_tags")


def upgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} SET (fastupdate = off)")
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")


def downgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (fastupdate)")
