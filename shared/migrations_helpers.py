"""Building blocks for the subgraphs' Alembic migrations.

A domain's first migration is typically:

    create_subgraph_schema("catalog")          # schema + app role + grants
    op.create_table("products", ..., schema="catalog")
    enable_tenant_rls("catalog.products")      # one call per tenant table
    create_outbox_table("catalog")             # if it publishes events
    create_processed_events_table("catalog")   # if it consumes events

Every statement is idempotent where PostgreSQL allows it, because several databases (one per test
run) share one cluster, and roles are cluster-wide.
"""

from __future__ import annotations

import re

from alembic import op

from shared.settings import get_settings

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")

# The policy expression. NULLIF: once a pooled connection has seen `set_config(..., true)`, the
# setting reverts to '' (not NULL) after the transaction, and ''::uuid would raise instead of
# matching nothing.
TENANT_PREDICATE = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def sql_ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def _qualified(table: str, schema: str | None) -> str:
    if "." in table:
        schema, table = table.split(".", 1)
    return f"{sql_ident(schema)}.{sql_ident(table)}" if schema else sql_ident(table)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def app_role_sql(role: str, password: str) -> str:
    """Create the application role if missing; fail loudly if it exists with RLS-defeating powers."""
    r = sql_ident(role)
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_literal(r)}) THEN
        BEGIN
            CREATE ROLE {r} LOGIN PASSWORD {_literal(password)} NOSUPERUSER NOBYPASSRLS
                NOCREATEDB NOCREATEROLE;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by another database's migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_literal(r)} AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role % is superuser or BYPASSRLS: row-level security would not apply', {_literal(r)};
    END IF;
END
$$;
"""


def ensure_app_role() -> None:
    settings = get_settings()
    op.execute(app_role_sql(settings.app_db_role, settings.app_db_password))


def create_subgraph_schema(schema: str) -> None:
    """The subgraph's schema, the app role, and the app role's rights on everything created in it."""
    s = sql_ident(schema)
    role = sql_ident(get_settings().app_db_role)
    ensure_app_role()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
    op.execute(f"GRANT USAGE ON SCHEMA {s} TO {role}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {role}")
    grant_app_access(s)


def grant_app_access(schema: str) -> None:
    """Grant the app role DML on tables that already exist (default privileges cover new ones)."""
    s = sql_ident(schema)
    role = sql_ident(get_settings().app_db_role)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {role}")


def tenant_rls_sql(table: str, *, schema: str | None = None, column: str = "tenant_id") -> list[str]:
    t = _qualified(table, schema)
    c = sql_ident(column)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        # FORCE: the policy applies to the table owner too (only superusers and BYPASSRLS escape).
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {t} USING ({c} = {TENANT_PREDICATE}) "
        f"WITH CHECK ({c} = {TENANT_PREDICATE})",
    ]


def enable_tenant_rls(table: str, *, schema: str | None = None, column: str = "tenant_id") -> None:
    """Row-level security on a tenant table: rows are visible and writable only inside a
    transaction whose `app.tenant_id` equals the row's `column`. `table` may be `schema.table`."""
    for statement in tenant_rls_sql(table, schema=schema, column=column):
        op.execute(statement)


def disable_tenant_rls(table: str, *, schema: str | None = None) -> None:
    t = _qualified(table, schema)
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {t}")
    op.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")


def outbox_sql(schema: str) -> list[str]:
    s = sql_ident(schema)
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.outbox (
            seq BIGSERIAL PRIMARY KEY,
            id UUID NOT NULL UNIQUE,
            tenant_id UUID NOT NULL,
            subject TEXT NOT NULL,
            type TEXT NOT NULL,
            envelope JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            published_at TIMESTAMPTZ
        )""",
        f"CREATE INDEX IF NOT EXISTS ix_outbox_pending ON {s}.outbox (seq) WHERE published_at IS NULL",
        f"ALTER TABLE {s}.outbox ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {s}.outbox FORCE ROW LEVEL SECURITY",
        # Request code may only append events of its own tenant...
        f"CREATE POLICY outbox_append ON {s}.outbox FOR INSERT WITH CHECK (tenant_id = {TENANT_PREDICATE})",
        # ...and only a relay transaction (app.outbox_relay = on) reads and marks rows, all tenants.
        f"CREATE POLICY outbox_relay_read ON {s}.outbox FOR SELECT "
        "USING (current_setting('app.outbox_relay', true) = 'on')",
        f"CREATE POLICY outbox_relay_mark ON {s}.outbox FOR UPDATE "
        "USING (current_setting('app.outbox_relay', true) = 'on')",
        f"CREATE POLICY outbox_relay_prune ON {s}.outbox FOR DELETE "
        "USING (current_setting('app.outbox_relay', true) = 'on')",
    ]


def create_outbox_table(schema: str) -> None:
    """`<schema>.outbox`: events written in the same transaction as the state change."""
    for statement in outbox_sql(schema):
        op.execute(statement)
    grant_app_access(schema)


def processed_events_sql(schema: str) -> list[str]:
    s = sql_ident(schema)
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.processed_events (
            consumer TEXT NOT NULL,
            event_id UUID NOT NULL,
            tenant_id UUID NOT NULL,
            processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        )""",
        *tenant_rls_sql("processed_events", schema=s),
    ]


def create_processed_events_table(schema: str) -> None:
    """`<schema>.processed_events`: the ids a durable consumer has applied (its idempotency record)."""
    for statement in processed_events_sql(schema):
        op.execute(statement)
    grant_app_access(schema)


def idempotency_sql(schema: str) -> list[str]:
    s = sql_ident(schema)
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.idempotency_keys (
            tenant_id UUID NOT NULL,
            key TEXT NOT NULL,
            operation TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            response JSONB,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, key)
        )""",
        *tenant_rls_sql("idempotency_keys", schema=s),
    ]


def create_idempotency_table(schema: str) -> None:
    """`<schema>.idempotency_keys`: one row per (tenant, key), with the first call's response."""
    for statement in idempotency_sql(schema):
        op.execute(statement)
    grant_app_access(schema)
