"""Pure pieces of the HTTP layer: Accept negotiation, parameter checks, the LRU, introspection detection."""

from __future__ import annotations

from typing import Any

import graphql
import pytest

from gateway.http.errors import HTTPRequestError, ensure_error_codes
from gateway.http.lru import LRUCache
from gateway.http.media import GRAPHQL_RESPONSE_JSON, JSON, negotiate_response_type, prefers_html
from gateway.http.operations import is_introspection_only, select_operation
from gateway.http.params import params_from_body, params_from_query_string


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("application/*", JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=bad, */*;q=0.1", JSON),
        ("text/html", None),
        ("text/plain;q=1, application/json;q=0", None),
    ],
)
def test_negotiation(accept: str | None, expected: str | None) -> None:
    assert negotiate_response_type(accept) == expected


def test_prefers_html() -> None:
    assert prefers_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert not prefers_html("application/json, text/html;q=0.5")
    assert not prefers_html("*/*")
    assert not prefers_html(None)


def test_params_from_query_string() -> None:
    params = params_from_query_string({"query": "{ a }", "operationName": "", "variables": '{"x": 1}'})
    assert (params.query, params.operation_name, params.variables, params.extensions) == (
        "{ a }",
        None,
        {"x": 1},
        None,
    )
    with pytest.raises(HTTPRequestError) as info:
        params_from_query_string({"query": "{ a }", "extensions": "[1]"})
    assert info.value.status == 400


def test_persisted_query_without_text_is_refused_with_its_own_code() -> None:
    with pytest.raises(HTTPRequestError) as info:
        params_from_body({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}})
    assert info.value.body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"


def test_lru_evicts_least_recently_used() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert list(cache) == ["a", "c"]
    assert (cache.get("b"), cache.hits, cache.misses) == (None, 1, 1)
    disabled: LRUCache[str, int] = LRUCache(0)
    disabled.put("a", 1)
    assert len(disabled) == 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ __typename }", True),
        ('query { __schema { types { name } } __type(name: "Query") { name } }', True),
        ("{ ...F } fragment F on Query { __typename ... on Query { __typename } }", True),
        ("{ __typename products { id } }", False),
        ("{ ...F } fragment F on Query { products { id } }", False),
        ("subscription { __typename }", False),
    ],
)
def test_introspection_only(query: str, expected: bool) -> None:
    document = graphql.parse(query)
    assert is_introspection_only(document, select_operation(document, None)) is expected


def test_ensure_error_codes_keeps_existing_codes() -> None:
    response: dict[str, Any] = {
        "data": None,
        "errors": [
            {"message": "a"},
            {"message": "b", "extensions": {"code": "GATEWAY_TIMEOUT"}},
            {"message": "c", "extensions": {"service": "x"}},
        ],
    }
    ensure_error_codes(response)
    assert [e["extensions"]["code"] for e in response["errors"]] == [
        "INTERNAL_SERVER_ERROR",
        "GATEWAY_TIMEOUT",
        "INTERNAL_SERVER_ERROR",
    ]
    assert response["errors"][2]["extensions"]["service"] == "x"
