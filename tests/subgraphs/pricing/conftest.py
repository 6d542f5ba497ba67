"""Fixtures of the pricing tests: the app on the real database (application role, RLS on) and a
fresh tenant per test with a small organization tree (helpers.py has the GraphQL helpers)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from shared.db import Database
from subgraphs.pricing import service
from tests.subgraphs.pricing.helpers import Tenant


@pytest.fixture(scope="session")
async def pricing_db(service_urls: Any) -> AsyncIterator[Database]:
    db = Database.for_app(pool_size=4, max_overflow=0)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def pricing_url(pricing_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    from shared.settings import get_settings
    from subgraphs.pricing.app import create_app

    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    return await serve_app(create_app(settings, database=pricing_db))


@pytest.fixture
async def tenant(pricing_url: str, pricing_db: Database) -> Tenant:
    t = Tenant(pricing_url, pricing_db, *(uuid.uuid4() for _ in range(7)))
    async with pricing_db.tenant_session(t.id) as session:
        await service.upsert_org_unit(
            session, t.id, t.platform, parent_id=None, kind="PLATFORM", currency="EUR"
        )
        await service.upsert_org_unit(
            session, t.id, t.seller, parent_id=None, kind="SUPPLIER", currency="EUR"
        )
        await service.upsert_org_unit(session, t.id, t.company, parent_id=None, kind="BUYER", currency="EUR")
        await service.upsert_org_unit(session, t.id, t.unit, parent_id=t.company, kind="BUYER")
        await service.upsert_org_unit(session, t.id, t.subunit, parent_id=t.unit, kind="BUYER")
        await service.upsert_org_unit(session, t.id, t.other, parent_id=None, kind="BUYER", currency="EUR")
    return t
