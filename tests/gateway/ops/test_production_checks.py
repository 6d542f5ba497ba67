"""graphql-cop's twelve checks against the gateway in production mode: no finding.

graphql-cop (github.com/dolevf/graphql-cop, MIT) is the usual GraphQL security audit; its PyPI name is
an empty placeholder and it exits 0 even with findings, so the same twelve checks are written here as
our own test, each with the request graphql-cop sends and the answer it counts as a finding. The
gateway runs with ``GATEWAY_ENV=production`` defaults (introspection, GraphiQL, explain and field
suggestions off); docs/safety.md "Production mode".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from gateway.config import GatewayConfig
from tests.gateway.ops.stack import ThreadedStack

JSON_HEADERS = {"content-type": "application/json", "accept": "application/json"}


@pytest.fixture(scope="module")
def production() -> Iterator[ThreadedStack]:
    with ThreadedStack(GatewayConfig(env="production", auth=False, subscriptions=False)) as running:
        yield running


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _post(stack: ThreadedStack, query: str) -> Any:
    return _json(stack.request("POST", "/graphql", orjson.dumps({"query": query}), JSON_HEADERS)[1])


def _get(stack: ThreadedStack, query: str) -> Any:
    return _json(stack.request("GET", "/graphql?" + urlencode({"query": query}), None,
                               {"accept": "application/json"})[1])


def _data(answer: Any, key: str) -> Any:
    return (answer.get("data") or {}).get(key) if isinstance(answer, dict) else None


def _errors(answer: Any) -> list[dict[str, Any]]:
    return list(answer.get("errors") or ()) if isinstance(answer, dict) else []


# Each check returns True when graphql-cop would report a finding.
def alias_overloading(stack: ThreadedStack) -> bool:
    aliases = " ".join(f"alias{i}: __typename" for i in range(101))
    return bool(_data(_post(stack, f"query cop {{ {aliases} }}"), "alias100"))


def array_batching(stack: ThreadedStack) -> bool:
    body = orjson.dumps([{"query": "query cop { __typename }"}] * 10)
    answer = _json(stack.request("POST", "/graphql", body, JSON_HEADERS)[1])
    return isinstance(answer, list) and len(answer) >= 10


def directive_overloading(stack: ThreadedStack) -> bool:
    return len(_errors(_post(stack, "query cop { __typename " + "@aa" * 10 + " }"))) == 10


def field_suggestions(stack: ThreadedStack) -> bool:
    answer = _post(stack, "query cop { __schema { directive } }")
    return any("Did you mean" in error.get("message", "") for error in _errors(answer))


def get_query(stack: ThreadedStack) -> bool:
    return bool(_data(_get(stack, "query cop { __typename }"), "__typename"))


def graphql_ide(stack: ThreadedStack) -> bool:
    page = stack.request("GET", "/graphql", None, {"accept": "text/html"})[1].decode(errors="replace")
    words = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
    return any(word in page for word in words)


def introspection(stack: ThreadedStack) -> bool:
    schema = _data(_post(stack, "query cop { __schema { types { name fields { name } } } }"), "__schema")
    return bool(schema and schema.get("types"))


def circular_introspection(stack: ThreadedStack) -> bool:
    query = ("query cop { __schema { types { fields { type { fields { type { fields { type { fields "
             "{ type { name } } } } } } } } } } }")
    schema = _data(_post(stack, query), "__schema")
    return bool(schema and len(schema.get("types") or ()) > 25)


def get_mutation(stack: ThreadedStack) -> bool:
    return bool(_data(_get(stack, "mutation cop { __typename }"), "__typename"))


def urlencoded_post(stack: ThreadedStack) -> bool:
    body = urlencode({"query": "query cop { __typename }"}).encode()
    form = {"content-type": "application/x-www-form-urlencoded"}
    answer = _json(stack.request("POST", "/graphql", body, form)[1])
    return bool(_data(answer, "__typename"))


def trace_mode(stack: ThreadedStack) -> bool:
    answer = _post(stack, "query cop { __typename }")
    extensions = answer.get("extensions") if isinstance(answer, dict) else None
    in_errors = any("tracing" in (e.get("extensions") or {}) for e in _errors(answer))
    return in_errors or bool(extensions and "tracing" in extensions)


def unhandled_error(stack: ThreadedStack) -> bool:
    answer = _post(stack, "qwerty cop { abc }")
    return any("exception" in (error.get("extensions") or {}) for error in _errors(answer))


CHECKS: dict[str, Callable[[ThreadedStack], bool]] = {
    "Alias Overloading": alias_overloading,
    "Array-based Query Batching": array_batching,
    "Directive Overloading": directive_overloading,
    "Field Suggestions": field_suggestions,
    "GET Method Query Support": get_query,
    "GraphQL IDE": graphql_ide,
    "Introspection": introspection,
    "Introspection-based Circular Query": circular_introspection,
    "Mutation is allowed over GET (possible CSRF)": get_mutation,
    "POST based url-encoded query (possible CSRF)": urlencoded_post,
    "Trace Mode": trace_mode,
    "Unhandled Errors Detection": unhandled_error,
}


def test_production_mode_has_no_graphql_cop_finding(production: ThreadedStack) -> None:
    findings = [title for title, check in CHECKS.items() if check(production)]
    assert findings == []


def test_the_checks_do_find_a_development_gateway() -> None:
    # The checks are not vacuous: the developer defaults (GraphiQL, introspection, suggestions) are found.
    with ThreadedStack(GatewayConfig(auth=False, subscriptions=False)) as development:
        assert graphql_ide(development)
        assert introspection(development)
        assert field_suggestions(development)


def test_repeated_mistakes_are_one_error_with_every_location(production: ThreadedStack) -> None:
    errors = _errors(_post(production, "{ __typename @aa @aa @aa }"))
    assert len(errors) == 1
    assert len(errors[0]["locations"]) == 3
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_production_settings_can_be_turned_back_on_one_by_one() -> None:
    config = GatewayConfig(env="production", introspection=True)
    assert config.introspection is True
    assert (config.graphiql, config.allow_explain, config.field_suggestions) == (False, False, False)
