"""Fixtures of the stock tests: the app-role database (RLS on) and a fresh tenant per test with a
seller, its two warehouses, a platform location and a shop (helpers.py has the shortcuts)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from shared.db import Database
from tests.subgraphs.stock.helpers import World, make_world


@pytest.fixture(scope="session")
async def stock_db(service_urls: Any) -> AsyncIterator[Database]:
    db = Database.for_app(pool_size=12, max_overflow=8)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def stock_url(stock_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    from shared.settings import get_settings
    from subgraphs.stock.app import create_app

    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    return await serve_app(create_app(settings, database=stock_db))


@pytest.fixture
async def world(stock_db: Database) -> World:
    return await make_world(stock_db, uuid.uuid4())
