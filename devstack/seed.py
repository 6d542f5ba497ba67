"""Load demo data: `python -m devstack.seed`. Runs every present subgraph's `seed.seed(db)` in
registry order (orgs first: the others refer to its tenants and organizations).

A subgraph's `seed.py` defines `async def seed(db: shared.db.Database) -> None`, writes through
`db.tenant_session(tenant_id)` (RLS applies even to the owner, FORCE ROW LEVEL SECURITY), and must
be idempotent: fixed ids (`shared.ids.stable_id`) and `INSERT ... ON CONFLICT DO NOTHING`.
Seeds run as the owner (DATABASE_URL), like migrations.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from shared.db import Database
from subgraphs import SUBGRAPHS

log = logging.getLogger(__name__)

SeedFn = Callable[[Database], Awaitable[None]]


def seed_functions(names: Sequence[str] | None = None) -> list[tuple[str, SeedFn]]:
    wanted = list(names) if names is not None else [s.name for s in SUBGRAPHS]
    found: list[tuple[str, SeedFn]] = []
    for name in wanted:
        module_name = f"subgraphs.{name}.seed"
        if (
            importlib.util.find_spec(f"subgraphs.{name}") is None
            or importlib.util.find_spec(module_name) is None
        ):
            continue
        module = importlib.import_module(module_name)
        fn = getattr(module, "seed", None)
        if callable(fn):
            found.append((name, cast(SeedFn, fn)))
    return found


async def seed_all(database_url: str, names: Sequence[str] | None = None) -> None:
    """Seed every present subgraph. Idempotent."""
    db = Database.from_url(database_url, pool_size=2, max_overflow=0)
    try:
        for name, fn in seed_functions(names):
            log.info("seeding %s", name)
            await fn(db)
    finally:
        await db.dispose()


def main(argv: Sequence[str]) -> int:
    from shared.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(seed_all(get_settings().database_url, list(argv) or None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
