"""Fixtures of the logistics tests: the app on the real database (application role, RLS on) with
its consumers and relay on the real NATS, and a fresh tenant per test with two warehouses and two
sandbox carriers (helpers.py has the event and GraphQL helpers)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nats
import pytest

from shared.db import Database
from shared.settings import get_settings
from tests.subgraphs.logistics.helpers import World, make_world


@pytest.fixture(scope="session")
async def logistics_db(service_urls: Any) -> AsyncIterator[Database]:
    db = Database.for_app(pool_size=6, max_overflow=2)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def world(
    logistics_db: Database, serve_app: Callable[[Any], Awaitable[str]], service_urls: Any
) -> AsyncIterator[World]:
    """The app with events on (consumers of ORDERS/STOCK, relay to LOGISTICS), no background jobs
    (tests run them by hand), and a NATS client for the test to publish with."""
    from subgraphs.logistics.app import create_app

    settings = get_settings().model_copy(update={"outbox_poll_interval": 0.2})
    app = create_app(settings, database=logistics_db, run_jobs=False)
    url = await serve_app(app)
    nc = await nats.connect(service_urls.nats_url)
    try:
        yield await make_world(url, logistics_db, nc, uuid.uuid4())
    finally:
        await nc.close()


@pytest.fixture
async def http_world(logistics_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> World:
    """The app without NATS: GraphQL and webhooks only; events are fed through the service."""
    from subgraphs.logistics.app import create_app

    settings = get_settings().model_copy(update={"outbox_relay_enabled": False})
    url = await serve_app(create_app(settings, database=logistics_db))
    return await make_world(url, logistics_db, None, uuid.uuid4())
