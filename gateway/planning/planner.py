"""The query planner: (supergraph, operation, variables) -> QueryPlan.

Fields are placed greedily: a field goes to the fetch of the subgraph that is already serving its
parent when that subgraph resolves it; otherwise an entity fetch (``_entities``) to a subgraph that
does is added after it, keyed by an ``@key`` the current subgraph can provide.  ``@requires`` inputs are
planned like client fields on the parent, and the entity fetch waits for every fetch that produces
them.  Fetch groups are then layered by dependency depth; groups of one subgraph on one layer share a
single ``_entities`` call, and an entity call folds into a later call to the same subgraph for the same
objects when nothing in between needs it (``merge.fold_later_fetches``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import graphql
from graphql import language as ast

from gateway.planning.merge import Slot, fold_later_fetches
from gateway.planning.operation import NField, Normalizer, parse_field_set, print_args
from gateway.planning.plan import (
    EntityInput,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    QueryPlan,
    Renames,
    SelectionTree,
    Sequence,
    Subscription,
)
from gateway.supergraph.model import Supergraph, TypeInfo

Provided = dict[str, dict[str, Any]]  # concrete type -> field name -> Provided of the child


class PlanningError(Exception):
    pass


@dataclass(slots=True)
class OutField:
    name: str
    key: str
    args: str
    sub: OutSel | None = None
    sig: str = ""  # the field's type in the subgraph: response keys clashing on it get aliased
    alias: str | None = None  # internal alias chosen to avoid a clash (renamed back on merge)


@dataclass(slots=True)
class OutSel:
    fields: dict[str, OutField] = field(default_factory=dict)
    frags: dict[str, OutSel] = field(default_factory=dict)

    def add(self, key: str, name: str, args: str = "", composite: bool = False, sig: str = "") -> OutField:
        f = self.fields.get(key)
        if f is None:
            f = OutField(name, key, args, OutSel() if composite else None, sig)
            self.fields[key] = f
        elif composite and f.sub is None:
            f.sub = OutSel()
        return f

    def frag(self, cond: str) -> OutSel:
        s = self.frags.get(cond)
        if s is None:
            s = self.frags[cond] = OutSel()
        return s

    def merge(self, other: OutSel) -> None:
        for k, f in other.fields.items():
            mine = self.add(k, f.name, f.args, f.sub is not None, f.sig)
            if f.sub is not None and mine.sub is not None:
                mine.sub.merge(f.sub)
        for c, s in other.frags.items():
            self.frag(c).merge(s)

    def text(self) -> str:
        parts: list[str] = []
        for f in self.fields.values():
            rkey = f.alias or f.key
            head = f.name if rkey == f.name else f"{rkey}: {f.name}"
            head += f.args
            if f.sub is not None:
                head += " { " + f.sub.text() + " }"
            parts.append(head)
        for c, s in self.frags.items():
            if s.fields or s.frags:
                parts.append(f"... on {c} {{ {s.text()} }}")
        return " ".join(parts) if parts else "__typename"


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


def _inputs_clash(a: Group, b: Group) -> bool:
    """Two entity groups cannot share a fetch when they need different inputs for the same objects."""
    if a.path != b.path:
        return False
    for match, (_, req) in a.inputs.items():
        other = b.inputs.get(match)
        if other is not None and _names_clash(req, other[1]):
            return True
    return False


def _same_inputs_parts(groups: list[Group]) -> list[list[Group]]:
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


def _names_clash(a: OutSel, b: OutSel) -> bool:
    """Would one representation need two different values under one field name?"""
    fa, fb = _flat_fields(a), _flat_fields(b)
    by_name_a = {f.name: f for fs in fa.values() for f in fs}
    for fs in fb.values():
        for f in fs:
            other = by_name_a.get(f.name)
            if other is None:
                continue
            if other.key != f.key or other.args != f.args:
                return True
            if other.sub is not None and f.sub is not None and _names_clash(other.sub, f.sub):
                return True
    return False


def _flat_fields(sel: OutSel) -> dict[str, list[OutField]]:
    out: dict[str, list[OutField]] = {}
    for k, f in sel.fields.items():
        out.setdefault(k, []).append(f)
    for s in sel.frags.values():
        for k, fs in _flat_fields(s).items():
            out.setdefault(k, []).extend(fs)
    return out


def _clash(a: OutField, b: OutField) -> bool:
    if a.name != b.name or a.args != b.args or (a.sig and b.sig and a.sig != b.sig):
        return True
    if a.sub is None or b.sub is None:
        return False
    fa, fb = _flat_fields(a.sub), _flat_fields(b.sub)
    return any(_clash(x, y) for k in fa.keys() & fb.keys() for x in fa[k] for y in fb[k])


def _dealias(sel: OutSel, counter: list[int]) -> Renames | None:
    """Alias fields of sibling fragments whose response keys clash (different types or arguments in the
    subgraph), so the subgraph operation is valid; returns how to rename the results back."""
    renames: list[tuple[str, str, Renames | None]] = []
    seen: dict[str, OutField] = dict(sel.fields)

    def visit(s: OutSel, top: bool) -> None:
        for k, f in s.fields.items():
            if not top:
                prev = seen.get(k)
                if prev is None:
                    seen[k] = f
                elif prev is not f and _clash(prev, f):
                    counter[0] += 1
                    f.alias = f"{k}__qp_alias_{counter[0]}"
            child = _dealias(f.sub, counter) if f.sub is not None else None
            if f.alias is not None or child is not None:
                renames.append((f.alias or k, k, child))
        for fs in s.frags.values():
            visit(fs, False)

    visit(sel, True)
    return tuple(renames) if renames else None


def _covers(sel: OutSel | None, f: NField) -> bool:
    """Does ``sel`` (a representation's fields) hold ``f`` with all of its subselection?"""
    if sel is None:
        return False
    have = sel.fields.get(f.key)
    if have is None:
        return False
    if not f.sub:
        return True
    if have.sub is None:
        return False
    return all(
        _covers(have.sub if not t or t not in have.sub.frags else have.sub.frags[t], x)
        or _covers(have.sub, x)
        for t, xs in f.sub.items()
        for x in xs
        if x.name != "__typename"
    )


def _alias_arguments(fields: list[NField]) -> list[NField]:
    """Required fields that take arguments get an internal alias so they never clash with the client's."""
    out: list[NField] = []
    for f in fields:
        sub = {t: _alias_arguments(x) for t, x in f.sub.items()} if f.sub else f.sub
        key = f.key
        if f.args:
            digest = hashlib.sha1(print_args(f.args).encode(), usedforsecurity=False).hexdigest()[:8]
            key = f"_req_{f.name}_{digest}"
        out.append(replace(f, key=key, sub=sub))
    return out


def with_variable_defaults(op: ast.OperationDefinitionNode, variables: dict[str, Any]) -> dict[str, Any]:
    """Variables with the operation's default values filled in for the ones not given."""
    out = dict(variables)
    for v in op.variable_definitions or ():
        name = v.variable.name.value
        if name not in out and v.default_value is not None:
            out[name] = graphql.value_from_ast_untyped(v.default_value)
    return out


def _print_var_def(v: ast.VariableDefinitionNode) -> str:
    text = f"${v.variable.name.value}: {graphql.print_ast(v.type)}"
    if v.default_value is not None:
        text += f" = {graphql.print_ast(v.default_value)}"
    return text


def _to_tree(sel: OutSel) -> SelectionTree:
    return SelectionTree(
        fields=tuple(
            (f.name, k, _to_tree(f.sub) if f.sub is not None else None) for k, f in sel.fields.items()
        ),
        fragments=tuple((c, _to_tree(s)) for c, s in sel.frags.items()),
    )


class Planner:
    """Plans operations for one supergraph.  Instances are reusable; ``plan`` is pure."""

    def __init__(self, supergraph: Supergraph, schema: graphql.GraphQLSchema) -> None:
        self.sg = supergraph
        self.schema = schema
        self._fieldsets: dict[tuple[str, str], list[NField]] = {}

    # ---- supergraph questions -------------------------------------------------------------------

    def fieldset(self, type_name: str, fs: str) -> list[NField]:
        k = (type_name, fs)
        r = self._fieldsets.get(k)
        if r is None:
            r = self._fieldsets[k] = parse_field_set(self.schema, type_name, fs)
        return r

    def type_in(self, graph: str, type_name: str) -> bool:
        ti = self.sg.types.get(type_name)
        if ti is None:
            return True
        return not ti.join_types or any(jt.graph == graph for jt in ti.join_types)

    def is_interface_object(self, graph: str, type_name: str) -> bool:
        ti = self.sg.types.get(type_name)
        return ti is not None and any(jt.graph == graph and jt.is_interface_object for jt in ti.join_types)

    def keys(self, graph: str, type_name: str) -> list[str]:
        ti = self.sg.types.get(type_name)
        if ti is None:
            return []
        return [jt.key for jt in ti.join_types if jt.graph == graph and jt.key and jt.resolvable]

    def _key_field_names(self, graph: str, ti: TypeInfo) -> set[str]:
        names: set[str] = set()
        for jt in ti.join_types:
            if jt.graph == graph and jt.key:
                names.update(f.name for f in self.fieldset(ti.name, jt.key))
        return names

    def direct(self, graph: str, type_name: str, name: str) -> bool:
        """Can ``graph`` resolve ``type_name.name`` on the type itself (not through an interface object)?"""
        if name == "__typename":
            return True
        ti = self.sg.types.get(type_name)
        if ti is None:
            return False
        fi = ti.fields.get(name)
        if fi is None:
            return False
        if not self.type_in(graph, type_name):
            return False
        if not fi.join_fields:
            if ti.owner is not None:
                return graph == ti.owner or name in self._key_field_names(graph, ti)
            return True
        for jf in fi.join_fields:
            if jf.graph != graph:
                continue
            if jf.used_overridden:
                return False
            if jf.override_label is not None and jf.override_label not in self.sg.enabled_override_labels:
                return False
            return not jf.external
        # Progressive override: the overridden graph keeps resolving while the label is off.
        for jf in fi.join_fields:
            if (
                jf.override_label is not None
                and jf.override_label not in self.sg.enabled_override_labels
                and jf.override is not None
                and self.sg.subgraphs.get(graph) is not None
                and self.sg.subgraphs[graph].name == jf.override
            ):
                return True
        return False

    def interface_objects_for(self, graph: str, type_name: str, name: str) -> str | None:
        """The interface-object type through which ``graph`` resolves ``type_name.name``, if any."""
        ti = self.sg.types.get(type_name)
        if ti is None or ti.kind != "OBJECT":
            return None
        ifaces: set[str] = set()
        for s in ti.implements.values():
            ifaces |= s
        for iname in sorted(ifaces):
            if self.is_interface_object(graph, iname) and self.direct(graph, iname, name):
                return iname
        return None

    def resolvable(self, graph: str, type_name: str, name: str, provided: Provided | None) -> bool:
        if provided is not None and name in provided.get(type_name, ()):
            return True
        return (
            self.direct(graph, type_name, name)
            or self.interface_objects_for(graph, type_name, name) is not None
        )

    def field_graph_type(self, graph: str, type_name: str, name: str) -> str:
        ti = self.sg.types.get(type_name)
        fi = ti.fields.get(name) if ti else None
        if fi is None:
            return ""
        for jf in fi.join_fields:
            if jf.graph == graph and jf.type:
                return jf.type.strip("[]!")
        return fi.type.strip("[]!")

    def field_graph_sig(self, graph: str, type_name: str, name: str) -> str:
        ti = self.sg.types.get(type_name)
        fi = ti.fields.get(name) if ti else None
        if fi is None:
            return ""
        for jf in fi.join_fields:
            if jf.graph == graph and jf.type:
                return jf.type
        return fi.type

    def possible_in(self, graph: str, type_name: str) -> set[str]:
        ti = self.sg.types.get(type_name)
        if ti is None:
            return set()
        if ti.kind == "OBJECT":
            return {type_name}
        if ti.kind == "UNION":
            return {m for m in ti.union_members.get(graph, set()) if self.type_in(graph, m)}
        return {
            t.name
            for t in self.sg.types.values()
            if t.kind == "OBJECT"
            and type_name in t.implements.get(graph, set())
            and self.type_in(graph, t.name)
        }

    def provided_for(self, graph: str, parent: str, name: str, return_type: str) -> Provided | None:
        ti = self.sg.types.get(parent)
        fi = ti.fields.get(name) if ti else None
        if fi is None:
            return None
        for jf in fi.join_fields:
            if jf.graph == graph and jf.provides:
                return self._provided_tree(return_type, jf.provides)
        return None

    def _provided_tree(self, type_name: str, fs: str) -> Provided:
        doc = graphql.parse("{" + fs + "}", no_location=True)
        op = doc.definitions[0]
        assert isinstance(op, ast.OperationDefinitionNode)
        named = self.schema.get_type(type_name)
        assert named is not None
        sub = Normalizer(self.schema, {}, {}).sub_for(named, [op.selection_set])
        return {t: self._fields_to_provided(fs_) for t, fs_ in sub.items()}

    def _fields_to_provided(self, fields: list[NField]) -> dict[str, Any]:
        return {
            f.name: ({t: self._fields_to_provided(x) for t, x in f.sub.items()} if f.sub else {})
            for f in fields
        }

    # ---- planning ----------------------------------------------------------------------------------

    def plan(
        self, document: ast.DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
    ) -> QueryPlan:
        return _PlanBuilder(self, document, operation_name, variables or {}).build()


class _PlanBuilder:
    def __init__(
        self,
        planner: Planner,
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
        for i, f in enumerate(fields):
            if f.name.startswith("__"):
                continue  # __typename / introspection are answered by the gateway itself
            self._plan_root_field(root_name, f, kind, i)
        node = self._assemble(kind)
        return QueryPlan(node=node, root_type=root_name, root_fields=tuple(fields), operation_kind=kind)

    # ---- groups --------------------------------------------------------------------------------

    def _new_group(
        self, subgraph: str, path: tuple[str, ...], root_kind: str | None, root_index: int
    ) -> Group:
        g = Group(
            id=len(self.groups), subgraph=subgraph, path=path, root_kind=root_kind, root_index=root_index
        )
        self.groups.append(g)
        return g

    def _plan_root_field(self, root_name: str, f: NField, kind: str, index: int) -> None:
        ti = self.sg.types[root_name]
        cands = [g for g in self.sg.subgraphs if self.p.direct(g, root_name, f.name)]
        if not cands:
            raise PlanningError(f"No subgraph resolves {root_name}.{f.name}")
        if kind == "query":
            # Ties go to a subgraph already asked, then to one that declares @provides for the field
            # (its schema says it serves the subtree; the other may be the poor plan).
            cands.sort(
                key=lambda g: (
                    self._estimate(g, root_name, [f], None, 3),
                    g not in self.root_index,
                    self.p.provided_for(g, root_name, f.name, f.type_name) is None,
                )
            )
        else:
            cands.sort(key=lambda g: self._estimate(g, root_name, [f], None, 3))
        graph = cands[0]
        del ti
        if kind == "query" and graph in self.root_index:
            g = self.root_index[graph]
        else:
            g = self._new_group(graph, (), kind, index)
            if kind == "query":
                self.root_index[graph] = g
        self._plan_fields(g, g.sel, root_name, [f], (), None)

    def _estimate(
        self, graph: str, type_name: str, fields: list[NField], provided: Provided | None, depth: int
    ) -> int:
        """Rough count of extra fetches needed to resolve ``fields`` starting in ``graph``."""
        cost = 0
        for f in fields:
            if f.name == "__typename":
                continue
            if not self.p.resolvable(graph, type_name, f.name, provided):
                cost += 1
                continue
            if f.sub and depth > 0:
                rt = self.p.field_graph_type(graph, type_name, f.name)
                child_prov = self.p.provided_for(graph, type_name, f.name, f.type_name)
                if provided is not None and f.name in provided.get(type_name, {}):
                    child_prov = {**(provided[type_name][f.name] or {}), **(child_prov or {})}
                if self.p.is_interface_object(graph, rt):
                    cost += 1
                    continue
                possible = self.p.possible_in(graph, rt)
                for t, sub in f.sub.items():
                    if t and t in possible:
                        cost += self._estimate(graph, t, sub, child_prov, depth - 1)
        return cost

    def _plan_fields(
        self,
        g: Group,
        out: OutSel,
        type_name: str,
        fields: list[NField],
        path: tuple[str, ...],
        provided: Provided | None,
    ) -> set[int]:
        """Place ``fields`` (on objects of ``type_name`` at ``path``) into ``g``/``out`` or route them.

        Returns the ids of every group that ended up producing some of them.
        """
        producers: set[int] = {g.id}
        for f in fields:
            if f.name == "__typename":
                out.add("__typename", "__typename")
                continue
            if self.p.resolvable(g.subgraph, type_name, f.name, provided) and (
                self._requires_of(g.subgraph, type_name, type_name, f.name) is None
                or (provided is not None and f.name in provided.get(type_name, ()))
            ):
                local, remote = self._split_unroutable(
                    g.subgraph, type_name, f, provided, g.root_kind is not None and not path
                )
                producers |= self._place(g, out, type_name, local, path, provided)
                for s2, part in remote:
                    if g.root_kind is not None and not path:
                        producers |= self._plan_in_root(s2, type_name, part, g)
                    else:
                        producers |= self._route(g, out, type_name, part, path, provided, only=s2)
            else:
                producers |= self._route(g, out, type_name, f, path, provided)
        return producers

    def _plan_in_root(self, subgraph: str, root_name: str, f: NField, like: Group) -> set[int]:
        if like.root_kind == "query" and subgraph in self.root_index:
            rg = self.root_index[subgraph]
        else:
            rg = self._new_group(subgraph, (), like.root_kind, like.root_index)
            if like.root_kind == "query":
                self.root_index[subgraph] = rg
        return self._plan_fields(rg, rg.sel, root_name, [f], (), None)

    def _routable(self, type_name: str, name: str) -> bool:
        """Can ``type_name.name`` be reached through some subgraph's entity key?"""
        k = (type_name, name)
        r = self._routable_cache.get(k)
        if r is None:
            r = False
            for s in self.sg.subgraphs:
                send_as: str | None = type_name
                if not self.p.direct(s, type_name, name):
                    send_as = self.p.interface_objects_for(s, type_name, name)
                if send_as is not None and self.p.keys(s, send_as):
                    r = True
                    break
            self._routable_cache[k] = r
        return r

    def _split_unroutable(
        self, graph: str, type_name: str, f: NField, provided: Provided | None, at_root: bool
    ) -> tuple[NField, list[tuple[str, NField]]]:
        """Children of ``f`` that ``graph`` cannot resolve and no entity key can reach are fetched by
        asking ``f`` again from another subgraph that resolves them (shareable parents)."""
        if not f.sub:
            return f, []
        rt = self.p.field_graph_type(graph, type_name, f.name)
        if self.p.is_interface_object(graph, rt):
            return f, []
        child_prov = self.p.provided_for(graph, type_name, f.name, f.type_name)
        if provided is not None and f.name in provided.get(type_name, {}):
            child_prov = {**(provided[type_name][f.name] or {}), **(child_prov or {})}
        moved: dict[str, dict[str, list[NField]]] = {}
        keep: dict[str, list[NField]] = {}
        possible = self.p.possible_in(graph, rt)
        for t, sub in f.sub.items():
            kept: list[NField] = []
            for cf in sub:
                if (
                    not t
                    or t not in possible
                    or cf.name == "__typename"
                    or self.p.resolvable(graph, t, cf.name, child_prov)
                    or self._routable(t, cf.name)
                ):
                    kept.append(cf)
                    continue
                alt = [
                    s2
                    for s2 in self.sg.subgraphs
                    if s2 != graph
                    and self.p.direct(s2, type_name, f.name)
                    and self.p.direct(s2, t, cf.name)
                    and (at_root or self.p.keys(s2, type_name))
                ]
                if not alt:
                    kept.append(cf)
                    continue
                moved.setdefault(alt[0], {}).setdefault(t, []).append(cf)
            keep[t] = kept
        if not moved:
            return f, []
        local = replace(f, sub=keep)
        remote = [(s2, replace(f, sub={t: parts.get(t, []) for t in f.sub})) for s2, parts in moved.items()]
        return local, remote

    def _place(
        self,
        g: Group,
        out: OutSel,
        type_name: str,
        f: NField,
        path: tuple[str, ...],
        provided: Provided | None,
    ) -> set[int]:
        of = out.add(
            f.key,
            f.name,
            print_args(f.args),
            f.sub is not None,
            self.p.field_graph_sig(g.subgraph, type_name, f.name),
        )
        g.variables |= f.variables
        if f.sub is None:
            return {g.id}
        assert of.sub is not None
        child_path = (*path, f.key)
        child_prov: Provided | None = None
        if provided is not None and f.name in provided.get(type_name, {}):
            child_prov = provided[type_name][f.name] or None
        prov2 = self.p.provided_for(g.subgraph, type_name, f.name, f.type_name)
        if prov2 is not None:
            child_prov = prov2 if child_prov is None else {**child_prov, **prov2}
        rt = self.p.field_graph_type(g.subgraph, type_name, f.name)
        of.sub.add("__typename", "__typename")
        self._ctx[(g.id, child_path)] = (g, out, type_name, f, path, provided)
        if self.p.is_interface_object(g.subgraph, rt):
            return self._place_interface_object(g, of.sub, rt, f, child_path, child_prov)
        producers: set[int] = {g.id}
        possible = self._possible_on_path(g.subgraph, type_name, f, path, child_path, rt)
        planned_any = False
        for t, sub in f.sub.items():
            if not t or t not in possible:
                continue
            planned_any = True
            target = of.sub if t == rt else of.sub.frag(t)
            producers |= self._plan_fields(g, target, t, sub, child_path, child_prov)
        if not planned_any and f.is_abstract and any(x.name != "__typename" for x in f.sub.get("", ())):
            # No object type is known behind this abstract type here: plan on the abstract type itself.
            producers |= self._plan_fields(g, of.sub, rt, f.sub[""], child_path, child_prov)
        return producers

    def _possible_on_path(
        self,
        graph: str,
        type_name: str,
        f: NField,
        path: tuple[str, ...],
        child_path: tuple[str, ...],
        rt: str,
    ) -> set[str]:
        """Object types to select below ``f``.  Below a shareable path that several subgraphs could
        serve, only the union/interface members common to all of them are safe to ask for."""
        possible = self.p.possible_in(graph, rt)
        resolvers = frozenset(s for s in self.sg.subgraphs if self.p.direct(s, type_name, f.name))
        ti = self.sg.types.get(type_name)
        is_entity = ti is not None and any(jt.key for jt in ti.join_types)
        parent = self._cands.get(path)
        cands = resolvers if (is_entity or parent is None) else (parent & resolvers)
        if graph not in cands:
            cands = frozenset({graph})
        self._cands[child_path] = cands
        if f.is_abstract and len(cands) > 1:
            for s2 in cands:
                if s2 != graph:
                    possible &= self.p.possible_in(s2, self.p.field_graph_type(s2, type_name, f.name))
        return possible

    def _place_interface_object(
        self, g: Group, out: OutSel, iface: str, f: NField, path: tuple[str, ...], provided: Provided | None
    ) -> set[int]:
        """``g``'s subgraph returns ``iface`` as an interface object (``__typename`` is the interface)."""
        assert f.sub is not None
        producers: set[int] = {g.id}
        for key in self.p.keys(g.subgraph, iface)[:1]:
            producers |= self._plan_fields(g, out, iface, self.p.fieldset(iface, key), path, provided)
        remaining: dict[str, list[NField]] = {}
        needs_type = False
        iface_level: set[str] = set()
        # Interface-level fields another interface-object subgraph serves are fetched on the interface.
        for nf in f.sub.get("", []):
            if nf.name == "__typename" or self.p.resolvable(g.subgraph, iface, nf.name, provided):
                continue
            others = [
                s
                for s in self.sg.subgraphs
                if s != g.subgraph
                and self.p.is_interface_object(s, iface)
                and self.p.direct(s, iface, nf.name)
                and self.p.keys(s, iface)
            ]
            if others:
                producers |= self._route(g, out, iface, nf, path, provided, only=others[0])
                iface_level.add(nf.key)
        for t, sub in f.sub.items():
            for nf in sub:
                if nf.name == "__typename":
                    needs_type = needs_type or bool(t)
                    continue
                if nf.key in iface_level:
                    continue
                local = self.p.resolvable(g.subgraph, iface, nf.name, provided) and (
                    self._requires_of(g.subgraph, iface, iface, nf.name) is None
                )
                if local:
                    producers |= self._place(g, out, iface, nf, path, provided)
                elif t:
                    remaining.setdefault(t, []).append(nf)
        base = [x.key for x in f.sub.get("", [])]
        if any(t and [x.key for x in sub] != base for t, sub in f.sub.items()):
            needs_type = True
        if not remaining and not needs_type:
            return producers
        # Find the subgraph that knows the real object types behind the interface.
        real = [
            s
            for s in self.sg.subgraphs
            if self.p.type_in(s, iface) and not self.p.is_interface_object(s, iface) and self.p.keys(s, iface)
        ]
        if not real:
            return producers
        s_real = real[0]
        key = self.p.keys(s_real, iface)[0]
        key_fields = self.p.fieldset(iface, key)
        producers |= self._plan_fields(g, out, iface, key_fields, path, provided)
        rg = self._entity_group(s_real, path, g, False, producers)
        req = OutSel()
        self._selection_of(req, key_fields)
        req.add("__typename", "__typename")
        self._add_input(rg, iface, iface, req)
        frag = rg.sel.frag(iface)
        frag.add("__typename", "__typename")
        possible = self.p.possible_in(s_real, iface)
        for t, sub in remaining.items():
            if t in possible:
                producers |= self._plan_fields(rg, frag.frag(t), t, sub, path, None)
        producers.add(rg.id)
        return producers

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

    def _route(
        self,
        g: Group,
        out: OutSel,
        type_name: str,
        f: NField,
        path: tuple[str, ...],
        provided: Provided | None,
        only: str | None = None,
    ) -> set[int]:
        """Resolve ``f`` through an entity fetch to another subgraph."""
        guard = (g.id, type_name, f.key)
        if guard in self._routing:
            raise PlanningError(f"Cannot plan {type_name}.{f.name}: its key cannot be provided")
        self._routing.add(guard)
        try:
            return self._route_inner(g, out, type_name, f, path, provided, only)
        finally:
            self._routing.discard(guard)

    def _route_inner(
        self,
        g: Group,
        out: OutSel,
        type_name: str,
        f: NField,
        path: tuple[str, ...],
        provided: Provided | None,
        only: str | None,
    ) -> set[int]:
        options: list[tuple[tuple[int, int, int], str, str, str]] = []
        for s in self.sg.subgraphs:
            if only is not None and s != only:
                continue
            if s == g.subgraph and self._requires_of(s, type_name, type_name, f.name) is None:
                continue
            send_as = type_name
            if not self.p.direct(s, type_name, f.name):
                io = self.p.interface_objects_for(s, type_name, f.name)
                if io is None:
                    continue
                send_as = io
            for key in self.p.keys(s, send_as):
                key_fields = self.p.fieldset(send_as, key)
                known = self._input_sel(g, type_name, path)
                key_local = all(
                    self.p.resolvable(g.subgraph, type_name, kf.name, provided) or _covers(known, kf)
                    for kf in key_fields
                )
                existing = (s, path, g.id, False) in self.entity_index
                est = self._estimate(s, type_name, [f], None, 2)
                options.append(((0 if key_local else 1, 0 if existing else 1, est), s, send_as, key))
        if not options:
            raise PlanningError(
                f"Cannot plan {type_name}.{f.name}: no subgraph can resolve it from "
                f"subgraph {self.sg.subgraphs[g.subgraph].name}"
            )
        options.sort(key=lambda o: o[0])
        _, s, send_as, key = options[0]
        key_fields = self.p.fieldset(send_as, key)
        known = self._input_sel(g, type_name, path)
        local_kf = [
            kf
            for kf in key_fields
            if self.p.resolvable(g.subgraph, type_name, kf.name, provided) and not _covers(known, kf)
        ]
        missing = [kf for kf in key_fields if kf not in local_kf and not _covers(known, kf)]
        if missing and self._requires_of(s, send_as, type_name, f.name) is None:
            # The key is out of reach here: when the subgraph asked again for the parent field resolves
            # ``f`` itself, it answers ``f`` there (an entity call for it could hit a subgraph whose
            # reference resolver must not be used).
            carried = self._parent_hop(g, type_name, missing, path, carry=f, only=s)
            if carried is not None:
                return carried
        producers = self._plan_fields(g, out, type_name, local_kf, path, provided)
        if missing:
            hop = self._parent_hop(g, type_name, missing, path)
            if hop is None:
                producers |= self._plan_fields(g, out, type_name, missing, path, provided)
            else:
                producers |= hop
        req = OutSel()
        req.add("__typename", "__typename")
        self._selection_of(req, key_fields)
        requires = self._requires_of(s, send_as, type_name, f.name)
        req_key: str | bool = False
        if requires:
            req_fields = _alias_arguments(self.p.fieldset(send_as, requires))
            producers |= self._plan_fields(g, out, type_name, req_fields, path, provided)
            self._selection_of(req, req_fields)
            # Requirements with arguments may clash with another field's: give them their own fetch.
            req_key = requires if "(" in requires else True
        eg = self._entity_group(s, path, g, req_key, producers)
        self._add_input(eg, type_name, send_as, req)
        target = eg.sel.frag(send_as)
        producers |= self._place(eg, target, type_name, f, path, None)
        return producers | {eg.id}

    def _input_sel(self, g: Group, type_name: str, path: tuple[str, ...]) -> OutSel | None:
        """The fields already in the merged objects ``g`` was entered with (its representation)."""
        if g.root_kind is not None or path != g.path or type_name not in g.inputs:
            return None
        return g.inputs[type_name][1]

    def _parent_hop(
        self,
        g: Group,
        type_name: str,
        missing: list[NField],
        path: tuple[str, ...],
        carry: NField | None = None,
        only: str | None = None,
    ) -> set[int] | None:
        """Key fields this subgraph cannot give for objects it returned: ask the parent field again from
        a subgraph that resolves it together with those fields (a parent entity call).  With ``carry``,
        only when that subgraph is ``only`` and resolves ``carry`` too, which it then answers as well."""
        ctx = self._ctx.get((g.id, path))
        if ctx is None:
            return None
        pg, pout, ptype, pf, ppath, pprov = ctx
        if pf.sub is None or (pg.root_kind is not None and not ppath):
            return None
        s2 = next(
            (
                s2
                for s2 in self.sg.subgraphs
                if s2 not in (g.subgraph, pg.subgraph)
                and self.p.direct(s2, ptype, pf.name)
                and all(self.p.direct(s2, type_name, kf.name) for kf in missing)
                and self.p.keys(s2, ptype)
            ),
            None,
        )
        if s2 is None:
            return None
        if carry is not None and (s2 != only or not self.p.direct(s2, type_name, carry.name)):
            return None
        tn = NField("__typename", "__typename", (), "String", ("!",))
        wanted = [tn, *missing, *([carry] if carry is not None else [])]
        part = replace(pf, sub={t: (wanted if t == type_name else []) for t in pf.sub})
        return self._route(pg, pout, ptype, part, ppath, pprov, only=s2)

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

    # ---- assembling the plan --------------------------------------------------------------------------

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
        for g in groups:
            variables |= g.variables
        var_defs = [_print_var_def(self.var_defs[v]) for v in sorted(variables) if v in self.var_defs]
        if first.root_kind is not None:
            sel = OutSel()
            for g in groups:
                sel.merge(g.sel)
            head = first.root_kind + (f"({', '.join(var_defs)})" if var_defs else "")
            renames = _dealias(sel, [0])
            return Fetch(
                subgraph=sub.name,
                url=sub.url,
                operation=f"{head} {{ {sel.text()} }}",
                operation_kind=first.root_kind,
                variable_usages=tuple(sorted(variables)),
                renames=renames,
            )
        sel = OutSel()
        merged_inputs: dict[tuple[tuple[str, ...], str], tuple[str, OutSel]] = {}
        paths: list[tuple[str, ...]] = []
        for g in groups:
            sel.merge(g.sel)
            if g.path not in paths:
                paths.append(g.path)
            for match, (send_as, req) in g.inputs.items():
                # Groups merged into one fetch send one representation per object: the union of inputs.
                cur = merged_inputs.setdefault((g.path, match), (send_as, OutSel()))
                cur[1].merge(req)
        inputs = [
            EntityInput(path=path, match_type=match, send_as=send_as, requires=_to_tree(req))
            for (path, match), (send_as, req) in merged_inputs.items()
        ]
        defs = ", ".join(["$representations: [_Any!]!", *var_defs])
        renames = _dealias(sel, [0])
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
                if not any(_inputs_clash(g, other) for other in bucket):
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
            lambda a, b: _inputs_clash(self.groups[a], self.groups[b]),
        )
        steps: list[PlanNode] = []
        for lv in sorted(layers):
            nodes = [
                self._fetch_for(part, kind)
                for s in layers[lv]
                for part in _same_inputs_parts([self.groups[i] for i in s.members])
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
