"""The body of every subgraph's `migrations/env.py`.

    # subgraphs/<name>/migrations/env.py
    from shared.alembic_env import run_migrations
    from subgraphs.<name>.models import Base
    run_migrations(schema="<name>", target_metadata=Base.metadata)

Online only. The version table lives inside the subgraph's schema, so each subgraph migrates
independently. `devstack.migrate.upgrade_all` hands a live connection in through
`config.attributes["connection"]`; the `alembic` command line falls back to DATABASE_URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import async_url
from shared.settings import get_settings


def _configure_and_run(connection: Connection, schema: str, target_metadata: MetaData | None) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(schema: str, target_metadata: MetaData | None) -> None:
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run, schema, target_metadata)
    finally:
        await engine.dispose()


def run_migrations(*, schema: str, target_metadata: MetaData | None) -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection, schema, target_metadata)
    else:
        asyncio.run(_run_with_own_engine(schema, target_metadata))
