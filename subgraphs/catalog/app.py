"""ASGI entry point: `uvicorn --factory subgraphs.catalog.app:create_app`."""

from __future__ import annotations

from starlette.applications import Starlette

from shared.app_factory import create_subgraph_app
from shared.db import Database
from shared.settings import Settings
from subgraphs.catalog import rpc
from subgraphs.catalog.events import OrganizationProjection
from subgraphs.catalog.models import SCHEMA
from subgraphs.catalog.schema import schema


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    return create_subgraph_app(
        schema,
        name="catalog",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=[OrganizationProjection],
        rpc={"sku_info": rpc.sku_info},
    )
