"""Normalized operations: fragments inlined, @skip/@include kept as conditions, selections split per
concrete type.

Planning and response shaping both walk this tree.  ``@skip``/``@include`` with a literal are applied;
with a variable they become the field's ``cond`` (``conditions.py``), so one plan serves every value.

A composite field holds, for every object type it
may return, the fields collected for that type (GraphQL CollectFields), so the planner always knows the
concrete type it is placing fields for, and the shaper picks the list by the runtime ``__typename``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import language as ast

from gateway.planning.conditions import FALSE, TRUE, Cond, and_, literal, or_


@dataclass(slots=True)
class NField:
    key: str  # response key (alias or name)
    name: str
    args: tuple[ast.ArgumentNode, ...]
    type_name: str  # named type in the supergraph
    # type wrappers outermost first: "!" non-null, "[" list; e.g. "[Book!]!" -> ("!", "[", "!")
    wrap: tuple[str, ...]
    # composite fields: concrete object type -> fields; "" holds fields selected on the abstract type itself
    sub: dict[str, list[NField]] | None = None
    is_abstract: bool = False
    variables: frozenset[str] = field(default_factory=frozenset)
    # The client's response key when ``key`` had to differ: an alias that is also the name of another
    # field of the type (``{ id: sku }``) would collide with key fields the planner adds itself.
    out_key: str = ""
    # @skip/@include on variables: when the field is in the response, given its parent is (TRUE: always)
    cond: Cond = TRUE

    def __post_init__(self) -> None:
        if not self.out_key:
            self.out_key = self.key


def type_wrappers(t: graphql.GraphQLOutputType | graphql.GraphQLInputType) -> tuple[tuple[str, ...], Any]:
    wrap: list[str] = []
    while True:
        if isinstance(t, graphql.GraphQLNonNull):
            wrap.append("!")
            t = t.of_type
        elif isinstance(t, graphql.GraphQLList):
            wrap.append("[")
            t = t.of_type
        else:
            return tuple(wrap), t


def _variables_in(args: tuple[ast.ArgumentNode, ...]) -> frozenset[str]:
    names: set[str] = set()

    class _V(graphql.Visitor):
        def enter_variable(self, node: ast.VariableNode, *_: Any) -> None:
            names.add(node.name.value)

    for a in args:
        graphql.visit(a, _V())
    return frozenset(names)


_COMPOSITE = (graphql.GraphQLObjectType, graphql.GraphQLInterfaceType, graphql.GraphQLUnionType)


class Normalizer:
    """Turns selection sets into per-concrete-type ``NField`` lists against the supergraph schema."""

    def __init__(
        self,
        schema: graphql.GraphQLSchema,
        fragments: dict[str, ast.FragmentDefinitionNode],
        variables: dict[str, Any],
        static: frozenset[str] = frozenset(),
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        # Condition variables decided now, from ``variables`` (the others are evaluated at execution).
        self.static = static
        self._bases: dict[int, Cond] = {}

    def _condition(self, node: Any) -> Cond:
        """The node's own @skip/@include: literals decide now, variables become a condition."""
        cond = TRUE
        for d in node.directives or ():
            name = d.name.value
            if name not in ("skip", "include"):
                continue
            arg = next((a.value for a in d.arguments or () if a.name.value == "if"), None)
            if isinstance(arg, ast.VariableNode) and arg.name.value not in self.static:
                cond = and_(cond, literal(arg.name.value, name == "include"))
                continue
            val: Any = True
            if arg is not None:
                val = graphql.value_from_ast(arg, graphql.GraphQLBoolean, self.variables)
            if (name == "skip") == (val is True):
                return FALSE
        return cond

    def _included(self, node: Any) -> bool:
        return self._condition(node) != FALSE

    def _applies(self, cond: str | None, runtime: graphql.GraphQLNamedType) -> bool:
        if cond is None or cond == runtime.name:
            return True
        ct = self.schema.get_type(cond)
        if isinstance(runtime, graphql.GraphQLObjectType) and isinstance(
            ct, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType
        ):
            return self.schema.is_sub_type(ct, runtime)
        return False

    def collect(
        self,
        runtime: graphql.GraphQLNamedType,
        sel: ast.SelectionSetNode,
        out: dict[str, list[ast.FieldNode]],
        visited: set[str] | None = None,
    ) -> None:
        self._collect(runtime, sel, out, {}, TRUE)

    def _collect(
        self,
        runtime: graphql.GraphQLNamedType,
        sel: ast.SelectionSetNode,
        out: dict[str, list[ast.FieldNode]],
        conds: dict[int, Cond],
        cond: Cond,
    ) -> None:
        """GraphQL CollectFields, recording in ``conds`` (by node id) when each field node applies."""
        for s in sel.selections:
            c = and_(cond, self._condition(s))
            if c == FALSE:
                continue
            if isinstance(s, ast.FieldNode):
                key = s.alias.value if s.alias else s.name.value
                nodes = out.setdefault(key, [])
                if id(s) in conds:
                    conds[id(s)] = or_(conds[id(s)], c)
                else:
                    nodes.append(s)
                    conds[id(s)] = c
            elif isinstance(s, ast.InlineFragmentNode):
                tc = s.type_condition.name.value if s.type_condition else None
                if self._applies(tc, runtime):
                    self._collect(runtime, s.selection_set, out, conds, c)
            elif isinstance(s, ast.FragmentSpreadNode):
                frag = self.fragments.get(s.name.value)
                if frag is None:
                    continue
                if self._applies(frag.type_condition.name.value, runtime):
                    self._collect(runtime, frag.selection_set, out, conds, c)

    def fields_for(self, parent: graphql.GraphQLNamedType, nodes: list[ast.SelectionSetNode]) -> list[NField]:
        grouped: dict[str, list[ast.FieldNode]] = {}
        conds: dict[int, Cond] = {}
        for sel in nodes:
            # A selection of a field whose nodes apply under different conditions keeps its node's.
            self._collect(parent, sel, grouped, conds, self._bases.get(id(sel), TRUE))
        result: list[NField] = []
        for key, fnodes in grouped.items():
            first = fnodes[0]
            name = first.name.value
            node_conds = [conds[id(n)] for n in fnodes]
            cond = node_conds[0]
            for c in node_conds[1:]:
                cond = or_(cond, c)
            if name == "__typename":
                result.append(NField(key, name, (), "String", ("!",), cond=cond))
                continue
            if name in ("__schema", "__type"):
                # Answered by the gateway's own introspection; passed through as is.
                result.append(NField(key, name, tuple(first.arguments or ()), "__" + name, (), cond=cond))
                continue
            if not isinstance(parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
                continue
            fdef = parent.fields.get(name)
            if fdef is None:
                continue
            wrap, named = type_wrappers(fdef.type)
            args = tuple(first.arguments or ())
            data_key = key
            if key != name and key in parent.fields:
                data_key = f"{key}__{name}"
            nf = NField(
                data_key, name, args, named.name, wrap, variables=_variables_in(args), out_key=key, cond=cond
            )
            if isinstance(named, _COMPOSITE):
                subsels = [n.selection_set for n in fnodes if n.selection_set is not None]
                differ = any(c != cond for c in node_conds)
                for n, c in zip(fnodes, node_conds, strict=True):
                    if n.selection_set is not None:
                        self._bases[id(n.selection_set)] = c if differ else TRUE
                nf.sub = self.sub_for(named, subsels)
                nf.is_abstract = not isinstance(named, graphql.GraphQLObjectType)
            result.append(nf)
        return result

    def sub_for(
        self, named: graphql.GraphQLNamedType, subsels: list[ast.SelectionSetNode]
    ) -> dict[str, list[NField]]:
        sub: dict[str, list[NField]] = {}
        if isinstance(named, graphql.GraphQLObjectType):
            sub[named.name] = self.fields_for(named, subsels)
            return sub
        assert isinstance(named, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType)
        for obj in self.schema.get_possible_types(named):
            sub[obj.name] = self.fields_for(obj, subsels)
        sub[""] = self.fields_for(named, subsels)
        return sub


def parse_field_set(schema: graphql.GraphQLSchema, type_name: str, field_set: str) -> list[NField]:
    """Normalize a federation FieldSet (``"id organization { id }"``) on ``type_name``."""
    doc = graphql.parse("{" + field_set + "}", no_location=True)
    op = doc.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    t = schema.get_type(type_name)
    assert t is not None
    return Normalizer(schema, {}, {}).fields_for(t, [op.selection_set])


def print_args(args: tuple[ast.ArgumentNode, ...]) -> str:
    if not args:
        return ""
    return "(" + ", ".join(f"{a.name.value}: {graphql.print_ast(a.value)}" for a in args) + ")"
