"""Choosing the best plan: cost estimates and the ranking of candidate subgraphs and keys.

The planner is greedy: at each field it takes the candidate with the lowest local cost, estimated as the
number of extra fetches its subtree would need (``_estimate``).  Here are the rankings for root fields
and entity routes, which object types are safe to ask for below shareable paths, and which children
must be asked from another subgraph because no key can reach them.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.planning.fetch_groups import Group, GroupBuilder
from gateway.planning.operation import NField
from gateway.planning.query_graph import PlanningError, Provided
from gateway.planning.selections import covers


class Choice(GroupBuilder):
    def _root_candidates(self, root_name: str, f: NField, kind: str) -> list[str]:
        """Subgraphs that resolve the root field ``f``, best first."""
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
        return cands

    def _route_options(
        self,
        g: Group,
        type_name: str,
        f: NField,
        path: tuple[str, ...],
        provided: Provided | None,
        only: str | None,
    ) -> list[tuple[tuple[int, int, int], str, str, str]]:
        """(rank, subgraph, send as, key) for an entity fetch of ``f``, best first: keys this group can
        give first, then groups that exist already, then the cheapest subtree."""
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
                    self.p.resolvable(g.subgraph, type_name, kf.name, provided) or covers(known, kf)
                    for kf in key_fields
                )
                existing = (s, path, g.id, False) in self.entity_index
                est = self._estimate(s, type_name, [f], None, 2)
                options.append(((0 if key_local else 1, 0 if existing else 1, est), s, send_as, key))
        options.sort(key=lambda o: o[0])
        return options

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
