"""ASGI entry point: `uvicorn --factory subgraphs.pricing.app:create_app`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from shared.app_factory import SubgraphRuntime, create_subgraph_app
from shared.db import Database
from shared.settings import Settings, get_settings
from subgraphs.pricing.consumers import OrgUnitProjection
from subgraphs.pricing.models import SCHEMA
from subgraphs.pricing.rpc import PricingResponder
from subgraphs.pricing.schema import schema


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    app = create_subgraph_app(
        schema,
        name="pricing",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=[OrgUnitProjection],
    )
    if not settings.outbox_relay_enabled:  # no NATS wanted (tests of the HTTP side only)
        return app
    factory_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The factory's lifespan (database, relay, consumers) plus the `svc.pricing` responder.
        async with factory_lifespan(app):
            runtime: SubgraphRuntime = app.state.runtime
            responder = PricingResponder(runtime.db, settings)
            app.state.pricing_responder = responder
            task = asyncio.create_task(responder.run(), name="pricing-rpc")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan
    return app
