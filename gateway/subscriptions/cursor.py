"""Resumable subscriptions: the cursor contract between the gateway and the subgraphs.

A subgraph's subscription root field is resumable when it declares an argument ``cursor: String`` (resume
after this event) and its event type has a field ``cursor: String`` (this event's position, e.g. the
JetStream stream sequence). The gateway rewrites the subgraph operation of a plan's primary fetch so that
the argument is fed from a gateway variable (unless the client set it itself) and each event's cursor is
selected under a reserved alias; the cursor is then moved into the client's ``extensions.cursor``. A
subgraph may instead (or also) put the cursor in the ``extensions.cursor`` of its ``next`` payloads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import graphql
from graphql import language as ast

CURSOR_VARIABLE = "_gatewayCursor"
CURSOR_ALIAS = "_gatewayCursor"


@dataclasses.dataclass(frozen=True, slots=True)
class UpstreamOperation:
    query: str
    root_key: str | None  # response key of the root field in the subgraph's payload
    cursor_argument: bool  # the gateway feeds $_gatewayCursor
    cursor_alias: bool  # events carry _gatewayCursor on the root field's object


def rewrite_for_cursor(
    operation: str, subscription_type: graphql.GraphQLObjectType | None
) -> UpstreamOperation:
    document = graphql.parse(operation)
    op = next((d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)), None)
    if op is None or subscription_type is None:
        return UpstreamOperation(operation, None, False, False)
    root = next((s for s in op.selection_set.selections if isinstance(s, ast.FieldNode)), None)
    if root is None:
        return UpstreamOperation(operation, None, False, False)
    root_key = root.alias.value if root.alias else root.name.value
    field_def = subscription_type.fields.get(root.name.value)
    if field_def is None:
        return UpstreamOperation(operation, root_key, False, False)
    set_by_client = any(a.name.value == "cursor" for a in root.arguments or ())
    add_argument = "cursor" in field_def.args and not set_by_client
    event_type = graphql.get_named_type(field_def.type)
    add_alias = (
        isinstance(event_type, graphql.GraphQLObjectType)
        and "cursor" in event_type.fields
        and root.selection_set is not None
    )
    if not add_argument and not add_alias:
        return UpstreamOperation(operation, root_key, False, False)
    # AST nodes are read-only for type checkers: rebuild the root field, its operation and the document.
    arguments, variable_definitions = tuple(root.arguments or ()), tuple(op.variable_definitions or ())
    if add_argument:
        variable = ast.VariableNode(name=ast.NameNode(value=CURSOR_VARIABLE))
        arguments += (ast.ArgumentNode(name=ast.NameNode(value="cursor"), value=variable),)
        string = ast.NamedTypeNode(name=ast.NameNode(value="String"))
        variable_definitions += (ast.VariableDefinitionNode(variable=variable, type=string, directives=()),)
    selection_set = root.selection_set
    if add_alias and selection_set is not None:
        alias = ast.FieldNode(
            alias=ast.NameNode(value=CURSOR_ALIAS),
            name=ast.NameNode(value="cursor"),
            arguments=(),
            directives=(),
        )
        selection_set = ast.SelectionSetNode(selections=(*selection_set.selections, alias))
    new_root = ast.FieldNode(
        alias=root.alias,
        name=root.name,
        arguments=arguments,
        directives=root.directives,
        selection_set=selection_set,
    )
    selections = tuple(new_root if s is root else s for s in op.selection_set.selections)
    new_op = ast.OperationDefinitionNode(
        operation=op.operation,
        name=op.name,
        variable_definitions=variable_definitions,
        directives=op.directives,
        selection_set=ast.SelectionSetNode(selections=selections),
    )
    document = ast.DocumentNode(definitions=tuple(new_op if d is op else d for d in document.definitions))
    return UpstreamOperation(graphql.print_ast(document), root_key, add_argument, add_alias)


def take_event_cursor(upstream: UpstreamOperation, payload: dict[str, Any]) -> str | None:
    """The event's cursor (removed from the data so it never reaches shaping); None if it has none."""
    cursor: Any = None
    extensions = payload.get("extensions")
    if isinstance(extensions, dict):
        cursor = extensions.get("cursor")
    data = payload.get("data")
    if upstream.cursor_alias and upstream.root_key and isinstance(data, dict):
        event = data.get(upstream.root_key)
        if isinstance(event, dict) and CURSOR_ALIAS in event:
            aliased = event.pop(CURSOR_ALIAS)
            cursor = aliased if aliased is not None else cursor
    if cursor is None:
        return None
    return str(cursor)
