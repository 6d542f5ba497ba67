"""Request errors of the HTTP layer and their GraphQL-shaped bodies (every error has extensions.code)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import graphql

# Codes used by the HTTP layer; the engine adds its own (SUBREQUEST_HTTP_ERROR, GATEWAY_TIMEOUT, ...).
BAD_REQUEST = "BAD_REQUEST"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class HTTPRequestError(Exception):
    """A request that is not a well-formed GraphQL-over-HTTP request: same status for every media type."""

    def __init__(self, status: int, message: str, code: str = BAD_REQUEST,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"errors": [{"message": message, "extensions": {"code": code}}]}
        self.headers = headers or {}


class GraphQLRequestError(Exception):
    """A well-formed request the GraphQL service refuses before execution (parse, validation, variables).

    Per the spec: 400 with application/graphql-response+json (and no data entry), 200 with application/json.
    """

    def __init__(self, errors: Iterable[graphql.GraphQLError], code: str) -> None:
        super().__init__(code)
        self.errors = [format_error(error, code) for error in errors]


def format_error(error: graphql.GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", code)
    formatted["extensions"] = extensions
    return formatted


def ensure_error_codes(response: dict[str, Any], default_code: str = INTERNAL_SERVER_ERROR) -> None:
    """Give every error in an engine response an extensions.code (in place)."""
    errors = response.get("errors")
    if not errors:
        return
    for error in errors:
        extensions = error.get("extensions")
        if extensions is None:
            error["extensions"] = {"code": default_code}
        elif "code" not in extensions:
            extensions["code"] = default_code
