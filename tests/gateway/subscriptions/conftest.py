"""Fixtures: the two Strawberry subgraphs and a JWKS server (package scope), and gateways in front of them
with the subscription routes mounted; a small graphql-transport-ws client with a timeout on every wait."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio

from devstack.asgi import serve_asgi
from gateway.auth.layer import GatewayAuth
from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.http.app import create_app
from gateway.subscriptions.routes import subscription_routes
from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from tests.gateway.auth.keys import AUDIENCE, ISSUER, JWKSServer, SigningKey, claims, rsa_key
from tests.gateway.subscriptions import market

WAIT = 10.0  # seconds: the longest any single wait of a test may take


@dataclass
class Env:
    feed: market.Feed
    urls: dict[str, str]
    jwks_url: str
    key: SigningKey

    def supergraph(self, urls: dict[str, str] | None = None) -> str:
        urls = {**self.urls, **(urls or {})}
        return compose_supergraph(
            [
                SubgraphSource("orders", urls["orders"], market.ORDERS_SCHEMA.as_str()),
                SubgraphSource("finance", urls["finance"], market.FINANCE_SCHEMA.as_str()),
            ]
        )

    def token(self, **overrides: Any) -> str:
        return self.key.sign(claims(**overrides))


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def env_() -> AsyncIterator[Env]:
    feed = market.Feed()
    key = rsa_key("sub-1")
    jwks = JWKSServer([key])
    async with contextlib.AsyncExitStack() as stack:
        orders = await stack.enter_async_context(serve_asgi(market.make_orders(feed)))
        finance = await stack.enter_async_context(serve_asgi(market.make_finance()))
        jwks_base = await stack.enter_async_context(serve_asgi(jwks.app))
        urls = {"orders": f"{orders}/graphql", "finance": f"{finance}/graphql"}
        yield Env(feed, urls, f"{jwks_base}/.well-known/jwks.json", key)


@pytest.fixture
def env(env_: Env) -> Env:
    env_.feed.reset()
    return env_


@dataclass
class Served:
    url: str
    gateway: Gateway
    session: aiohttp.ClientSession

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    @contextlib.asynccontextmanager
    async def ws(
        self, *, protocols: tuple[str, ...] = ("graphql-transport-ws",), headers: dict[str, str] | None = None
    ) -> AsyncIterator[WSClient]:
        async with asyncio.timeout(WAIT):
            socket = await self.session.ws_connect(self.ws_url, protocols=protocols, headers=headers or {})
        try:
            yield WSClient(socket)
        finally:
            await socket.close()


ServeGateway = Callable[..., contextlib.AbstractAsyncContextManager[Served]]


@pytest.fixture
def serve_gateway(env: Env) -> ServeGateway:
    @contextlib.asynccontextmanager
    async def serve(urls: dict[str, str] | None = None, **overrides: Any) -> AsyncIterator[Served]:
        values: dict[str, Any] = {
            "jwks_url": env.jwks_url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
            "graphiql": False,
            "subscription_init_timeout": 1.0,
        }
        values.update(overrides)
        config = GatewayConfig(**values)
        gateway = Gateway.from_supergraph_sdl(env.supergraph(urls), subgraph_timeout=5.0)
        gateway.auth = GatewayAuth.from_config(
            gateway.api_schema, gateway.supergraph_schema, config, secret=market.SECRET
        )
        app = create_app(gateway, config, extra_routes=subscription_routes(gateway, config))
        async with (
            serve_asgi(app, lifespan="on") as url,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
        ):
            yield Served(url, gateway, session)

    return serve


@pytest_asyncio.fixture(loop_scope="session")
async def gw(serve_gateway: ServeGateway) -> AsyncIterator[Served]:
    async with serve_gateway() as served:
        yield served


class WSClient:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send_str(orjson.dumps(message).decode())

    async def receive(self, *, skip_pings: bool = True) -> dict[str, Any]:
        """The next protocol message; ``{"closed": code}`` when the server closed the connection."""
        while True:
            async with asyncio.timeout(WAIT):
                msg = await self.socket.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return {"closed": self.socket.close_code, "reason": msg.extra}
            message: dict[str, Any] = orjson.loads(msg.data)
            if skip_pings and message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", **({"payload": payload} if payload is not None else {})})
        return await self.receive()

    async def subscribe(self, op_id: str, query: str, **payload: Any) -> None:
        await self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, **payload}})


async def eventually(predicate: Callable[[], bool], within: float = WAIT) -> None:
    """Poll a condition on state another server changes (no event to wait on across the loopback)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
