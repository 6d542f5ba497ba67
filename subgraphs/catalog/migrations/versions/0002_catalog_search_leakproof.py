"""catalog: let the search indexes work under row-level security.

Under RLS, PostgreSQL evaluates a query's own conditions only after the policy's, unless their
functions are LEAKPROOF; so `search @@ query` (ts_match_vq) and `facet_tags && tags`
(arrayoverlap) could not use their GIN indexes for the application role, and every search read
every product row of the tenant. Marking the two functions LEAKPROOF (they return a boolean
computed from their arguments and raise no data-dependent errors) lets the planner use the
indexes. Only a superuser may do it: without one the migration says so and search stays correct,
only slower. The change is local to this database.

Revision ID: 0002_catalog_search_leakproof
Revises: 0001_catalog_initial
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_catalog_search_leakproof"
down_revision: str | None = "0001_catalog_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = ("pg_catalog.ts_match_vq(tsvector, tsquery)", "pg_catalog.arrayoverlap(anyarray, anyarray)")


def _set(leakproof: bool) -> None:
    statements = " ".join(
        f"EXECUTE 'ALTER FUNCTION {fn} {'LEAKPROOF' if leakproof else 'NOT LEAKPROOF'}';" for fn in FUNCTIONS
    )
    op.execute(
        f"""
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        {statements}
    ELSE
        RAISE NOTICE 'catalog: not a superuser, search indexes stay unusable under RLS (slower search)';
    END IF;
END
$$;
"""
    )


def upgrade() -> None:
    _set(True)


def downgrade() -> None:
    _set(False)
