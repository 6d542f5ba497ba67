"""The catalog subgraph with our gateway in front of it, both in-process on free loopback ports."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette

from devstack.asgi import serve_asgi
from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.http.app import create_app
from tests.gateway.http.catalog_subgraph import CatalogSubgraph, supergraph_sdl


@dataclass(frozen=True, slots=True)
class GatewayServer:
    url: str  # base URL, no trailing slash
    subgraph: CatalogSubgraph
    supergraph: str
    app: Starlette

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"


@contextlib.asynccontextmanager
async def serve_gateway(config: GatewayConfig) -> AsyncIterator[GatewayServer]:
    subgraph = CatalogSubgraph()
    async with serve_asgi(subgraph.app) as subgraph_url:
        sdl = supergraph_sdl(f"{subgraph_url}/graphql")
        gateway = Gateway.from_supergraph_sdl(sdl, subgraph_timeout=5.0)
        app = create_app(gateway, config)
        async with serve_asgi(app, lifespan="on") as url:
            yield GatewayServer(url, subgraph, sdl, app)
