"""Validation errors as the client sees them: one error per distinct message, suggestions optional.

Two production concerns (graphql-cop's "Directive Overloading" and "Field Suggestions" findings):
an operation repeating one mistake N times must not buy N errors (the answer would grow with the
input), and "Did you mean ...?" hints reveal field names when introspection is off.
"""

from __future__ import annotations

import re

import graphql

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?\s*$")


def condense(errors: list[graphql.GraphQLError], *, suggestions: bool) -> tuple[graphql.GraphQLError, ...]:
    """Merge errors with the same message (their locations joined); drop suggestions unless wanted."""
    if not errors:
        return ()
    by_message: dict[str, list[graphql.GraphQLError]] = {}
    for error in errors:
        message = error.message if suggestions else _SUGGESTION.sub("", error.message)
        by_message.setdefault(message, []).append(error)
    if suggestions and len(by_message) == len(errors):
        return tuple(errors)
    return tuple(_merged(message, group) for message, group in by_message.items())


def _merged(message: str, group: list[graphql.GraphQLError]) -> graphql.GraphQLError:
    first = group[0]
    nodes = [node for error in group for node in (error.nodes or ())]
    if len(group) == 1 and message == first.message:
        return first
    return graphql.GraphQLError(message, nodes=nodes or None, source=None if nodes else first.source,
                                positions=None if nodes else first.positions,
                                original_error=first.original_error, extensions=first.extensions)
