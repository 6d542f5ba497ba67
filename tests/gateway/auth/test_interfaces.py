"""Interfaces: a field selected on an interface is removed when any implementation protects it; the same
field selected through a fragment on an implementation that does not protect it keeps its data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import graphql
import pytest_asyncio

from devstack.asgi import serve_asgi
from gateway.auth.layer import GatewayAuth
from gateway.auth.principal import Principal
from gateway.config import GatewayConfig
from gateway.engine import Gateway, OperationRequest
from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from tests.gateway.core.subgraph_kit import KitSubgraph

SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@requiresScopes"])
type Query { docs: [Doc!]! }
interface Doc { id: ID! secret: String }
type A implements Doc @key(fields: "id") { id: ID! secret: String @requiresScopes(scopes: [["s"]]) }
type B implements Doc @key(fields: "id") { id: ID! secret: String }
"""
DOCS = [{"__typename": "A", "id": "a1", "secret": "sa"}, {"__typename": "B", "id": "b1", "secret": "sb"}]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def docs_gateway() -> AsyncIterator[tuple[Gateway, KitSubgraph]]:
    kit = KitSubgraph("docs", SDL, root={"Query": {"docs": lambda: DOCS}})
    async with serve_asgi(kit.app) as url:
        sdl = compose_supergraph([SubgraphSource("docs", f"{url}/graphql", SDL)])
        gateway = Gateway.from_supergraph_sdl(sdl, subgraph_timeout=5.0)
        gateway.auth = GatewayAuth.from_config(
            gateway.api_schema, gateway.supergraph_schema, GatewayConfig(), secret=b"s"
        )
        yield gateway, kit
        await gateway.close()


async def _run(gateway: Gateway, query: str, scopes: frozenset[str]) -> dict[str, object]:
    principal = Principal(tenant_id="t", method="jwt", scopes=scopes)
    return await gateway.execute(OperationRequest(graphql.parse(query), None, None, principal=principal))


async def test_interface_field_protected_by_one_implementation(
    docs_gateway: tuple[Gateway, KitSubgraph],
) -> None:
    gateway, kit = docs_gateway
    kit.requests.clear()
    body = await _run(gateway, "{ docs { id secret } }", frozenset())
    assert body["data"] == {"docs": [{"id": "a1", "secret": None}, {"id": "b1", "secret": None}]}
    assert [e["path"] for e in body["errors"]] == [["docs", "@", "secret"]]  # type: ignore[union-attr]
    assert "secret" not in kit.requests[0]["query"]


async def test_fragment_on_the_unprotected_implementation(docs_gateway: tuple[Gateway, KitSubgraph]) -> None:
    gateway, _ = docs_gateway
    body = await _run(gateway, "{ docs { id secret ... on B { secret } } }", frozenset())
    assert body["data"] == {"docs": [{"id": "a1", "secret": None}, {"id": "b1", "secret": "sb"}]}
    body = await _run(gateway, "{ docs { id ... on A { secret } ... on B { secret } } }", frozenset())
    assert body["data"] == {"docs": [{"id": "a1", "secret": None}, {"id": "b1", "secret": "sb"}]}
    assert [e["path"] for e in body["errors"]] == [["docs", "@", "secret"]]  # type: ignore[union-attr]


async def test_with_the_scope_everything_shows(docs_gateway: tuple[Gateway, KitSubgraph]) -> None:
    gateway, _ = docs_gateway
    body = await _run(gateway, "{ docs { id secret } }", frozenset({"s"}))
    assert body == {"data": {"docs": [{"id": "a1", "secret": "sa"}, {"id": "b1", "secret": "sb"}]}}
