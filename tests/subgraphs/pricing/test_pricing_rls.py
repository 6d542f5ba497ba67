"""Row-level security on every pricing table: rows of one tenant are invisible to another and to a
transaction without tenant, and cannot be written under another tenant's id."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from subgraphs.pricing import quotes as q
from subgraphs.pricing import service
from subgraphs.pricing.models import RLS_TABLES
from subgraphs.pricing.resolution import PriceListKind
from tests.subgraphs.pricing.helpers import Tenant


async def test_every_tenant_table_has_forced_rls(tenant: Tenant) -> None:
    async with tenant.db.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'pricing' AND c.relkind = 'r'"
                )
            )
        ).all()
    flags = {r.relname: (r.relrowsecurity, r.relforcerowsecurity) for r in rows}
    for table in (*RLS_TABLES, "outbox", "processed_events"):
        assert flags[table] == (True, True), table


async def _fill(t: Tenant) -> None:
    seller = service.Caller(t.seller, can_manage_prices=True)
    sku = uuid.uuid4()
    async with t.db.tenant_session(t.id) as session:
        pl = await service.create_price_list(
            session, t.id, seller, service.NewPriceList("l", "EUR", PriceListKind.STANDARD)
        )
        await service.assign_price_list(session, t.id, seller, pl.id, [t.company])
        await service.set_price_break(
            session, t.id, seller, price_list_id=pl.id, sku_id=sku, min_quantity=1, amount="1"
        )
        await service.set_quantity_rule(
            session, t.id, seller, sku_id=sku, price_list_id=pl.id, minimum=1, maximum=None, increment=1
        )
        await service.request_quote(
            session, t.id, service.Caller(t.company), service.NewQuoteRequest([q.RequestedItem(sku, 1)])
        )


async def test_tenant_rows_are_invisible_elsewhere(tenant: Tenant) -> None:
    t = tenant
    await _fill(t)
    stranger = uuid.uuid4()
    for table in RLS_TABLES:
        async with t.db.tenant_session(t.id) as session:
            own = await session.scalar(text(f"SELECT count(*) FROM pricing.{table}"))
        async with t.db.tenant_session(stranger) as session:
            other = await session.scalar(text(f"SELECT count(*) FROM pricing.{table}"))
        async with t.db.session() as session:
            none = await session.scalar(text(f"SELECT count(*) FROM pricing.{table}"))
        assert own and own > 0, table
        assert (other, none) == (0, 0), table


async def test_cannot_write_under_another_tenant(tenant: Tenant) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        async with tenant.db.tenant_session(uuid.uuid4()) as session:
            await service.upsert_org_unit(session, tenant.id, uuid.uuid4(), parent_id=None)
