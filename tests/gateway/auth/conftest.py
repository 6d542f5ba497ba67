"""Fixtures of the auth tests: the market subgraphs, a JWKS server, and gateways in front of them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from devstack.asgi import serve_asgi
from gateway.auth.layer import GatewayAuth
from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.http.app import create_app
from tests.gateway.auth import market
from tests.gateway.auth.keys import AUDIENCE, ISSUER, JWKSServer, SigningKey, ed_key, rsa_key


@dataclass
class Market:
    subgraphs: dict[str, market.GuardedSubgraph]
    urls: dict[str, str]
    jwks: JWKSServer
    jwks_url: str
    rsa: SigningKey
    ed: SigningKey
    stranger: SigningKey  # same kid as ``rsa``, never published: "wrongly signed"

    def reset(self) -> None:
        for s in self.subgraphs.values():
            s.reset()

    def supergraph(self) -> str:
        return market.supergraph(self.urls)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def market_env() -> AsyncIterator[Market]:
    subgraphs = market.make_subgraphs()
    rsa, ed = rsa_key("rsa-1"), ed_key("ed-1")
    stranger = rsa_key("rsa-1")
    jwks = JWKSServer([rsa, ed])
    async with contextlib.AsyncExitStack() as stack:
        urls = {}
        for name, sg in subgraphs.items():
            urls[name] = f"{await stack.enter_async_context(serve_asgi(sg.app))}/graphql"
        jwks_base = await stack.enter_async_context(serve_asgi(jwks.app))
        yield Market(subgraphs, urls, jwks, f"{jwks_base}/.well-known/jwks.json", rsa, ed, stranger)


@pytest.fixture
def market_(market_env: Market) -> Market:
    market_env.reset()
    return market_env


def make_gateway(env: Market, config: GatewayConfig, **auth_kwargs: Any) -> Gateway:
    gateway = Gateway.from_supergraph_sdl(env.supergraph(), subgraph_timeout=5.0)
    gateway.auth = GatewayAuth.from_config(
        gateway.api_schema, gateway.supergraph_schema, config, secret=market.SECRET, **auth_kwargs
    )
    return gateway


def auth_config(env: Market, **overrides: Any) -> GatewayConfig:
    values: dict[str, Any] = {
        "jwks_url": env.jwks_url,
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        "jwks_min_refresh_interval": 0.5,
        "graphiql": False,
    }
    values.update(overrides)
    return GatewayConfig(**values)


@dataclass
class Client:
    url: str
    session: aiohttp.ClientSession
    gateway: Gateway

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        h = {"accept": "application/graphql-response+json", **(headers or {})}
        if token is not None:
            h["authorization"] = f"Bearer {token}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        async with self.session.post(f"{self.url}/graphql", json=body, headers=h) as resp:
            return resp.status, await resp.json(content_type=None)

    async def metrics(self) -> str:
        async with self.session.get(f"{self.url}/metrics") as resp:
            return await resp.text()


ServeGateway = Callable[..., contextlib.AbstractAsyncContextManager[Client]]


@pytest.fixture
def serve_gateway(market_: Market) -> ServeGateway:
    @contextlib.asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[Client]:
        config = auth_config(market_, **overrides)
        gateway = make_gateway(market_, config)
        app = create_app(gateway, config)
        async with (
            serve_asgi(app, lifespan="on") as url,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        ):
            yield Client(url, session, gateway)

    return serve


@pytest_asyncio.fixture(loop_scope="session")
async def client(serve_gateway: ServeGateway) -> AsyncIterator[Client]:
    async with serve_gateway() as c:
        yield c
