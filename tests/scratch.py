"""Scratch state for session fixtures: a database created for a run and dropped afterwards, and
environment variables set for a while (with `shared.settings` made to see them).

Imports are lazy, like the root conftest's: loading this module starts and imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator


async def admin_execute(admin_url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) as the server's owner."""
    import asyncpg

    from shared.db import libpq_url

    conn = await asyncpg.connect(libpq_url(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def scratch_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """A new database `<prefix>_<random>` on `admin_url`'s server (its name), dropped at the end."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    await admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_settings_cache() -> None:
    """`shared.settings.get_settings` caches the environment; make it see changed variables."""
    with contextlib.suppress(ImportError, AttributeError):
        from shared.settings import get_settings

        get_settings.cache_clear()


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set these environment variables until the block ends, then restore (or remove) them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    clear_settings_cache()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_settings_cache()
