"""Building the plan: fetch groups layered by dependency, merged and folded, as plan nodes.

Groups are layered by dependency depth; on each layer the entity groups of one subgraph share one
``_entities`` fetch unless their inputs clash; ``merge.fold_later_fetches`` folds an entity fetch into
a later one to the same subgraph for the same objects (the optimizing pass); then each fetch's
operation text is printed.  Top-level mutation fields run in order, each with its own entity fetches.
"""

from __future__ import annotations

import graphql
from graphql import language as ast

from gateway.planning.conditions import TRUE, variables_of
from gateway.planning.conditions import condition_variables as condition_variables_of
from gateway.planning.fetch_groups import Group, inputs_clash, same_inputs_parts
from gateway.planning.merge import Slot, fold_later_fetches
from gateway.planning.operation import NField, Normalizer
from gateway.planning.path_finding import PathFinder
from gateway.planning.plan import (
    Condition,
    EntityInput,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    QueryPlan,
    Sequence,
    Subscription,
)
from gateway.planning.query_graph import PlanningError
from gateway.planning.selections import OutSel, condition_variables, dealias, to_tree, top_condition


def print_var_def(v: ast.VariableDefinitionNode) -> str:
    text = f"${v.variable.name.value}: {graphql.print_ast(v.type)}"
    if v.default_value is not None:
        text += f" = {graphql.print_ast(v.default_value)}"
    return text


def _conditioned(node: PlanNode, groups: list[Group]) -> PlanNode:
    """A fetch whose every top-level field is under one @skip/@include conjunction runs only when it
    holds: ``Condition`` nodes, one per variable (the executor evaluates them)."""
    sel = OutSel()
    for g in groups:
        sel.merge(g.sel)
    cond = top_condition(sel)
    if cond is None or len(cond) != 1:
        return node
    for variable, value in sorted(next(iter(cond)), reverse=True):
        node = Condition(variable, node, None) if value else Condition(variable, None, node)
    return node


class PlanBuilder(PathFinder):
    """Plans one operation: every root field placed (``PathFinder``), then assembled into plan nodes."""

    def build(self) -> QueryPlan:
        kind = self.op.operation.value
        root_name = {
            "query": self.sg.query_type,
            "mutation": self.sg.mutation_type,
            "subscription": self.sg.subscription_type,
        }[kind]
        if root_name is None:
            raise PlanningError(f"The schema has no {kind} type")
        root_type = self.p.schema.get_type(root_name)
        assert root_type is not None
        fields = self.norm.fields_for(root_type, [self.op.selection_set])
        static = self._requires_conditions(root_name, fields)
        if static:
            # A @requires field's inputs join the representations of its objects: whether it is in the
            # operation changes what a subgraph is sent, so its condition is decided at planning.
            self.norm = Normalizer(self.p.schema, self.frags, self.norm.variables, static)
            fields = self.norm.fields_for(root_type, [self.op.selection_set])
        for i, f in enumerate(fields):
            if f.name.startswith("__"):
                continue  # __typename / introspection are answered by the gateway itself
            self._plan_root_field(root_name, f, kind, i)
        node = self._assemble(kind)
        defaults = tuple(
            (v, graphql.value_from_ast_untyped(d.default_value))
            for v in sorted({*condition_variables_of(fields), *static})
            if (d := self.var_defs.get(v)) is not None and d.default_value is not None
        )
        return QueryPlan(
            node=node,
            root_type=root_name,
            root_fields=tuple(fields),
            operation_kind=kind,
            condition_defaults=defaults,
            static_conditions=tuple(sorted(static)),
        )

    def _requires_conditions(self, type_name: str, fields: list[NField]) -> frozenset[str]:
        """Variables of the conditions decided at planning: on fields that have a @requires in some
        subgraph, and on fields of (or returning) types behind an @interfaceObject."""
        out: set[str] = set()
        for f in fields:
            if f.cond != TRUE and (
                self._has_requires(type_name, f.name)
                or self._near_interface_object(type_name)
                or self._near_interface_object(f.type_name)
            ):
                out |= variables_of(f.cond)
            for t, sub in (f.sub or {}).items():
                out |= self._requires_conditions(t or f.type_name, sub)
        return frozenset(out)

    def _near_interface_object(self, type_name: str) -> bool:
        """An interface some subgraph has as an @interfaceObject, or one of its implementations: their
        entity fetches go through the interface, where conditions of different types meet."""
        ti = self.sg.types.get(type_name)
        if ti is None:
            return False
        names = {type_name}
        for s in ti.implements.values():
            names |= s
        return any(
            (t := self.sg.types.get(n)) is not None and any(jt.is_interface_object for jt in t.join_types)
            for n in names
        )

    def _has_requires(self, type_name: str, name: str) -> bool:
        names = [type_name]
        named = self.p.schema.get_type(type_name)
        if isinstance(named, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
            names += [t.name for t in self.p.schema.get_possible_types(named)]
        for n in names:
            ti = self.sg.types.get(n)
            fi = ti.fields.get(name) if ti is not None else None
            if fi is not None and any(jf.requires for jf in fi.join_fields):
                return True
        return False

    def _levels(self) -> dict[int, int]:
        level: dict[int, int] = {}

        def lv(gid: int, stack: frozenset[int]) -> int:
            if gid in level:
                return level[gid]
            g = self.groups[gid]
            deps = [d for d in g.deps if d not in stack]
            v = 0 if not deps else 1 + max(lv(d, stack | {gid}) for d in deps)
            level[gid] = v
            return v

        for g in self.groups:
            lv(g.id, frozenset())
        return level

    def _fetch_for(self, groups: list[Group], kind: str) -> PlanNode:
        first = groups[0]
        sub = self.sg.subgraphs[first.subgraph]
        variables: set[str] = set()
        sel = OutSel()
        for g in groups:
            variables |= g.variables
            sel.merge(g.sel)
        variables |= condition_variables(sel)
        var_defs = [print_var_def(self.var_defs[v]) for v in sorted(variables) if v in self.var_defs]
        if first.root_kind is not None:
            head = first.root_kind + (f"({', '.join(var_defs)})" if var_defs else "")
            renames = dealias(sel, [0])
            return Fetch(
                subgraph=sub.name,
                url=sub.url,
                operation=f"{head} {{ {sel.text()} }}",
                operation_kind=first.root_kind,
                variable_usages=tuple(sorted(variables)),
                renames=renames,
            )
        merged_inputs: dict[tuple[tuple[str, ...], str], tuple[str, OutSel]] = {}
        paths: list[tuple[str, ...]] = []
        for g in groups:
            if g.path not in paths:
                paths.append(g.path)
            for match, (send_as, req) in g.inputs.items():
                # Groups merged into one fetch send one representation per object: the union of inputs.
                cur = merged_inputs.setdefault((g.path, match), (send_as, OutSel()))
                cur[1].merge(req)
        inputs = [
            EntityInput(path=path, match_type=match, send_as=send_as, requires=to_tree(req))
            for (path, match), (send_as, req) in merged_inputs.items()
        ]
        defs = ", ".join(["$representations: [_Any!]!", *var_defs])
        renames = dealias(sel, [0])
        op = f"query({defs}) {{ _entities(representations: $representations) {{ {sel.text()} }} }}"
        fetch = Fetch(
            subgraph=sub.name,
            url=sub.url,
            operation=op,
            operation_kind="query",
            variable_usages=tuple(sorted(variables)),
            inputs=tuple(inputs),
            renames=renames,
        )
        return Flatten(paths=tuple(paths), node=fetch)

    def _layered(self, groups: list[Group], level: dict[int, int], kind: str) -> PlanNode | None:
        by_level: dict[int, dict[str, list[list[Group]]]] = {}
        for g in groups:
            if g.root_kind is None and not g.inputs:
                continue
            buckets = by_level.setdefault(level[g.id], {}).setdefault(
                g.subgraph if g.root_kind is None or kind == "query" else f"{g.subgraph}#{g.id}", []
            )
            for bucket in buckets:
                if not any(inputs_clash(g, other) for other in bucket):
                    bucket.append(g)
                    break
            else:
                buckets.append([g])
        layers = {
            lv: [
                Slot(sg, bucket[0].root_kind is None, [g.id for g in bucket])
                for sg, buckets in by_sg.items()
                for bucket in buckets
            ]
            for lv, by_sg in by_level.items()
        }
        dependents: dict[int, set[int]] = {}
        for g in self.groups:
            for d in g.deps:
                dependents.setdefault(d, set()).add(g.id)
        layers = fold_later_fetches(
            layers,
            {g.id: g.path for g in groups},
            dependents,
            lambda a, b: inputs_clash(self.groups[a], self.groups[b]),
        )
        steps: list[PlanNode] = []
        for lv in sorted(layers):
            nodes = [
                _conditioned(self._fetch_for(part, kind), part)
                for s in layers[lv]
                for part in same_inputs_parts([self.groups[i] for i in s.members])
            ]
            steps.append(nodes[0] if len(nodes) == 1 else Parallel(tuple(nodes)))
        if not steps:
            return None
        return steps[0] if len(steps) == 1 else Sequence(tuple(steps))

    def _subscription(self, level: dict[int, int]) -> PlanNode | None:
        """One subscription fetch to the subgraph owning the root field, then (per event) the rest."""
        roots = [g for g in self.groups if g.root_kind is not None]
        if len(roots) != 1:
            raise PlanningError("A subscription must select exactly one root field of one subgraph")
        primary = self._fetch_for(roots, "subscription")
        assert isinstance(primary, Fetch)
        rest = self._layered([g for g in self.groups if g.root_kind is None], level, "query")
        return Subscription(primary=primary, rest=rest)

    def _assemble(self, kind: str) -> PlanNode | None:
        level = self._levels()
        if kind == "subscription":
            return self._subscription(level)
        if kind != "mutation":
            return self._layered(self.groups, level, kind)
        by_root: dict[int, list[Group]] = {}
        for g in self.groups:
            by_root.setdefault(g.root_index, []).append(g)
        steps = [n for i in sorted(by_root) if (n := self._layered(by_root[i], level, kind)) is not None]
        if not steps:
            return None
        return steps[0] if len(steps) == 1 else Sequence(tuple(steps))
