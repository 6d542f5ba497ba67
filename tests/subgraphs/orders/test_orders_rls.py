"""Row-level security on every orders table, and the append-only transition history."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database, app_database_url
from subgraphs.orders import service
from subgraphs.orders.models import RLS_TABLES, SCHEMA


@pytest.fixture(scope="module")
async def db(service_urls: Any) -> Any:
    database = Database.from_url(app_database_url(service_urls.database_url), pool_size=2)
    yield database
    await database.dispose()


async def test_another_tenant_sees_nothing_and_history_is_append_only(db: Database) -> None:
    tenant, other, buyer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    line = service.NewLine(uuid.uuid4(), 1, Decimal("1.00"), Decimal("1.00"), uuid.uuid4())
    async with db.tenant_session(tenant) as session:
        await service.upsert_org_unit(session, tenant, buyer, parent_id=None)
        await service.put_settings(session, tenant, service.Settings())
        _, (order,) = await service.create_purchase(
            session, tenant, service.Placement(buyer, None, "EUR", [line]), actor="test"
        )
    async with db.tenant_session(tenant) as session:
        mine = await session.scalar(text(f"SELECT count(*) FROM {SCHEMA}.order_transitions"))
        assert mine == 1
    async with db.tenant_session(other) as session:
        for table in RLS_TABLES:
            assert await session.scalar(text(f"SELECT count(*) FROM {SCHEMA}.{table}")) == 0, table
    with pytest.raises(DBAPIError):
        async with db.tenant_session(tenant) as session:
            await session.execute(text(f"UPDATE {SCHEMA}.order_transitions SET reason = 'rewritten'"))
    async with db.tenant_session(other) as session:
        moved = await session.execute(
            text(f"UPDATE {SCHEMA}.orders SET state = 'cancelled' WHERE id = :id"), {"id": order.id}
        )
        assert moved.rowcount == 0  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError):  # WITH CHECK: no writing rows of another tenant
        async with db.tenant_session(other) as session:
            await service.upsert_org_unit(session, tenant, uuid.uuid4(), parent_id=None)
