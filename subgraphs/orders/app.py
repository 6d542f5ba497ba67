"""ASGI entry point: `uvicorn --factory subgraphs.orders.app:create_app`."""

from __future__ import annotations

from starlette.applications import Starlette

from shared.app_factory import create_subgraph_app
from shared.db import Database
from shared.settings import Settings, get_settings
from subgraphs.orders.consumers import consumer_factories
from subgraphs.orders.models import SCHEMA
from subgraphs.orders.schema import schema


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    return create_subgraph_app(
        schema,
        name="orders",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=consumer_factories(settings),
    )
