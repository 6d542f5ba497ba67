"""`@listSize` usage checks (demand control), with Apollo's error codes and messages (composition 2.9.2+)."""

from __future__ import annotations

from graphql import language as ast

from .errors import IssueCollector
from .model import Field, Kind, Subgraph, TypeDef, named_type


def validate_list_sizes(sub: Subgraph, issues: IssueCollector) -> None:
    for t in sub.types.values():
        if t.kind not in (Kind.OBJECT, Kind.INTERFACE):
            continue
        for f in t.fields.values():
            for d in f.directives:
                if d.name.value == "listSize":
                    _validate(sub, t, f, d, issues)


def _args(d: ast.ConstDirectiveNode) -> dict[str, ast.ConstValueNode]:
    return {a.name.value: a.value for a in d.arguments or ()}


def _strings(value: ast.ConstValueNode | None) -> list[str]:
    if isinstance(value, ast.ListValueNode):
        return [v.value for v in value.values if isinstance(v, ast.StringValueNode)]
    if isinstance(value, ast.StringValueNode):
        return [value.value]
    return []


def _is_list(type_node: ast.TypeNode) -> bool:
    inner = type_node.type if isinstance(type_node, ast.NonNullTypeNode) else type_node
    return isinstance(inner, ast.ListTypeNode)


def _is_int(type_node: ast.TypeNode) -> bool:
    inner = type_node.type if isinstance(type_node, ast.NonNullTypeNode) else type_node
    return isinstance(inner, ast.NamedTypeNode) and inner.name.value == "Int"


def _validate(sub: Subgraph, t: TypeDef, f: Field, d: ast.ConstDirectiveNode, issues: IssueCollector) -> None:
    coordinate = f"{t.name}.{f.name}"
    args = _args(d)
    sized = _strings(args.get("sizedFields"))
    where = f"[{sub.name}] "
    if not sized and not _is_list(f.type):
        issues.add("LIST_SIZE_APPLIED_TO_NON_LIST", f'{where}"{coordinate}" is not a list', f.location)
    assumed = args.get("assumedSize")
    if isinstance(assumed, ast.IntValueNode) and int(assumed.value) < 0:
        message = f'{where}Assumed size of "{coordinate}" cannot be negative'
        issues.add("LIST_SIZE_INVALID_ASSUMED_SIZE", message, f.location)
    for name in _strings(args.get("slicingArguments")):
        argument = f.arguments.get(name)
        if argument is None:
            issues.add("LIST_SIZE_INVALID_SLICING_ARGUMENT",
                       f'{where}Slicing argument "{name}" is not an argument of "{coordinate}"', f.location)
        elif not _is_int(argument.type):
            issues.add("LIST_SIZE_INVALID_SLICING_ARGUMENT",
                       f'{where}Slicing argument "{coordinate}({name}:)" must be Int or Int!', f.location)
    if not sized:
        return
    target = sub.types.get(named_type(f.type))
    if target is None or target.kind not in (Kind.OBJECT, Kind.INTERFACE, Kind.UNION):
        issues.add("LIST_SIZE_INVALID_SIZED_FIELD",
                   f'{where}Sized fields cannot be used because "{coordinate}" is not a composite type',
                   f.location)
        return
    for name in sized:
        sized_field = target.fields.get(name)
        if sized_field is None:
            issues.add("LIST_SIZE_INVALID_SIZED_FIELD",
                       f'{where}Sized field "{name}" is not a field on type "{target.name}"', f.location)
        elif not _is_list(sized_field.type):
            issues.add("LIST_SIZE_APPLIED_TO_NON_LIST",
                       f'{where}Sized field "{target.name}.{name}" is not a list', f.location)
