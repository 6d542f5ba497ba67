"""Field sets (`@key(fields:)`, `@requires(fields:)`, `@provides(fields:)`): parsing and walking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import graphql
from graphql import language as ast

from .model import Field, Kind, Subgraph, TypeDef, named_type


def parse_field_set(text: str) -> ast.SelectionSetNode:
    """Parse `a b { c }` as a selection set; raises graphql.GraphQLError on bad syntax."""
    doc = graphql.parse("{" + text + "}", no_location=True)
    op = doc.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    return op.selection_set


class FieldSetError(Exception):
    def __init__(self, code_suffix: str, message: str) -> None:
        super().__init__(message)
        self.code_suffix = code_suffix  # INVALID_FIELDS, FIELDS_HAS_ARGS, ...
        self.message = message


@dataclass(slots=True)
class Visit:
    """One field selected by a field set: its parent type, definition and selection node."""

    parent: TypeDef
    field: Field
    node: ast.FieldNode
    external_in_parents: bool


def walk(
    sub: Subgraph,
    parent: TypeDef,
    selection_set: ast.SelectionSetNode,
    on_field: Callable[[Visit], None],
    is_external: Callable[[str, str], bool] | None = None,
    external_in_parents: bool = False,
) -> None:
    """Walk a field set against a subgraph, raising FieldSetError for invalid selections."""
    for sel in selection_set.selections:
        if isinstance(sel, ast.FieldNode):
            _walk_field(sub, parent, sel, on_field, is_external, external_in_parents)
        elif isinstance(sel, ast.InlineFragmentNode):
            target = parent
            if sel.type_condition is not None:
                cond = sub.types.get(sel.type_condition.name.value)
                if cond is None or not cond.is_composite:
                    raise FieldSetError("INVALID_FIELDS", f'Unknown type "{sel.type_condition.name.value}"')
                target = cond
            walk(sub, target, sel.selection_set, on_field, is_external, external_in_parents)
        else:
            raise FieldSetError("INVALID_FIELDS", "named fragments are not allowed in field sets")


def _walk_field(
    sub: Subgraph,
    parent: TypeDef,
    sel: ast.FieldNode,
    on_field: Callable[[Visit], None],
    is_external: Callable[[str, str], bool] | None,
    external_in_parents: bool,
) -> None:
    name = sel.name.value
    if sel.alias is not None:
        raise FieldSetError(
            "INVALID_FIELDS", f'Cannot use alias "{sel.alias.value}" in "{sel.alias.value}: {name}"'
        )
    if name == "__typename":
        return
    f = parent.fields.get(name)
    if f is None or parent.kind is Kind.UNION:
        raise FieldSetError(
            "INVALID_FIELDS",
            f'Cannot query field "{name}" on type "{parent.name}" (if the field '
            "is defined in another subgraph, you need to add it to this subgraph with @external).",
        )
    on_field(Visit(parent, f, sel, external_in_parents))
    target = sub.types.get(named_type(f.type))
    composite = target is not None and target.is_composite
    if sel.selection_set is None:
        if composite:
            raise FieldSetError(
                "INVALID_FIELDS",
                f'Field "{parent.name}.{name}" of type "{ast.print_ast(f.type)}" '
                "must have a selection of subfields.",
            )
        return
    if not composite or target is None:
        raise FieldSetError(
            "INVALID_FIELDS",
            f'Field "{parent.name}.{name}" must not have a selection since type '
            f'"{ast.print_ast(f.type)}" has no subfields.',
        )
    below = external_in_parents or (is_external is not None and is_external(parent.name, name))
    walk(sub, target, sel.selection_set, on_field, is_external, below)


def target_fields(
    sub: Subgraph, parent: TypeDef, text: str, include_implementations: bool
) -> list[tuple[str, str]]:
    """(type, field) coordinates a field set selects, ignoring anything invalid (lenient)."""
    out: list[tuple[str, str]] = []
    try:
        selection = parse_field_set(text)
    except graphql.GraphQLError:
        return out
    _collect(sub, parent, selection, include_implementations, out)
    return out


def _collect(
    sub: Subgraph,
    parent: TypeDef,
    selection_set: ast.SelectionSetNode,
    impls: bool,
    out: list[tuple[str, str]],
) -> None:
    for sel in selection_set.selections:
        if isinstance(sel, ast.InlineFragmentNode):
            target = parent
            if sel.type_condition is not None:
                found = sub.types.get(sel.type_condition.name.value)
                if found is None:
                    continue
                target = found
            _collect(sub, target, sel.selection_set, impls, out)
        elif isinstance(sel, ast.FieldNode):
            f = parent.fields.get(sel.name.value)
            if f is None:
                continue
            out.append((parent.name, f.name))
            if impls and parent.kind is Kind.INTERFACE:
                for impl in sub.implementations(parent.name):
                    if f.name in impl.fields:
                        out.append((impl.name, f.name))
            child = sub.types.get(named_type(f.type))
            if sel.selection_set is not None and child is not None:
                _collect(sub, child, sel.selection_set, impls, out)
