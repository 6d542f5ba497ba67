"""Fixtures: the four shop subgraphs served on loopback ports, and gateways in front of them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import graphql
import pytest

from devstack.asgi import serve_asgi
from devstack.ports import free_port
from gateway.engine import Gateway, OperationRequest
from tests.gateway.core import shop
from tests.gateway.core.subgraph_kit import KitSubgraph


@dataclass
class Shop:
    subgraphs: dict[str, KitSubgraph]
    urls: dict[str, str]

    def supergraph(self, **overrides: str) -> str:
        return shop.supergraph({**self.urls, **overrides})

    def reset(self) -> None:
        for s in self.subgraphs.values():
            s.requests.clear()
            s.delay = 0.0


@pytest.fixture(scope="module")
async def shop_servers() -> AsyncIterator[Shop]:
    subgraphs = shop.make_subgraphs()
    async with contextlib.AsyncExitStack() as stack:
        urls = {}
        for name, sg in subgraphs.items():
            base = await stack.enter_async_context(serve_asgi(sg.app))
            urls[name] = f"{base}/graphql"
        yield Shop(subgraphs, urls)


@pytest.fixture
async def shop_env(shop_servers: Shop) -> AsyncIterator[Shop]:
    shop_servers.reset()
    yield shop_servers
    shop_servers.reset()


@pytest.fixture
async def gateway(shop_env: Shop) -> AsyncIterator[Gateway]:
    gw = Gateway.from_supergraph_sdl(shop_env.supergraph(), subgraph_timeout=5.0)
    yield gw
    await gw.close()


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/graphql"


async def run(
    gw: Gateway,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    operation_name: str | None = None,
    explain: bool = False,
) -> dict[str, Any]:
    doc = graphql.parse(query)
    errors = graphql.validate(gw.api_schema, doc)
    assert not errors, errors
    return await gw.execute(OperationRequest(doc, operation_name, variables, {}, explain))
