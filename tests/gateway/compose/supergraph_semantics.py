"""A semantic summary of a supergraph SDL, to compare two supergraphs ignoring order and layout."""

from __future__ import annotations

from typing import Any

import graphql
from graphql import language as ast

_FIELD_SET_ARGS = frozenset({"key", "requires", "provides"})


def _field_set(text: str) -> str:
    try:
        doc = graphql.parse("{" + text + "}", no_location=True)
    except graphql.GraphQLError:
        return text
    return " ".join(ast.print_ast(doc).split())[1:-1].strip()


def _directive(d: ast.DirectiveNode) -> str:
    args = []
    for a in sorted(d.arguments or (), key=lambda a: a.name.value):
        value = a.value
        if a.name.value in _FIELD_SET_ARGS and isinstance(value, ast.StringValueNode):
            args.append(f"{a.name.value}={_field_set(value.value)!r}")
        else:
            args.append(f"{a.name.value}={ast.print_ast(value)}")
    return f"@{d.name.value}({', '.join(args)})"


def _directives(node: Any) -> list[str]:
    return sorted(_directive(d) for d in getattr(node, "directives", None) or ())


def _description(node: Any) -> str | None:
    desc = getattr(node, "description", None)
    return None if desc is None else " ".join(desc.value.split())


def _arg(node: ast.InputValueDefinitionNode) -> dict[str, Any]:
    return {
        "type": ast.print_ast(node.type),
        "default": None if node.default_value is None else ast.print_ast(node.default_value),
        "directives": _directives(node),
        "description": _description(node),
    }


def summarize(sdl: str) -> dict[str, Any]:
    """Element name -> comparable facts (kind, fields, argument types, join__ applications, ...)."""
    doc = graphql.parse(sdl, no_location=True)
    out: dict[str, Any] = {}
    for d in doc.definitions:
        if isinstance(d, ast.SchemaDefinitionNode):
            out["schema"] = {
                "operations": sorted(f"{o.operation.value}:{o.type.name.value}" for o in d.operation_types),
                "directives": _directives(d),
            }
        elif isinstance(d, ast.DirectiveDefinitionNode):
            out[f"@{d.name.value}"] = " ".join(ast.print_ast(d).split())
        elif isinstance(d, ast.TypeDefinitionNode):
            entry: dict[str, Any] = {
                "kind": type(d).__name__,
                "directives": _directives(d),
                "description": _description(d),
            }
            if isinstance(d, ast.ObjectTypeDefinitionNode | ast.InterfaceTypeDefinitionNode):
                entry["interfaces"] = sorted(i.name.value for i in d.interfaces or ())
            if isinstance(d, ast.UnionTypeDefinitionNode):
                entry["members"] = sorted(t.name.value for t in d.types or ())
            if isinstance(d, ast.EnumTypeDefinitionNode):
                entry["values"] = {
                    v.name.value: {"directives": _directives(v), "description": _description(v)}
                    for v in d.values or ()
                }
            fields = getattr(d, "fields", None)
            if fields is not None:
                entry["fields"] = {}
                for f in fields:
                    fe = (
                        _arg(f)
                        if isinstance(f, ast.InputValueDefinitionNode)
                        else {
                            "type": ast.print_ast(f.type),
                            "directives": _directives(f),
                            "description": _description(f),
                            "arguments": {a.name.value: _arg(a) for a in f.arguments or ()},
                        }
                    )
                    entry["fields"][f.name.value] = fe
            out[d.name.value] = entry
    return out


def differences(actual: str, expected: str) -> list[str]:
    """Human-readable differences between two supergraph SDLs (empty when semantically equal)."""
    a, e = summarize(actual), summarize(expected)
    diffs: list[str] = []
    _diff(a, e, "", diffs)
    return diffs


def _diff(a: Any, e: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(e, dict):
        for key in sorted(set(a) | set(e)):
            sub = f"{path}.{key}" if path else key
            if key not in a:
                out.append(f"missing {sub}: expected {e[key]!r}")
            elif key not in e:
                out.append(f"unexpected {sub}: {a[key]!r}")
            else:
                _diff(a[key], e[key], sub, out)
    elif a != e:
        out.append(f"{path}: got {a!r}, expected {e!r}")
