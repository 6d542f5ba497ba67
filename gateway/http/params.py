"""GraphQL request parameters from a GET query string or a POST JSON body, checked per the spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.http.errors import PERSISTED_QUERY_NOT_SUPPORTED, HTTPRequestError


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


def _optional_map(value: Any, name: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise HTTPRequestError(400, f"The '{name}' parameter must be a JSON object or null.")


def params_from_body(body: Any, *, persisted: bool = False) -> GraphQLParams:
    """``persisted``: a request may omit ``query`` when it names a persisted query (gateway/safety)."""
    if isinstance(body, list):
        raise HTTPRequestError(400, "Batched requests are not supported: send one operation per request.")
    if not isinstance(body, dict):
        raise HTTPRequestError(400, "The request body must be a JSON object.")
    variables = _optional_map(body.get("variables"), "variables")
    extensions = _optional_map(body.get("extensions"), "extensions")
    return _params(body.get("query"), body.get("operationName"), variables, extensions, persisted)


def _json_param(params: Mapping[str, str], name: str) -> dict[str, Any] | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HTTPRequestError(400, f"The '{name}' parameter is not valid JSON.") from None
    return _optional_map(value, name)


def params_from_query_string(params: Mapping[str, str], *, persisted: bool = False) -> GraphQLParams:
    operation_name = params.get("operationName") or None
    return _params(params.get("query"), operation_name, _json_param(params, "variables"),
                   _json_param(params, "extensions"), persisted)


def _params(query: Any, operation_name: Any, variables: dict[str, Any] | None,
            extensions: dict[str, Any] | None, persisted: bool = False) -> GraphQLParams:
    if query is None or query == "":
        if extensions and "persistedQuery" in extensions:
            if persisted:  # the query text is looked up by its hash (gateway/safety/persisted.py)
                return GraphQLParams("", _operation_name(operation_name), variables, extensions)
            raise HTTPRequestError(400, "Persisted queries are not supported by this endpoint.",
                                   PERSISTED_QUERY_NOT_SUPPORTED)
        raise HTTPRequestError(400, "The 'query' parameter is missing.")
    if not isinstance(query, str):
        raise HTTPRequestError(400, "The 'query' parameter must be a string.")
    return GraphQLParams(query, _operation_name(operation_name), variables, extensions)


def _operation_name(operation_name: Any) -> str | None:
    if operation_name is not None and not isinstance(operation_name, str):
        raise HTTPRequestError(400, "The 'operationName' parameter must be a string or null.")
    return operation_name
