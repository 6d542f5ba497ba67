"""Seeded random valid operations over a GraphQL API schema.

Each operation is a query with nested selections, aliases, inline fragments on interfaces and unions,
``__typename`` and ``@include``/``@skip`` on Boolean variables.  Argument values come from the literals
the audit's own queries use for that argument (``ArgumentPool``), else from the argument's type.
Every operation is checked with graphql-core's validator before it is returned.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)
from graphql import language as ast

Composite = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


@dataclass
class ArgumentPool:
    """Argument literals seen in sample operations, per ``Type.field(arg:)`` and per argument name."""

    by_field: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    by_name: dict[str, list[str]] = field(default_factory=dict)

    def learn(self, schema: GraphQLSchema, query: str) -> None:
        try:
            doc = graphql.parse(query)
        except graphql.GraphQLError:
            return
        info = graphql.TypeInfo(schema)
        pool = self

        class Visitor(graphql.Visitor):
            def enter_argument(self, node: ast.ArgumentNode, *_: Any) -> None:
                parent = info.get_parent_type()
                fdef = info.get_field_def()
                if parent is None or fdef is None or isinstance(node.value, ast.VariableNode):
                    return
                text = graphql.print_ast(node.value)
                fkey = (parent.name, _field_name(fdef, parent), node.name.value)
                for values in (pool.by_field.setdefault(fkey, []), pool.by_name.setdefault(fkey[2], [])):
                    if text not in values:
                        values.append(text)

        graphql.visit(doc, graphql.TypeInfoVisitor(info, Visitor()))


def _field_name(fdef: GraphQLField, parent: Any) -> str:
    for name, f in getattr(parent, "fields", {}).items():
        if f is fdef:
            return str(name)
    return ""


@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any]


class Generator:
    def __init__(
        self, schema: GraphQLSchema, rng: random.Random, pool: ArgumentPool, *, max_depth: int = 4
    ) -> None:
        self.schema = schema
        self.rng = rng
        self.pool = pool
        self.max_depth = max_depth
        self._vars: dict[str, bool] = {}
        self._alias = 0
        self._owner_names: dict[int, list[str]] = {}
        for t in schema.type_map.values():
            if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
                for f in t.fields.values():
                    self._owner_names.setdefault(id(f), []).append(t.name)

    def operations(self, count: int, *, attempts: int = 200) -> list[Operation]:
        out: list[Operation] = []
        for _ in range(count):
            for _ in range(attempts):
                op = self.operation()
                if op is not None:
                    out.append(op)
                    break
        return out

    def operation(self) -> Operation | None:
        """One random query, or None when the attempt produced an invalid document."""
        root = self.schema.query_type
        if root is None:
            return None
        self._vars = {}
        self._alias = 0
        body = self._selection(root, 0, top=True)
        if not body:
            return None
        defs = ", ".join(f"${v}: Boolean!" for v in self._vars)
        query = (f"query({defs}) " if defs else "") + "{ " + body + " }"
        try:
            doc = graphql.parse(query)
        except graphql.GraphQLError:
            return None
        if graphql.validate(self.schema, doc):
            return None
        return Operation(query, dict(self._vars))

    # ---- selections ----------------------------------------------------------------------------

    def _selection(self, parent: Composite, depth: int, *, top: bool = False) -> str:
        rng = self.rng
        parts: list[str] = []
        if isinstance(parent, GraphQLUnionType):
            if rng.random() < 0.5:
                parts.append("__typename")
            members = list(parent.types)
            for t in rng.sample(members, k=rng.randint(1, len(members))):
                inner = self._selection(t, depth)
                if inner:
                    parts.append(f"... on {t.name} {{ {inner} }}")
            return " ".join(parts)
        fields = [(n, f) for n, f in parent.fields.items() if not n.startswith("__")]
        if not fields:
            return "__typename"
        if not top and rng.random() < 0.3:
            parts.append("__typename")
        chosen = rng.sample(fields, k=rng.randint(1, min(len(fields), 4 if top else 5)))
        for name, fdef in chosen:
            text = self._field(name, fdef, depth)
            if text:
                parts.append(text)
        if isinstance(parent, GraphQLInterfaceType) and depth < self.max_depth:
            impls = list(self.schema.get_possible_types(parent))
            if impls and rng.random() < 0.7:
                for t in rng.sample(impls, k=rng.randint(1, len(impls))):
                    inner = self._selection(t, depth)
                    if inner:
                        parts.append(f"... on {t.name} {{ {inner} }}")
        if not parts:
            parts.append("__typename")
        return " ".join(parts)

    def _field(self, name: str, fdef: GraphQLField, depth: int) -> str | None:
        rng = self.rng
        named = graphql.get_named_type(fdef.type)
        head = name
        if rng.random() < 0.2:
            self._alias += 1
            head = f"a{self._alias}: {name}"
        args = self._arguments(fdef, name)
        if args is None:
            return None
        head += args
        if rng.random() < 0.15:
            var = f"v{len(self._vars)}"
            self._vars[var] = rng.random() < 0.5
            head += f" @{rng.choice(['include', 'skip'])}(if: ${var})"
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            if depth >= self.max_depth:
                return f"{head} {{ __typename }}"
            inner = self._selection(named, depth + 1)
            return f"{head} {{ {inner or '__typename'} }}"
        return head

    # ---- arguments -----------------------------------------------------------------------------

    def _arguments(self, fdef: GraphQLField, name: str) -> str | None:
        parts: list[str] = []
        parent_names = self._owner_names.get(id(fdef), [])
        for aname, adef in fdef.args.items():
            required = isinstance(adef.type, GraphQLNonNull) and adef.default_value is graphql.Undefined
            seen: list[str] = []
            for pn in parent_names:
                seen += self.pool.by_field.get((pn, name, aname), [])
            if not required and not seen and self.rng.random() < 0.7:
                continue
            if not required and self.rng.random() < 0.3:
                continue
            value = self.rng.choice(seen) if seen else self._value(adef.type, aname, 0)
            if value is None:
                if required:
                    return None
                continue
            parts.append(f"{aname}: {value}")
        return f"({', '.join(parts)})" if parts else ""

    def _value(self, t: GraphQLInputType, name: str, depth: int) -> str | None:
        rng = self.rng
        seen = self.pool.by_name.get(name)
        if seen and rng.random() < 0.8:
            return rng.choice(seen)
        if isinstance(t, GraphQLNonNull):
            return self._value(t.of_type, name, depth)
        if isinstance(t, GraphQLList):
            inner = self._value(t.of_type, name, depth + 1)
            return None if inner is None else f"[{inner}]"
        if isinstance(t, GraphQLEnumType):
            return str(rng.choice(list(t.values)))
        if isinstance(t, GraphQLInputObjectType):
            if depth > 3:
                return None
            parts = []
            for fname, f in t.fields.items():
                req = isinstance(f.type, GraphQLNonNull)
                if req or rng.random() < 0.3:
                    v = self._value(f.type, fname, depth + 1)
                    if v is None:
                        return None
                    parts.append(f"{fname}: {v}")
            return "{" + ", ".join(parts) + "}"
        if isinstance(t, GraphQLScalarType):
            return {
                "Int": str(rng.randint(0, 3)),
                "Float": "1.5",
                "Boolean": rng.choice(["true", "false"]),
                "ID": f'"{rng.randint(1, 3)}"',
                "String": f'"{rng.randint(1, 3)}"',
            }.get(t.name, '"1"')
        return None
