"""Fixtures of the finance tests: the app-role database (RLS on) and a fresh tenant per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.db import Database


@pytest.fixture(scope="session")
async def finance_db(service_urls: Any) -> AsyncIterator[Database]:
    db = Database.for_app(pool_size=6, max_overflow=4)
    try:
        yield db
    finally:
        await db.dispose()
