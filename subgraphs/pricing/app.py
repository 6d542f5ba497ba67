"""ASGI entry point: `uvicorn --factory subgraphs.pricing.app:create_app`."""

from __future__ import annotations

from starlette.applications import Starlette

from shared.app_factory import create_subgraph_app
from shared.db import Database
from shared.settings import Settings
from subgraphs.pricing.consumers import OrgUnitProjection
from subgraphs.pricing.models import SCHEMA
from subgraphs.pricing.schema import schema


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    return create_subgraph_app(
        schema,
        name="pricing",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=[OrgUnitProjection],
    )
