"""Operation selection and the introspection-only shortcut.

An operation whose root selections are only ``__typename``, ``__schema`` and ``__type`` needs no
subgraph: it is answered from the API schema here (GraphiQL's schema fetch, health pings), so it works
even with every subgraph down and costs no planning.
"""

from __future__ import annotations

from typing import Any

import graphql
from graphql import language as ast

from gateway.http.errors import OPERATION_RESOLUTION_FAILURE, GraphQLRequestError

_INTROSPECTION_FIELDS = frozenset({"__typename", "__schema", "__type"})


def select_operation(document: ast.DocumentNode, operation_name: str | None) -> ast.OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) == 1:
            return operations[0]
        message = ("Must provide an operation." if not operations
                   else "Must provide operation name if query contains multiple operations.")
    else:
        for operation in operations:
            if operation.name is not None and operation.name.value == operation_name:
                return operation
        message = f"Unknown operation named '{operation_name}'."
    raise GraphQLRequestError([graphql.GraphQLError(message)], OPERATION_RESOLUTION_FAILURE)


def is_introspection_only(document: ast.DocumentNode, operation: ast.OperationDefinitionNode) -> bool:
    if operation.operation == ast.OperationType.SUBSCRIPTION:
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)}
    return _only_introspection(operation.selection_set, fragments, set())


def _only_introspection(selection_set: ast.SelectionSetNode, fragments: dict[str, ast.FragmentDefinitionNode],
                        seen: set[str]) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, ast.FieldNode):
            if selection.name.value not in _INTROSPECTION_FIELDS:
                return False
        elif isinstance(selection, ast.InlineFragmentNode):
            if not _only_introspection(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, ast.FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or not _only_introspection(fragment.selection_set, fragments, seen):
                return False
    return True


def execute_introspection(schema: graphql.GraphQLSchema, document: ast.DocumentNode,
                          operation_name: str | None, variables: dict[str, Any] | None) -> dict[str, Any]:
    result = graphql.execute(schema, document, operation_name=operation_name, variable_values=variables)
    if not isinstance(result, graphql.ExecutionResult):  # only with async resolvers: none here
        raise TypeError("introspection unexpectedly returned an awaitable")
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [dict(error.formatted) for error in result.errors]
    return response
