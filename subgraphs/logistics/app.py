"""ASGI entry point: `uvicorn --factory subgraphs.logistics.app:create_app`.

Besides `/graphql` and `/healthz` (the factory's), the app serves the carriers' signed tracking
webhook (`POST /webhooks/carriers/{tenant_id}/{carrier_id}`, webhooks.py) and, with NATS on, runs
the batch jobs (pick waves, stale-shipment exceptions) in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.app_factory import SubgraphRuntime, create_subgraph_app
from shared.db import Database
from shared.settings import Settings, get_settings
from subgraphs.logistics import jobs, webhooks
from subgraphs.logistics.consumers import OrderEvents, StockReserved
from subgraphs.logistics.models import SCHEMA
from subgraphs.logistics.schema import schema

JOBS_EVERY_SECONDS = 30.0


def create_app(
    settings: Settings | None = None, *, database: Database | None = None, run_jobs: bool | None = None
) -> Starlette:
    """`run_jobs`: run the wave and exception jobs in this process (default: when events are on)."""
    settings = settings or get_settings()
    app = create_subgraph_app(
        schema,
        name="logistics",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=[OrderEvents, StockReserved],
    )

    async def carrier_webhook(request: Request) -> Response:
        runtime: SubgraphRuntime = request.app.state.runtime
        response = await webhooks.handle(request, runtime.db)
        runtime.wake_relay()
        return response

    app.router.routes.append(
        Route("/webhooks/carriers/{tenant_id}/{carrier_id}", carrier_webhook, methods=["POST"])
    )
    if not (settings.outbox_relay_enabled if run_jobs is None else run_jobs):
        return app
    factory_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with factory_lifespan(app):
            runtime: SubgraphRuntime = app.state.runtime
            task = asyncio.create_task(
                jobs.run_forever(runtime.db, every=JOBS_EVERY_SECONDS), name="logistics-jobs"
            )
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan
    return app
