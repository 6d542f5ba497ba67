"""The gateway's GraphQL-over-HTTP behaviour: media types, status codes, GET/POST, error codes, caches."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.gateway.http.servers import GatewayServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

GQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


async def post(
    http: aiohttp.ClientSession,
    server: GatewayServer,
    body: Any,
    *,
    accept: str | None = GQL_RESPONSE,
    headers: dict[str, str] | None = None,
    path: str = "/graphql",
) -> tuple[int, str, Any]:
    request_headers = {"content-type": "application/json", **(headers or {})}
    if accept is not None:
        request_headers["accept"] = accept
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    async with http.post(server.url + path, data=data, headers=request_headers) as response:
        return (
            response.status,
            response.headers.get("content-type", ""),
            await response.json(content_type=None),
        )


async def get(
    http: aiohttp.ClientSession, server: GatewayServer, params: dict[str, str], *, accept: str = GQL_RESPONSE
) -> tuple[int, dict[str, str], Any]:
    async with http.get(server.graphql, params=params, headers={"accept": accept}) as response:
        return response.status, dict(response.headers), await response.json(content_type=None)


async def test_query_through_the_subgraph(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    status, content_type, body = await post(
        http, gateway_server, {"query": "{ products(first: 2) { id name } }"}
    )
    assert status == 200
    assert content_type.startswith(GQL_RESPONSE) and "charset=utf-8" in content_type
    assert body == {
        "data": {"products": [{"id": "p1", "name": "Nitrile gloves"}, {"id": "p2", "name": "Angle grinder"}]}
    }


async def test_variables_operation_name_and_aliases(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    query = """
      query A { __typename }
      query B($id: ID!) { item: product(id: $id) { name cost: price } }
    """
    status, _, body = await post(
        http, gateway_server, {"query": query, "operationName": "B", "variables": {"id": "p2"}}
    )
    assert (status, body) == (200, {"data": {"item": {"name": "Angle grinder", "cost": 89.0}}})


async def test_mutation_over_post(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    query = 'mutation { renameProduct(id: "p1", name: "Gloves") { id name } }'
    status, _, body = await post(http, gateway_server, {"query": query})
    assert (status, body) == (200, {"data": {"renameProduct": {"id": "p1", "name": "Gloves"}}})


async def test_post_on_root_path(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    status, _, body = await post(http, gateway_server, {"query": "{ __typename }"}, path="/")
    assert (status, body) == (200, {"data": {"__typename": "Query"}})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (GQL_RESPONSE, GQL_RESPONSE),
        (f"{JSON};q=0.5, {GQL_RESPONSE}", GQL_RESPONSE),
        (f"{JSON}, {GQL_RESPONSE};q=0.5", JSON),
    ],
)
async def test_accept_negotiation(
    http: aiohttp.ClientSession, gateway_server: GatewayServer, accept: str | None, expected: str
) -> None:
    status, content_type, _ = await post(http, gateway_server, {"query": "{ __typename }"}, accept=accept)
    assert status == 200
    assert content_type.split(";")[0] == expected


async def test_unacceptable_accept_is_406(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    status, _, body = await post(http, gateway_server, {"query": "{ __typename }"}, accept="application/xml")
    assert status == 406
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ products { id ", "GRAPHQL_PARSE_FAILED"),
        ("{ products { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("query A { __typename } query B { __typename }", "OPERATION_RESOLUTION_FAILURE"),
    ],
)
async def test_request_errors_by_media_type(
    http: aiohttp.ClientSession, gateway_server: GatewayServer, query: str, code: str
) -> None:
    status, _, body = await post(http, gateway_server, {"query": query}, accept=GQL_RESPONSE)
    assert status == 400
    assert "data" not in body
    assert {error["extensions"]["code"] for error in body["errors"]} == {code}

    status, _, body = await post(http, gateway_server, {"query": query}, accept=JSON)
    assert status == 200
    assert "data" not in body
    assert {error["extensions"]["code"] for error in body["errors"]} == {code}


@pytest.mark.parametrize("variables", [{}, {"id": None}, {"id": {"not": "an id"}}])
async def test_variable_coercion_errors_are_request_errors(
    http: aiohttp.ClientSession, gateway_server: GatewayServer, variables: dict[str, Any]
) -> None:
    body_in = {"query": "query($id: ID!) { product(id: $id) { id } }", "variables": variables}
    status, _, body = await post(http, gateway_server, body_in, accept=GQL_RESPONSE)
    assert status == 400
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    status, _, body = await post(http, gateway_server, body_in, accept=JSON)
    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"query": "{ __typename }"', "not valid JSON"),
        (b"[]", "Batched"),
        (b'"just a string"', "JSON object"),
        (b'{"qeury": "{ __typename }"}', "'query' parameter is missing"),
        (b'{"query": 42}', "'query' parameter must be a string"),
        (b'{"query": "{ __typename }", "variables": "x"}', "'variables'"),
        (b'{"query": "{ __typename }", "extensions": [1]}', "'extensions'"),
        (b'{"query": "{ __typename }", "operationName": 1}', "'operationName'"),
        (b"", "missing"),
    ],
)
async def test_malformed_bodies_are_400(
    http: aiohttp.ClientSession, gateway_server: GatewayServer, body: bytes, fragment: str
) -> None:
    for accept in (GQL_RESPONSE, JSON):
        status, _, response = await post(http, gateway_server, body, accept=accept)
        assert status == 400
        assert fragment in response["errors"][0]["message"]
        assert response["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_content_type_is_required(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    for content_type in (None, "text/plain", "application/json; charset=latin-1"):
        headers = {"accept": GQL_RESPONSE}
        if content_type:
            headers["content-type"] = content_type
        async with http.post(
            gateway_server.graphql,
            data=b'{"query": "{ __typename }"}',
            headers=headers,
            skip_auto_headers=["content-type"],
        ) as response:
            assert response.status == 415
            body = await response.json(content_type=None)
            assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_application_graphql_body(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    async with http.post(
        gateway_server.graphql,
        data='{ product(id: "p3") { price } }',
        headers={"content-type": "application/graphql"},
    ) as response:
        assert response.status == 200
        assert await response.json() == {"data": {"product": {"price": None}}}


async def test_body_size_limit(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    padding = " " * (64 * 1024)
    status, _, body = await post(http, gateway_server, {"query": "{ __typename }" + padding})
    assert status == 413
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_get_query(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    params = {"query": "query($id: ID!) { product(id: $id) { name } }", "variables": '{"id": "p2"}'}
    status, headers, body = await get(http, gateway_server, params)
    assert status == 200
    assert headers["Content-Type"].startswith(GQL_RESPONSE)
    assert body == {"data": {"product": {"name": "Angle grinder"}}}


async def test_get_mutation_is_405(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    params = {"query": 'mutation { renameProduct(id: "p1", name: "x") { id } }'}
    for accept in (GQL_RESPONSE, JSON):
        status, headers, body = await get(http, gateway_server, params, accept=accept)
        assert status == 405
        assert headers["Allow"] == "POST"
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # No mutation ran: the subgraph never saw one.
    assert not any(
        "renameProduct" in r["body"]["query"] and '"x"' in r["body"]["query"]
        for r in gateway_server.subgraph.requests
    )


async def test_get_with_invalid_variables_json(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    status, _, body = await get(http, gateway_server, {"query": "{ __typename }", "variables": "{nope"})
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_other_methods_are_405(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    async with http.put(
        gateway_server.graphql, data=b"{}", headers={"content-type": "application/json"}
    ) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET, POST"
        assert (await resp.json(content_type=None))["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_every_error_has_a_code(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    # A resolver error in the subgraph: partial data, and the error still carries a code.
    status, _, body = await post(http, gateway_server, {"query": '{ broken product(id: "p1") { id } }'})
    assert status == 200
    assert body["data"] == {"broken": None, "product": {"id": "p1"}}
    assert body["errors"]
    for error in body["errors"]:
        assert error["extensions"]["code"]


async def test_explain_header_returns_the_plan(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    query = {"query": "{ products { id } }"}
    for header in ({"x-query-plan": "true"}, {"apollo-query-plan-experimental": "1"}):
        status, _, body = await post(http, gateway_server, query, headers=header)
        assert status == 200
        assert body["data"]["products"][0] == {"id": "p1"}
        assert "queryPlan" in body.get("extensions", {}), body
    _, _, body = await post(http, gateway_server, query)
    assert "queryPlan" not in body.get("extensions", {})


async def test_introspection_needs_no_subgraph(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    seen = len(gateway_server.subgraph.requests)
    query = "query Q { __schema { queryType { name } } ...T } fragment T on Query { __typename }"
    status, _, body = await post(http, gateway_server, {"query": query})
    assert (status, body) == (
        200,
        {"data": {"__schema": {"queryType": {"name": "Query"}}, "__typename": "Query"}},
    )
    assert len(gateway_server.subgraph.requests) == seen


async def test_inbound_headers_reach_the_engine(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    # The engine receives lower-case inbound headers; whether it forwards any is its own policy, so this
    # only checks that a request carrying extra headers is served normally.
    status, _, body = await post(
        http, gateway_server, {"query": "{ products(first: 1) { id } }"}, headers={"X-Request-Id": "abc"}
    )
    assert (status, body) == (200, {"data": {"products": [{"id": "p1"}]}})


async def test_parse_and_validation_caches(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    documents = gateway_server.app.state.graphql.documents
    query = "{ products(first: 3) { id price } }"
    parse_hits, validation_hits = documents.parsed.hits, documents.validated.hits
    for _ in range(3):
        status, _, body = await post(http, gateway_server, {"query": query})
        assert status == 200 and len(body["data"]["products"]) == 3
    assert documents.parsed.hits == parse_hits + 2
    assert documents.validated.hits == validation_hits + 2
    # A bounded LRU: 60 distinct queries leave at most 50 (the fixture's size) cached.
    for i in range(60):
        await post(http, gateway_server, {"query": f"query Q{i} {{ __typename }}"})
    assert len(documents.parsed) == 50 and len(documents.validated) == 50


async def test_healthcheck(http: aiohttp.ClientSession, gateway_server: GatewayServer) -> None:
    async with http.get(f"{gateway_server.url}/healthcheck") as response:
        assert response.status == 200
        assert await response.json() == {"status": "pass"}


async def test_subscription_over_post_is_refused(
    http: aiohttp.ClientSession, gateway_server: GatewayServer
) -> None:
    status, _, body = await post(http, gateway_server, {"query": "subscription { productChanged { id } }"})
    assert status == 400
    assert "WebSocket" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
