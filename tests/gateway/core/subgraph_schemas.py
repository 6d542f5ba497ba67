"""Executable graphql-core schemas of subgraph SDLs, to validate the operations the planner sends.

A subgraph SDL carries federation directives and may extend types it never defines (fed1 style).
We drop directive applications, turn orphan extensions into definitions and add the federation
entry points (``_Any``, ``_Entity``, ``Query._entities``), which is all validation needs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import graphql
from graphql import language as ast

_EXT_TO_DEF: dict[type, type] = {
    ast.ObjectTypeExtensionNode: ast.ObjectTypeDefinitionNode,
    ast.InterfaceTypeExtensionNode: ast.InterfaceTypeDefinitionNode,
    ast.UnionTypeExtensionNode: ast.UnionTypeDefinitionNode,
    ast.EnumTypeExtensionNode: ast.EnumTypeDefinitionNode,
    ast.InputObjectTypeExtensionNode: ast.InputObjectTypeDefinitionNode,
    ast.ScalarTypeExtensionNode: ast.ScalarTypeDefinitionNode,
}


def _strip(node: Any) -> Any:
    kw: dict[str, Any] = {}
    if getattr(node, "directives", None):
        kw["directives"] = ()
    for attr in ("fields", "values", "arguments"):
        items = getattr(node, attr, None)
        if items:
            kw[attr] = tuple(_strip(i) for i in items)
    return replace(node, **kw) if kw else node


def _has_directive(node: Any, name: str) -> bool:
    return any(d.name.value == name for d in getattr(node, "directives", None) or ())


def build_subgraph_schema(sdl: str) -> graphql.GraphQLSchema:
    doc = graphql.parse(sdl)
    defined = {d.name.value for d in doc.definitions if isinstance(d, ast.TypeDefinitionNode)}
    entities: list[str] = []
    defs: list[Any] = []
    for d in doc.definitions:
        if isinstance(d, ast.SchemaDefinitionNode | ast.SchemaExtensionNode | ast.DirectiveDefinitionNode):
            continue
        if not isinstance(d, ast.TypeDefinitionNode | ast.TypeExtensionNode):
            continue
        if isinstance(d, ast.ObjectTypeDefinitionNode | ast.ObjectTypeExtensionNode) and (
            _has_directive(d, "key") or _has_directive(d, "interfaceObject")
        ):
            entities.append(d.name.value)
        node = _strip(d)
        if isinstance(d, ast.TypeExtensionNode) and d.name.value not in defined:
            cls = _EXT_TO_DEF[type(d)]
            node = cls(**{k: getattr(node, k) for k in cls.keys if hasattr(node, k)})
            defined.add(d.name.value)
        defs.append(node)
    extra = "scalar _Any\n"
    if entities:
        extra += f"union _Entity = {' | '.join(sorted(set(entities)))}\n"
        if "Query" in defined:
            extra += "extend type Query { _entities(representations: [_Any!]!): [_Entity]! }\n"
        else:
            extra += "type Query { _entities(representations: [_Any!]!): [_Entity]! }\n"
    elif "Query" not in defined:
        extra += "type Query { _service: String }\n"
    defs.extend(graphql.parse(extra).definitions)
    for name in ("FieldSet", "link__Import", "federation__FieldSet", "_FieldSet", "link__Purpose"):
        if name not in defined:
            defs.extend(graphql.parse(f"scalar {name}").definitions)
    return graphql.build_ast_schema(ast.DocumentNode(definitions=tuple(defs)), assume_valid_sdl=True)
