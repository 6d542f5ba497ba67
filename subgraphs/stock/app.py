"""ASGI entry point: `uvicorn --factory subgraphs.stock.app:create_app`.

The factory's app (database, outbox relay, the saga consumers) plus the expiry sweeper.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from shared.app_factory import SubgraphRuntime, create_subgraph_app
from shared.db import Database
from shared.settings import Settings, get_settings
from subgraphs.stock.consumers import CONSUMERS
from subgraphs.stock.models import SCHEMA
from subgraphs.stock.schema import schema
from subgraphs.stock.sweeper import run_sweeper

SWEEP_INTERVAL_SECONDS = 5.0


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    sweep_interval: float = SWEEP_INTERVAL_SECONDS,
) -> Starlette:
    settings = settings or get_settings()
    app = create_subgraph_app(
        schema,
        name="stock",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=list(CONSUMERS),
    )
    if not settings.outbox_relay_enabled:  # no NATS wanted (tests of the HTTP side only)
        return app
    factory_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with factory_lifespan(app):
            runtime: SubgraphRuntime = app.state.runtime
            task = asyncio.create_task(run_sweeper(runtime.db, interval=sweep_interval), name="stock-sweeper")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan
    return app
