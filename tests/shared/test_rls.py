"""Row-level security: a tenant session sees and touches only its own tenant's rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database, app_database_url, async_url
from shared.settings import get_settings
from subgraphs.orgs.models import Organization, Tenant


@pytest.fixture(scope="module")
async def app_db(service_urls) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=2)
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def two_tenants(app_db: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """Tenants A and B with one organization each; returns (a, b, org_a, org_b)."""
    a, b = uuid.uuid4(), uuid.uuid4()
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    for tenant, org in ((a, org_a), (b, org_b)):
        async with app_db.tenant_session(tenant) as s:
            s.add(Tenant(id=tenant, slug=f"t-{tenant.hex[:12]}", name=f"tenant {tenant}"))
            await s.flush()
            s.add(Organization(id=org, tenant_id=tenant, kind="BUYER", name=f"org of {tenant}"))
    return a, b, org_a, org_b


async def test_app_role_is_neither_superuser_nor_bypassrls(service_urls) -> None:  # type: ignore[no-untyped-def]
    role = get_settings().app_db_role
    conn = await asyncpg.connect(
        str(
            async_url(service_urls.database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
    )
    try:
        row = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = $1", role
        )
        forced = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'orgs' AND c.relkind = 'r' AND c.relrowsecurity AND c.relforcerowsecurity"
        )
    finally:
        await conn.close()
    assert row is not None
    assert row["rolsuper"] is False
    assert row["rolbypassrls"] is False
    assert row["rolcanlogin"] is True
    assert {"tenants", "organizations", "users", "memberships", "outbox", "processed_events"} <= {
        r["relname"] for r in forced
    }


async def test_app_connects_as_app_role(app_db: Database) -> None:
    async with app_db.session() as s:
        user = (await s.execute(text("SELECT current_user"))).scalar()
    assert user == get_settings().app_db_role


async def test_tenant_a_cannot_read_tenant_b_rows(app_db: Database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, b, org_a, org_b = two_tenants
    async with app_db.tenant_session(a) as s:
        ids = set((await s.execute(text("SELECT id FROM orgs.organizations"))).scalars())
        assert org_a in ids and org_b not in ids
        # A hand-written filter on the other tenant finds nothing.
        rows = (
            await s.execute(text("SELECT id FROM orgs.organizations WHERE tenant_id = :b"), {"b": b})
        ).all()
        assert rows == []
        assert (
            await s.execute(text("SELECT id FROM orgs.organizations WHERE id = :o"), {"o": org_b})
        ).all() == []
        assert await s.get(Organization, org_b) is None
        assert (await s.execute(text("SELECT id FROM orgs.tenants"))).scalars().all() == [a]


async def test_tenant_a_cannot_update_or_delete_tenant_b_rows(app_db: Database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, b, _org_a, org_b = two_tenants
    async with app_db.tenant_session(a) as s:
        updated = await s.execute(
            text("UPDATE orgs.organizations SET name = 'hijacked' WHERE tenant_id = :b"), {"b": b}
        )
        assert updated.rowcount == 0  # type: ignore[attr-defined]
        deleted = await s.execute(text("DELETE FROM orgs.organizations WHERE id = :o"), {"o": org_b})
        assert deleted.rowcount == 0  # type: ignore[attr-defined]
    async with app_db.tenant_session(b) as s:
        name = (
            await s.execute(text("SELECT name FROM orgs.organizations WHERE id = :o"), {"o": org_b})
        ).scalar()
    assert name == f"org of {b}"


async def test_tenant_a_cannot_insert_rows_for_tenant_b(app_db: Database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, b, _org_a, _org_b = two_tenants
    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_db.tenant_session(a) as s:
            await s.execute(
                text(
                    "INSERT INTO orgs.organizations (id, tenant_id, kind, name) VALUES (:i, :b, 'BUYER', 'x')"
                ),
                {"i": uuid.uuid4(), "b": b},
            )


async def test_tenant_a_cannot_move_its_row_to_tenant_b(app_db: Database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, b, org_a, _org_b = two_tenants
    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_db.tenant_session(a) as s:
            await s.execute(
                text("UPDATE orgs.organizations SET tenant_id = :b WHERE id = :o"), {"b": b, "o": org_a}
            )


async def test_no_tenant_means_no_rows(app_db: Database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, _b, _org_a, _org_b = two_tenants
    # Run a tenant transaction first so the pooled connection has seen the setting (it then reads '').
    async with app_db.tenant_session(a) as s:
        await s.execute(text("SELECT 1"))
    async with app_db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM orgs.organizations"))).scalar() == 0
    with pytest.raises(DBAPIError, match="row-level security"):
        async with app_db.session() as s:
            await s.execute(
                text(
                    "INSERT INTO orgs.organizations (id, tenant_id, kind, name) VALUES (:i, :a, 'BUYER', 'x')"
                ),
                {"i": uuid.uuid4(), "a": a},
            )


async def test_tenant_setting_does_not_leak_across_transactions(app_db: Database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    a, _b, _org_a, _org_b = two_tenants
    async with app_db.sessionmaker() as s:
        async with s.begin():
            await s.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a)})
        async with s.begin():
            value = (await s.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
    assert value in (None, "")
