"""Fetch groups: what one subgraph request will ask for, and the state the planning passes share.

A ``Group`` collects the selection for one subgraph at one path (a root fetch, or an ``_entities`` fetch
with its representations' inputs), the groups it waits for and the variables it uses.  ``GroupBuilder``
holds the per-operation planning state and the group operations every pass uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import graphql
from graphql import language as ast

from gateway.planning.operation import NField, Normalizer, print_args
from gateway.planning.query_graph import PlanningError, Provided, QueryGraph
from gateway.planning.selections import OutSel, names_clash


@dataclass(slots=True)
class Group:
    id: int
    subgraph: str
    path: tuple[str, ...]
    root_kind: str | None  # "query"/"mutation" for root fetches, None for entity fetches
    sel: OutSel = field(default_factory=OutSel)
    inputs: dict[str, tuple[str, OutSel]] = field(default_factory=dict)  # match type -> (send as, requires)
    deps: set[int] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    root_index: int = 0  # which top-level mutation field this group serves


def inputs_clash(a: Group, b: Group) -> bool:
    """Two entity groups cannot share a fetch when they need different inputs for the same objects."""
    if a.path != b.path:
        return False
    for match, (_, req) in a.inputs.items():
        other = b.inputs.get(match)
        if other is not None and names_clash(req, other[1]):
            return True
    return False


def same_inputs_parts(groups: list[Group]) -> list[list[Group]]:
    """Split one fetch's groups so that objects of one type are sent with the same fields at every path.

    One selection serves every representation of a fetch: a field whose ``@requires`` inputs only the
    objects at one path carry would fail on the objects of that type sent from another path."""
    if len(groups) < 2 or groups[0].root_kind is not None:
        return [groups]
    by_path: dict[tuple[str, ...], list[Group]] = {}
    for g in groups:
        by_path.setdefault(g.path, []).append(g)

    def inputs_of(members: list[Group]) -> dict[str, str]:
        merged: dict[str, OutSel] = {}
        for g in members:
            for match, (_, req) in g.inputs.items():
                merged.setdefault(match, OutSel()).merge(req)
        return {m: sel.text() for m, sel in merged.items()}

    parts: list[tuple[dict[str, str], list[Group]]] = []
    for members in by_path.values():
        mine = inputs_of(members)
        for have, part in parts:
            if all(have[m] == t for m, t in mine.items() if m in have):
                have.update(mine)
                part.extend(members)
                break
        else:
            parts.append((mine, list(members)))
    return [part for _, part in parts]


def with_variable_defaults(op: ast.OperationDefinitionNode, variables: dict[str, Any]) -> dict[str, Any]:
    """Variables with the operation's default values filled in for the ones not given."""
    out = dict(variables)
    for v in op.variable_definitions or ():
        name = v.variable.name.value
        if name not in out and v.default_value is not None:
            out[name] = graphql.value_from_ast_untyped(v.default_value)
    return out


class GroupBuilder:
    """Planning state for one operation, and creating/extending groups."""

    def __init__(
        self,
        planner: QueryGraph,
        document: ast.DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> None:
        self.p = planner
        self.sg = planner.sg
        ops = [d for d in document.definitions if isinstance(d, ast.OperationDefinitionNode)]
        if operation_name:
            ops = [o for o in ops if o.name and o.name.value == operation_name]
        if len(ops) != 1:
            raise PlanningError("Unknown operation" if operation_name else "Must provide operation name")
        self.op = ops[0]
        self.frags = {
            d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)
        }
        self.var_defs = {v.variable.name.value: v for v in self.op.variable_definitions or ()}
        variables = with_variable_defaults(self.op, variables)
        self.norm = Normalizer(planner.schema, self.frags, variables)
        self.groups: list[Group] = []
        self.entity_index: dict[tuple[str, tuple[str, ...], int, str | bool], Group] = {}
        self.root_index: dict[str, Group] = {}
        self._routing: set[tuple[int, str, str]] = set()
        self._routable_cache: dict[tuple[str, str], bool] = {}
        self._cands: dict[tuple[str, ...], frozenset[str]] = {}
        self._ctx: dict[
            tuple[int, tuple[str, ...]], tuple[Group, OutSel, str, NField, tuple[str, ...], Provided | None]
        ] = {}

    def _new_group(
        self, subgraph: str, path: tuple[str, ...], root_kind: str | None, root_index: int
    ) -> Group:
        g = Group(
            id=len(self.groups), subgraph=subgraph, path=path, root_kind=root_kind, root_index=root_index
        )
        self.groups.append(g)
        return g

    def _selection_of(self, out: OutSel, fields: list[NField]) -> None:
        for f in fields:
            of = out.add(f.key, f.name, print_args(f.args), f.sub is not None)
            if f.sub is not None and of.sub is not None:
                for t, sub in f.sub.items():
                    if t:
                        self._selection_of(
                            of.sub if len([x for x in f.sub if x]) == 1 else of.sub.frag(t), sub
                        )

    def _add_input(self, g: Group, match: str, send_as: str, req: OutSel) -> None:
        cur = g.inputs.get(match)
        if cur is None:
            g.inputs[match] = (send_as, req)
        else:
            cur[1].merge(req)

    def _entity_group(
        self, subgraph: str, path: tuple[str, ...], parent: Group, requires: str | bool, deps: set[int]
    ) -> Group:
        k = (subgraph, path, parent.id, requires)
        g = self.entity_index.get(k)
        if g is None:
            g = self._new_group(subgraph, path, None, parent.root_index)
            self.entity_index[k] = g
        g.deps |= {d for d in deps if d != g.id}
        g.deps.add(parent.id)
        return g

    def _input_sel(self, g: Group, type_name: str, path: tuple[str, ...]) -> OutSel | None:
        """The fields already in the merged objects ``g`` was entered with (its representation)."""
        if g.root_kind is not None or path != g.path or type_name not in g.inputs:
            return None
        return g.inputs[type_name][1]

    def _requires_of(self, graph: str, send_as: str, type_name: str, name: str) -> str | None:
        for tn in (type_name, send_as):
            ti = self.sg.types.get(tn)
            fi = ti.fields.get(name) if ti else None
            if fi is None:
                continue
            for jf in fi.join_fields:
                if jf.graph == graph and jf.requires:
                    return jf.requires
        return None
