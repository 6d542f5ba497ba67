"""Async SQLAlchemy: engines, tenant-scoped sessions, the declarative base and mixins.

Tenant isolation is enforced by PostgreSQL row-level security: every transaction opened with
`Database.tenant_session(tenant_id)` first runs `set_config('app.tenant_id', :t, true)` (the
`SET LOCAL` form, so the setting dies with the transaction and never leaks through the pool), and
every tenant table has a policy comparing its `tenant_id` with that setting. Subgraphs connect as
the application role (not superuser, not BYPASSRLS), so the policies always apply.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import Uuid

from shared.settings import Settings, get_settings

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """The MetaData of one subgraph: its own PostgreSQL schema, the shared naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Root of every subgraph's models. A subgraph declares its own abstract base with
    `metadata = schema_metadata("<name>")` so its tables live in its schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: Uuid(as_uuid=True),
        datetime: DateTime(timezone=True),
    }


class TenantMixin:
    """A tenant-scoped row. Pair every table using it with `enable_tenant_rls` in its migration."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


class TimestampMixin:
    # Set in Python too, so a freshly flushed row has it without a round trip (no lazy load in async).
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


def async_url(url: str | URL) -> URL:
    """Accept `postgresql://` / `postgres://` URLs and point them at the asyncpg driver."""
    parsed = make_url(str(url).replace("postgres://", "postgresql://", 1) if isinstance(url, str) else url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def libpq_url(url: str | URL) -> str:
    """`url` for asyncpg/libpq (`postgresql://`, no SQLAlchemy driver suffix), password included."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def app_database_url(database_url: str | URL, settings: Settings | None = None) -> URL:
    """The application-role URL: same server and database as the owner URL, other user."""
    settings = settings or get_settings()
    return async_url(database_url).set(username=settings.app_db_role, password=settings.app_db_password)


def create_engine(
    url: str | URL, *, settings: Settings | None = None, application_name: str = "b2b", **kwargs: Any
) -> AsyncEngine:
    settings = settings or get_settings()
    server_settings = {"application_name": application_name}
    if settings.db_statement_timeout_ms > 0:
        # A runaway query fails instead of holding a pooled connection forever.
        server_settings["statement_timeout"] = str(settings.db_statement_timeout_ms)
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_pre_ping": settings.db_pool_pre_ping,
        "pool_recycle": 1800,
        "echo": settings.db_echo,
        "connect_args": {"server_settings": server_settings},
    }
    options.update(kwargs)
    return create_async_engine(async_url(url), **options)


async def set_tenant(session: AsyncSession, tenant_id: uuid.UUID | str) -> None:
    """Bind the current transaction to a tenant (transaction-local, bound parameter)."""
    await session.execute(
        text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(uuid.UUID(str(tenant_id)))}
    )


class Database:
    """An engine plus session factory. `tenant_session` is how request code touches data."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str | URL, *, settings: Settings | None = None, **kwargs: Any) -> Database:
        return cls(create_engine(url, settings=settings, **kwargs))

    @classmethod
    def for_app(cls, settings: Settings | None = None, *, name: str = "b2b", **kwargs: Any) -> Database:
        """Connect as the application role to the configured database (`name`: application_name)."""
        settings = settings or get_settings()
        url = app_database_url(settings.database_url, settings)
        return cls.from_url(url, settings=settings, application_name=f"b2b-{name}", **kwargs)

    @asynccontextmanager
    async def tenant_session(self, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncSession]:
        """One transaction scoped to `tenant_id`: committed on normal exit, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            await set_tenant(session, tenant_id)
            yield session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction with no tenant: tenant tables look empty and refuse writes under RLS.
        For infrastructure (outbox relay, health checks), never for request data."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            return (await conn.execute(text("SELECT 1"))).scalar() == 1

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def tenant_session(db: Database, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncSession]:
    """Function form of `Database.tenant_session`."""
    async with db.tenant_session(tenant_id) as session:
        yield session
