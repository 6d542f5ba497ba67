"""The safety layer through the HTTP endpoint: a gateway in front of the catalog subgraph, on loopback.

Each test starts the gateway with the settings it tries (limits, persisted queries, CSRF, CORS, rate
limits); Redis is the session's real server.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.auth.api_keys import ApiKeyRecord, RedisKeyTable
from gateway.config import GatewayConfig
from gateway.safety.persisted import query_hash
from tests.conftest import ServiceUrls, free_port
from tests.gateway.http.servers import GatewayServer, serve_gateway

pytestmark = pytest.mark.asyncio(loop_scope="session")

GQL = "application/graphql-response+json"
JSON = "application/json"
PREFLIGHT = {"apollo-require-preflight": "true"}


@contextlib.asynccontextmanager
async def gateway(**settings: Any) -> AsyncIterator[tuple[GatewayServer, aiohttp.ClientSession]]:
    config = GatewayConfig(**{"max_body_bytes": 1_048_576, **settings})
    async with serve_gateway(config) as server, aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30)) as http:
        yield server, http


async def post(http: aiohttp.ClientSession, server: GatewayServer, body: Any, *, accept: str = GQL,
               headers: dict[str, str] | None = None) -> tuple[int, Any, aiohttp.ClientResponse]:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    request_headers = {"content-type": JSON, "accept": accept, **(headers or {})}
    async with http.post(server.graphql, data=data, headers=request_headers) as response:
        return response.status, await response.json(content_type=None), response


async def get(http: aiohttp.ClientSession, server: GatewayServer, params: dict[str, str], *,
              headers: dict[str, str] | None = None) -> tuple[int, Any, aiohttp.ClientResponse]:
    request_headers = {"accept": GQL, **(headers or {})}
    async with http.get(server.graphql, params=params, headers=request_headers) as response:
        return response.status, await response.json(content_type=None), response


def codes(body: Any) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", ())]


# ---- operation limits --------------------------------------------------------------------------------


async def test_deeply_nested_query_is_refused_before_planning() -> None:
    async with gateway() as (server, http):
        deep = "{ __type(name: \"Product\") { " + "ofType { " * 30 + "name" + " }" * 30 + " } }"
        status, body, _ = await post(http, server, {"query": deep})
        assert (status, codes(body)) == (400, ["MAX_DEPTH_LIMIT"]) and "data" not in body
        status, body, _ = await post(http, server, {"query": deep}, accept=JSON)  # GraphQL-over-HTTP rules
        assert (status, codes(body)) == (200, ["MAX_DEPTH_LIMIT"])
    async with gateway(max_depth=1) as (server, http):
        before = len(server.subgraph.requests)
        status, body, _ = await post(http, server, {"query": "{ products { id } }"})
        assert (status, codes(body)) == (400, ["MAX_DEPTH_LIMIT"])
        assert len(server.subgraph.requests) == before  # never reached a subgraph
        status, body, _ = await post(http, server, {"query": "{ broken }"})
        assert status == 200 and "data" in body


async def test_alias_bomb_fragment_bomb_and_root_fields() -> None:
    async with gateway() as (server, http):
        alias_bomb = "{ products { " + " ".join(f"a{i}: name" for i in range(3000)) + " } }"
        status, body, _ = await post(http, server, {"query": alias_bomb})
        assert (status, codes(body)) == (400, ["MAX_ALIASES_LIMIT"])
        fragments = ["fragment F0 on Product { a: id b: name }"]
        fragments += [f"fragment F{i} on Product {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 30)]
        bomb = "{ products { ...F29 } } " + " ".join(fragments)
        started = time.perf_counter()
        status, body, _ = await post(http, server, {"query": bomb})
        assert time.perf_counter() - started < 20  # against blow-up only: 2^30 aliases walked would never end
        assert status == 400 and "MAX_ALIASES_LIMIT" in codes(body), body
        roots = "{ " + " ".join(f"p{i}: product(id: \"p1\") {{ id }}" for i in range(25)) + " }"
        status, body, _ = await post(http, server, {"query": roots})
        assert status == 400 and "MAX_ROOT_FIELDS_LIMIT" in codes(body)


async def test_expensive_list_nesting_is_refused_and_variables_count() -> None:
    async with gateway(max_cost=500) as (server, http):
        status, body, _ = await post(http, server, {"query": "{ products(first: 1000) { id name } }"})
        assert (status, codes(body)) == (400, ["COST_ESTIMATED_TOO_EXPENSIVE"])
        assert body["errors"][0]["extensions"]["actual"] == 2001
        query = "query($n: Int) { products(first: $n) { id name } }"
        status, body, _ = await post(http, server, {"query": query, "variables": {"n": 2}})
        assert status == 200 and len(body["data"]["products"]) == 2
        status, body, _ = await post(http, server, {"query": query, "variables": {"n": 400}})
        assert (status, codes(body)) == (400, ["COST_ESTIMATED_TOO_EXPENSIVE"])


async def test_huge_token_count_is_refused_before_parsing_and_not_cached() -> None:
    async with gateway() as (server, http):
        huge = "{ products { " + "id " * 200_000 + "} }"  # 600 kB, 200k tokens
        status, body, _ = await post(http, server, {"query": huge})
        assert (status, codes(body)) == (400, ["MAX_TOKENS_LIMIT"])
        assert huge not in list(server.app.state.graphql.documents.parsed)


async def test_huge_body_is_refused() -> None:
    async with gateway(max_body_bytes=64 * 1024) as (server, http):
        status, body, _ = await post(http, server, {"query": "{ products { id } }", "pad": "x" * 100_000})
        assert (status, codes(body)) == (413, ["BAD_REQUEST"])


async def test_graphiql_introspection_query_passes_the_limits() -> None:
    import graphql

    async with gateway() as (server, http):
        query = graphql.get_introspection_query(descriptions=True, input_value_deprecation=True)
        status, body, _ = await post(http, server, {"query": query})
        assert status == 200 and body["data"]["__schema"]["queryType"]["name"] == "Query"


# ---- persisted queries ----------------------------------------------------------------------------------


def _pq(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": query_hash(query)}}


async def test_apq_round_trip_over_get_and_post(service_urls: ServiceUrls) -> None:
    query = f"query Apq{secrets.token_hex(4)} {{ products {{ id name }} }}"
    async with gateway(redis_url=service_urls.redis_url) as (server, http):
        hash_only = {"extensions": json.dumps(_pq(query))}
        status, body, _ = await get(http, server, hash_only, headers=PREFLIGHT)
        assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"] and status == 400
        status, body, _ = await post(http, server, {"query": query, "extensions": _pq(query)})
        assert status == 200 and len(body["data"]["products"]) == 3
        status, body, _ = await get(http, server, hash_only, headers=PREFLIGHT)
        assert status == 200 and len(body["data"]["products"]) == 3
        status, body, _ = await post(http, server, {"extensions": _pq(query)})
        assert status == 200 and "errors" not in body
        status, body, _ = await post(http, server, {"query": "{ products { id } }", "extensions": _pq(query)})
        assert (status, codes(body)) == (400, ["PERSISTED_QUERY_HASH_MISMATCH"])
    redis = aioredis.from_url(service_urls.redis_url)
    try:
        assert await redis.get(f"gateway:apq:{query_hash(query)}") == query.encode()
    finally:
        await redis.aclose()
    async with gateway(redis_url=service_urls.redis_url) as (server, http):  # a fresh process: from Redis
        status, body, _ = await get(http, server, {"extensions": json.dumps(_pq(query))}, headers=PREFLIGHT)
        assert status == 200 and len(body["data"]["products"]) == 3


async def test_apq_does_not_register_invalid_documents(service_urls: ServiceUrls) -> None:
    query = "{ products { nope } }"
    async with gateway(redis_url=service_urls.redis_url) as (server, http):
        _, body, _ = await post(http, server, {"query": query, "extensions": _pq(query)})
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
        _, body, _ = await post(http, server, {"extensions": _pq(query)})
        assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_trusted_documents_only(tmp_path: Path) -> None:
    trusted = "query Trusted { products { id } }"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": query_hash(trusted), "name": "Trusted", "type": "query", "body": trusted}]}))
    async with gateway(persisted_only=True, persisted_manifest=manifest) as (server, http):
        status, body, _ = await get(http, server, {"extensions": json.dumps(_pq(trusted))}, headers=PREFLIGHT)
        assert status == 200 and len(body["data"]["products"]) == 3
        status, body, _ = await post(http, server, {"query": "{ products { name } }"})
        assert (status, codes(body)) == (400, ["PERSISTED_QUERY_ONLY"])
        other = "{ products { name } }"
        status, body, _ = await post(http, server, {"query": other, "extensions": _pq(other)})
        assert (status, codes(body)) == (400, ["PERSISTED_QUERY_ONLY"])
        status, body, _ = await post(http, server, {"extensions": _pq(other)})
        assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


# ---- CSRF and CORS --------------------------------------------------------------------------------------


async def test_csrf_refuses_simple_requests() -> None:
    async with gateway() as (server, http):
        body = json.dumps({"query": "{ __typename }"})
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            async with http.post(server.graphql, data=body, headers={"content-type": content_type}) as resp:
                payload = await resp.json(content_type=None)
                assert (resp.status, codes(payload)) == (400, ["CSRF_ERROR"])
                assert "Cross-Site Request Forgery" in payload["errors"][0]["message"]
        status, payload, _ = await get(http, server, {"query": "{ __typename }"})
        assert (status, codes(payload)) == (400, ["CSRF_ERROR"])
        # Accepted: a JSON POST, a GET with a preflight-forcing header.
        status, payload, _ = await post(http, server, {"query": "{ __typename }"})
        assert (status, payload) == (200, {"data": {"__typename": "Query"}})
        for header in ({"apollo-require-preflight": "true"}, {"x-apollo-operation-name": "Q"}):
            status, payload, _ = await get(http, server, {"query": "{ __typename }"}, headers=header)
            assert (status, payload) == (200, {"data": {"__typename": "Query"}})
        # GraphiQL: the page itself, then its JSON POSTs.
        async with http.get(server.graphql, headers={"accept": "text/html"}) as resp:
            assert resp.status == 200 and "graphiql" in (await resp.text()).lower()
        status, payload, _ = await post(http, server, {"query": "{ __schema { queryType { name } } }"},
                                        accept=f"{GQL}, {JSON};q=0.9")
        assert status == 200 and payload["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_csrf_is_configurable() -> None:
    async with gateway(csrf_prevention=False) as (server, http):
        status, _, _ = await get(http, server, {"query": "{ __typename }"})
        assert status == 200
    async with gateway(csrf_required_headers=["x-shop-client"]) as (server, http):
        status, _, _ = await get(http, server, {"query": "{ __typename }"}, headers={"x-shop-client": "pos"})
        assert status == 200
        status, _, _ = await get(http, server, {"query": "{ __typename }"}, headers=PREFLIGHT)
        assert status == 400


async def test_cors_preflight() -> None:
    origin = "https://shop.example"
    preflight = {"origin": origin, "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type, authorization"}
    async with gateway(cors_allow_origins=[origin]) as (server, http):
        async with http.options(server.graphql, headers=preflight) as resp:
            assert resp.status == 200
            assert resp.headers["access-control-allow-origin"] == origin
            assert "POST" in resp.headers["access-control-allow-methods"]
            assert "content-type" in resp.headers["access-control-allow-headers"].lower()
            assert resp.headers["access-control-max-age"] == "600"
        evil = {**preflight, "origin": "https://evil.example"}
        async with http.options(server.graphql, headers=evil) as resp:
            assert resp.status == 400 and "access-control-allow-origin" not in resp.headers
        status, _, resp = await post(http, server, {"query": "{ __typename }"}, headers={"origin": origin})
        assert status == 200 and resp.headers["access-control-allow-origin"] == origin
    # Default: no origin allowed, no CORS headers.
    async with gateway() as (server, http), http.options(server.graphql, headers=preflight) as resp:
        assert "access-control-allow-origin" not in resp.headers


# ---- rate limits ----------------------------------------------------------------------------------------


async def test_rate_limit_per_principal(service_urls: ServiceUrls) -> None:
    table = f"test:api-keys:{secrets.token_hex(4)}"
    keys = RedisKeyTable(service_urls.redis_url, table)
    erp_a, erp_b = f"key-a-{secrets.token_hex(8)}", f"key-b-{secrets.token_hex(8)}"
    for key, key_id in ((erp_a, f"a{secrets.token_hex(4)}"), (erp_b, f"b{secrets.token_hex(4)}")):
        await keys.publish(key, ApiKeyRecord(key_id, "t1", "o1", frozenset(), frozenset()))
    try:
        async with gateway(redis_url=service_urls.redis_url, rate_limit_per_minute=3, api_key_source="redis",
                           api_key_table=table) as (server, http):
            query = {"query": "{ __typename }"}
            statuses = [(await post(http, server, query, headers={"x-api-key": erp_a}))[0] for _ in range(3)]
            assert statuses == [200, 200, 200]
            status, body, resp = await post(http, server, query, headers={"x-api-key": erp_a})
            assert (status, codes(body)) == (429, ["RATE_LIMITED"])
            assert 15 <= int(resp.headers["Retry-After"]) <= 20
            status, _, _ = await post(http, server, query, headers={"x-api-key": erp_b})
            assert status == 200  # another principal keeps its budget
            assert server.app.state.graphql.safety.metrics.rate_limited == 1
            async with http.get(f"{server.url}/metrics") as metrics:  # process-wide Prometheus counters
                assert "\ngateway_rate_limited_total " in await metrics.text()
    finally:
        await keys.close()


@pytest.mark.parametrize(("fail_open", "expected"), [(True, 200), (False, 503)])
async def test_rate_limit_with_redis_down(fail_open: bool, expected: int) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    async with gateway(redis_url=down, rate_limit_per_minute=3, rate_limit_fail_open=fail_open,
                       apq=False) as (server, http):
        status, body, resp = await post(http, server, {"query": "{ __typename }"})
        assert status == expected
        if not fail_open:
            assert codes(body) == ["RATE_LIMITED"] and "Retry-After" in resp.headers
        assert server.app.state.graphql.safety.metrics.rate_limit_redis_errors == 1
        async with http.get(f"{server.url}/metrics") as metrics:  # process-wide Prometheus counters
            assert "\ngateway_rate_limit_redis_errors_total " in await metrics.text()


async def test_refused_credentials_count_against_the_client_ip(service_urls: ServiceUrls) -> None:
    table = f"test:api-keys:{secrets.token_hex(4)}"
    redis = aioredis.from_url(service_urls.redis_url)
    try:
        await redis.delete("gateway:rl:ip:127.0.0.1")  # a fresh budget for this loopback client
    finally:
        await redis.aclose()
    async with gateway(redis_url=service_urls.redis_url, rate_limit_per_minute=3, api_key_source="redis",
                       api_key_table=table) as (server, http):
        statuses = []
        for _ in range(4):
            status, body, _ = await post(http, server, {"query": "{ __typename }"},
                                         headers={"x-api-key": f"guess-{secrets.token_hex(8)}"})
            statuses.append((status, codes(body)))
        assert statuses[:3] == [(401, ["UNAUTHENTICATED"])] * 3
        assert statuses[3] == (429, ["RATE_LIMITED"])  # no free guessing of keys
