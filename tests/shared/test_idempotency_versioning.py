"""Idempotency keys and optimistic versions on the real PostgreSQL (app role, RLS)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import String
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base as SharedBase
from shared.db import Database, TenantMixin, app_database_url, schema_metadata
from shared.errors import ConflictError, UserInputError
from shared.idempotency import run_once
from shared.migrations_helpers import idempotency_sql, tenant_rls_sql
from shared.settings import get_settings
from shared.versioning import VersionedMixin, expect_version, flush_versioned

SCHEMA = "sharedtest"
TENANT = uuid.uuid4()


class SampleBase(SharedBase):
    __abstract__ = True
    metadata = schema_metadata(SCHEMA)


class Counter(VersionedMixin, TenantMixin, SampleBase):
    __tablename__ = "counters"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    label: Mapped[str] = mapped_column(String(50))


@pytest.fixture(scope="module")
async def db(service_urls) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    role = get_settings().app_db_role
    conn = await asyncpg.connect(
        make_url(service_urls.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        for sql in [
            f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
            f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}",
            *idempotency_sql(SCHEMA),
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.counters (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, "
            "label varchar(50) NOT NULL, version int NOT NULL)",
            *tenant_rls_sql("counters", schema=SCHEMA),
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {role}",
        ]:
            await conn.execute(sql)
    finally:
        await conn.close()
    database = Database.from_url(app_database_url(service_urls.database_url), pool_size=4)
    yield database
    await database.dispose()


async def test_same_key_runs_once_and_replays(db: Database) -> None:
    calls: list[int] = []
    key = f"k-{uuid.uuid4()}"

    async def produce() -> dict[str, Any]:
        calls.append(1)
        return {"orderId": "o-1", "total": "10.00"}

    for attempt in range(3):
        async with db.tenant_session(TENANT) as s:
            result = await run_once(
                s,
                schema=SCHEMA,
                tenant_id=TENANT,
                key=key,
                operation="orderPlace",
                request={"a": 1},
                produce=produce,
            )
        assert result.response == {"orderId": "o-1", "total": "10.00"}
        assert result.replayed is (attempt > 0)
    assert calls == [1]


async def test_reusing_a_key_for_another_request_is_refused(db: Database) -> None:
    key = f"k-{uuid.uuid4()}"

    async def produce() -> dict[str, Any]:
        return {"ok": True}

    async with db.tenant_session(TENANT) as s:
        await run_once(
            s, schema=SCHEMA, tenant_id=TENANT, key=key, operation="op", request={"a": 1}, produce=produce
        )
    with pytest.raises(UserInputError) as reused:
        async with db.tenant_session(TENANT) as s:
            await run_once(
                s, schema=SCHEMA, tenant_id=TENANT, key=key, operation="op", request={"a": 2}, produce=produce
            )
    assert reused.value.errors[0].code == "IDEMPOTENCY_KEY_REUSED"
    # Keys are per tenant: another tenant may use the same key for its own request.
    other = uuid.uuid4()
    async with db.tenant_session(other) as s:
        result = await run_once(
            s, schema=SCHEMA, tenant_id=other, key=key, operation="op", request={"a": 2}, produce=produce
        )
    assert result.replayed is False


async def test_failed_attempt_releases_the_key(db: Database) -> None:
    key = f"k-{uuid.uuid4()}"

    async def fail() -> dict[str, Any]:
        raise RuntimeError("payment gateway down")

    async def succeed() -> dict[str, Any]:
        return {"done": True}

    with pytest.raises(RuntimeError):
        async with db.tenant_session(TENANT) as s:
            await run_once(
                s, schema=SCHEMA, tenant_id=TENANT, key=key, operation="op", request={}, produce=fail
            )
    async with db.tenant_session(TENANT) as s:
        result = await run_once(
            s, schema=SCHEMA, tenant_id=TENANT, key=key, operation="op", request={}, produce=succeed
        )
    assert result == type(result)({"done": True}, replayed=False)


async def test_concurrent_calls_with_one_key_produce_once(db: Database) -> None:
    key = f"k-{uuid.uuid4()}"
    produced = 0

    async def slow() -> dict[str, Any]:
        nonlocal produced
        produced += 1
        await asyncio.sleep(0.3)
        return {"n": produced}

    async def call() -> Any:
        async with db.tenant_session(TENANT) as s:
            return await run_once(
                s, schema=SCHEMA, tenant_id=TENANT, key=key, operation="op", request={}, produce=slow
            )

    results = await asyncio.gather(call(), call(), call())
    assert produced == 1
    assert [r.response for r in results] == [{"n": 1}] * 3
    assert sorted(r.replayed for r in results) == [False, True, True]


async def test_bad_keys_are_user_errors(db: Database) -> None:
    async def produce() -> dict[str, Any]:
        return {}

    for key in ("", "   ", "x" * 201):
        with pytest.raises(UserInputError):
            async with db.tenant_session(TENANT) as s:
                await run_once(
                    s, schema=SCHEMA, tenant_id=TENANT, key=key, operation="op", request={}, produce=produce
                )


async def test_versions_bump_and_stale_updates_conflict(db: Database) -> None:
    async with db.tenant_session(TENANT) as s:
        counter = Counter(tenant_id=TENANT, label="a")
        s.add(counter)
    assert counter.version == 1
    async with db.tenant_session(TENANT) as s:
        row = await s.get(Counter, counter.id)
        assert row is not None
        expect_version(row, 1)
        row.label = "b"
        await flush_versioned(s)
        assert row.version == 2
    with pytest.raises(ConflictError) as stale:
        async with db.tenant_session(TENANT) as s:
            row = await s.get(Counter, counter.id)
            assert row is not None
            expect_version(row, 1)
    assert stale.value.extensions == {"currentVersion": 2} and stale.value.code == "CONFLICT"


async def test_concurrent_writer_between_read_and_flush_conflicts(db: Database) -> None:
    async with db.tenant_session(TENANT) as s:
        counter = Counter(tenant_id=TENANT, label="a")
        s.add(counter)
    with pytest.raises(ConflictError):
        async with db.tenant_session(TENANT) as first:
            row = await first.get(Counter, counter.id)
            assert row is not None
            async with db.tenant_session(TENANT) as second:  # commits while `first` holds its read
                other = await second.get(Counter, counter.id)
                assert other is not None
                other.label = "second"
            row.label = "first"
            await flush_versioned(first)
    async with db.tenant_session(TENANT) as s:
        final = await s.get(Counter, counter.id)
        assert final is not None and (final.label, final.version) == ("second", 2)
