"""Introspection that shows a principal only what it may use: an API schema per set of rights, with
unauthorized fields removed and object types the principal may not see dropped (cached per rights)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import graphql
from graphql import language as ast

from gateway.auth.authorize import AccessDecider
from gateway.auth.directives import Rights
from gateway.http.lru import LRUCache

_OBJECTS = (ast.ObjectTypeDefinitionNode, ast.InterfaceTypeDefinitionNode)


def _named(t: ast.TypeNode) -> str:
    while not isinstance(t, ast.NamedTypeNode):
        t = t.type  # type: ignore[attr-defined]
    return t.name.value


class IntrospectionSchemas:
    def __init__(self, api_schema: graphql.GraphQLSchema, decider: AccessDecider, size: int = 64) -> None:
        self.api_schema = api_schema
        self.decider = decider
        self._sdl = graphql.parse(graphql.print_schema(api_schema))
        self._cache: LRUCache[str, graphql.GraphQLSchema] = LRUCache(size)

    def for_rights(self, rights: Rights) -> graphql.GraphQLSchema:
        schema = self._cache.get(rights.key)
        if schema is None:
            schema = self._build(rights)
            self._cache.put(rights.key, schema)
        return schema

    def _build(self, rights: Rights) -> graphql.GraphQLSchema:
        defs: dict[str, Any] = {}
        others: list[ast.DefinitionNode] = []
        for d in self._sdl.definitions:
            if isinstance(d, ast.TypeDefinitionNode):
                defs[d.name.value] = d
            else:
                others.append(d)
        hidden = {
            name
            for name, d in defs.items()
            if isinstance(d, ast.ObjectTypeDefinitionNode) and not self._type_visible(name, rights)
        }
        for name, d in list(defs.items()):
            if isinstance(d, _OBJECTS):
                parent = self.api_schema.get_type(name)
                assert parent is not None
                kept = tuple(
                    f for f in d.fields or () if self.decider.field_allowed(parent, f.name.value, rights)
                )
                defs[name] = replace(d, fields=kept)
        query_type = self.api_schema.query_type
        query_root = query_type.name if query_type is not None else "Query"
        changed = True
        while changed:  # drop what became empty or unreachable, until nothing changes
            changed = False
            for name, d in list(defs.items()):
                if name in hidden:
                    del defs[name]
                    changed = True
                    continue
                if isinstance(d, _OBJECTS):
                    kept = tuple(f for f in d.fields or () if _named(f.type) not in hidden)
                    interfaces = tuple(i for i in d.interfaces or () if i.name.value not in hidden)
                    if not kept and name != query_root:
                        hidden.add(name)
                        changed = True
                    elif len(kept) != len(d.fields or ()) or len(interfaces) != len(d.interfaces or ()):
                        defs[name] = replace(d, fields=kept, interfaces=interfaces)
                        changed = True
                elif isinstance(d, ast.UnionTypeDefinitionNode):
                    members = tuple(t for t in d.types or () if t.name.value not in hidden)
                    if not members:
                        hidden.add(name)
                        changed = True
                    elif len(members) != len(d.types or ()):
                        defs[name] = replace(d, types=members)
                        changed = True
        # Root operation types left without fields (a Mutation type full of admin fields) disappear.
        others = [
            replace(d, operation_types=tuple(o for o in d.operation_types if o.type.name.value not in hidden))
            if isinstance(d, ast.SchemaDefinitionNode)
            else d
            for d in others
        ]
        document = ast.DocumentNode(definitions=(*others, *defs.values()))
        return graphql.build_ast_schema(document, assume_valid_sdl=True)

    def _type_visible(self, name: str, rights: Rights) -> bool:
        req = self.decider.rules.types.get(name)
        return req is None or req.allows(rights)
