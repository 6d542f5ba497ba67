"""Run every present subgraph's Alembic migrations: `python -m devstack.migrate [names...]`.

Migrations run as the owner (the DATABASE_URL user). The application role they create is what the
subgraphs use at run time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import async_url
from subgraphs import SUBGRAPHS, package_dir

log = logging.getLogger(__name__)
T = TypeVar("T")


def migrations_dir(name: str) -> Path | None:
    """`subgraphs/<name>/migrations` if that subgraph exists and has migrations."""
    base = package_dir(name)
    if base is None:
        return None
    path = base / "migrations"
    return path if (path / "env.py").is_file() else None


def present_subgraphs(names: Sequence[str] | None = None) -> list[str]:
    """Those of `names` (default: the registry) that have migrations; the dev stack's
    `launcher.present_subgraphs` asks instead which have an `app.py`."""
    wanted = list(names) if names is not None else [s.name for s in SUBGRAPHS]
    return [n for n in wanted if migrations_dir(n) is not None]


def alembic_config(name: str, database_url: str | None = None) -> Config:
    path = migrations_dir(name)
    if path is None:
        raise LookupError(f"subgraph {name!r} has no migrations")
    cfg = Config()
    cfg.set_main_option("script_location", str(path))
    if database_url:
        cfg.set_main_option("sqlalchemy.url", str(async_url(database_url)).replace("%", "%%"))
    return cfg


def _upgrade(connection: Connection, cfg: Config, revision: str) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade_all_async(database_url: str, names: Sequence[str] | None = None) -> None:
    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        for name in present_subgraphs(names):
            log.info("migrating %s", name)
            # One transaction per subgraph: a failing migration leaves that subgraph untouched.
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade, alembic_config(name), "head")
    finally:
        await engine.dispose()


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already runs a loop
    (pytest-asyncio fixtures, the dev stack): then it runs on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def upgrade_all(database_url: str, names: Sequence[str] | None = None) -> None:
    """Migrate every present subgraph (registry order) to head. Safe to run repeatedly."""
    run_blocking(upgrade_all_async(database_url, names))


def main(argv: Sequence[str]) -> int:
    from shared.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    upgrade_all(get_settings().database_url, list(argv) or None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
