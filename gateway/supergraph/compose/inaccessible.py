"""`@inaccessible` consistency: removing inaccessible elements must leave a valid API schema.

Same rules as Apollo: an accessible element may not reference an inaccessible type, a type may not
keep only inaccessible children, required arguments/input fields cannot be hidden, an interface
field cannot be hidden in an implementation only, and defaults cannot use hidden enum values.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import language as ast

from .directives import has_directive
from .errors import IssueCollector
from .merged import MArgument, MField, MType, Supergraph
from .model import Kind, named_type


def _hidden(directives: Sequence[ast.ConstDirectiveNode]) -> bool:
    return has_directive(directives, "inaccessible")


def check_inaccessible(sg: Supergraph, issues: IssueCollector) -> None:
    if "inaccessible" not in sg.features:
        return
    hidden_types = {name for name, t in sg.types.items() if _hidden(t.directives)}
    for name in hidden_types:
        if name in sg.roots.values() and name == "Query":
            issues.add(
                "QUERY_ROOT_TYPE_INACCESSIBLE", f'Type "{name}" is @inaccessible but is the query root type'
            )
    for t in sg.types.values():
        if t.name in hidden_types:
            continue
        _check_children(sg, t, issues)
        for f in t.fields.values():
            if _hidden(f.directives):
                _check_hidden_field(sg, t, f, issues)
                continue
            coordinate = f"{t.name}.{f.name}"
            _check_reference(coordinate, f.type, hidden_types, issues)
            _check_default(sg, coordinate, f.type, f.default, issues)
            for a in f.arguments.values():
                _check_argument(sg, f"{coordinate}({a.name}:)", a, hidden_types, issues)


def _check_children(sg: Supergraph, t: MType, issues: IssueCollector) -> None:
    children: list[Sequence[ast.ConstDirectiveNode]]
    if t.kind is Kind.ENUM:
        children = [v.directives for v in t.values.values()]
    elif t.kind is Kind.UNION:
        children = [sg.types[m].directives for m in t.members if m in sg.types]
    else:
        children = [f.directives for f in t.fields.values()]
    if children and all(_hidden(c) for c in children):
        issues.add(
            "ONLY_INACCESSIBLE_CHILDREN",
            f'Type "{t.name}" is in the API schema but all of its members are @inaccessible.',
        )


def _check_hidden_field(sg: Supergraph, t: MType, f: MField, issues: IssueCollector) -> None:
    coordinate = f"{t.name}.{f.name}"
    if t.kind is Kind.INPUT_OBJECT and f.type is not None and _required(f.type, f.default):
        issues.add(
            "REQUIRED_INACCESSIBLE",
            f'Input field "{coordinate}" is @inaccessible but is a required input field of its type.',
        )
    for itf_name in t.interfaces:
        itf = sg.types.get(itf_name)
        itf_field = itf.fields.get(f.name) if itf is not None else None
        if (
            itf is not None
            and itf_field is not None
            and not _hidden(itf.directives)
            and not _hidden(itf_field.directives)
        ):
            issues.add(
                "IMPLEMENTED_BY_INACCESSIBLE",
                f'Field "{coordinate}" is @inaccessible but implements the interface field '
                f'"{itf_name}.{f.name}", which is in the API schema.',
            )


def _check_argument(
    sg: Supergraph, coordinate: str, a: MArgument, hidden_types: set[str], issues: IssueCollector
) -> None:
    if _hidden(a.directives):
        if _required(a.type, a.default):
            issues.add(
                "REQUIRED_INACCESSIBLE",
                f'Argument "{coordinate}" is @inaccessible but is a required argument of its field.',
            )
        return
    _check_reference(coordinate, a.type, hidden_types, issues)
    _check_default(sg, coordinate, a.type, a.default, issues)


def _check_reference(
    coordinate: str, type_node: ast.TypeNode | None, hidden: set[str], issues: IssueCollector
) -> None:
    if type_node is not None and named_type(type_node) in hidden:
        issues.add(
            "REFERENCED_INACCESSIBLE",
            f'Type "{named_type(type_node)}" is @inaccessible but is referenced by "{coordinate}", '
            "which is in the API schema.",
        )


def _check_default(
    sg: Supergraph,
    coordinate: str,
    type_node: ast.TypeNode | None,
    default: ast.ConstValueNode | None,
    issues: IssueCollector,
) -> None:
    if type_node is None or default is None:
        return
    enum = sg.types.get(named_type(type_node))
    if enum is None or enum.kind is not Kind.ENUM:
        return
    values = [default] if not isinstance(default, ast.ConstListValueNode) else list(default.values)
    for v in values:
        if (
            isinstance(v, ast.EnumValueNode)
            and v.value in enum.values
            and _hidden(enum.values[v.value].directives)
        ):
            issues.add(
                "DEFAULT_VALUE_USES_INACCESSIBLE",
                f'Enum value "{enum.name}.{v.value}" is @inaccessible but is used in the default value of '
                f'"{coordinate}", which is in the API schema.',
            )


def _required(type_node: ast.TypeNode, default: ast.ConstValueNode | None) -> bool:
    return isinstance(type_node, ast.NonNullTypeNode) and default is None
