"""Path finding: placing each field of the operation into fetch groups.

A field goes into the group of its parent when that subgraph resolves it (not ``@external`` unless
``@provides`` covers it, not overridden, no ``@requires``); otherwise it is routed through an entity
fetch (``_entities``) to a subgraph that resolves it, entered with a key the current subgraph can give.
Key fields, ``@requires`` inputs and parent hops (asking the parent field again from another subgraph
when a key is out of reach) are planned like client fields.  Choices come from ``choice.Choice``.
"""

from __future__ import annotations

from dataclasses import replace

from gateway.planning.choice import Choice
from gateway.planning.fetch_groups import Group
from gateway.planning.operation import NField, print_args
from gateway.planning.query_graph import PlanningError, Provided
from gateway.planning.selections import OutSel, alias_arguments, covers


class PathFinder(Choice):
    def _plan_root_field(self, root_name: str, f: NField, kind: str, index: int) -> None:
        graph = self._root_candidates(root_name, f, kind)[0]
        if kind == "query" and graph in self.root_index:
            g = self.root_index[graph]
        else:
            g = self._new_group(graph, (), kind, index)
            if kind == "query":
                self.root_index[graph] = g
        self._plan_fields(g, g.sel, root_name, [f], (), None)

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
            f.cond,
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
        options = self._route_options(g, type_name, f, path, provided, only)
        if not options:
            raise PlanningError(
                f"Cannot plan {type_name}.{f.name}: no subgraph can resolve it from "
                f"subgraph {self.sg.subgraphs[g.subgraph].name}"
            )
        _, s, send_as, key = options[0]
        key_fields = self.p.fieldset(send_as, key)
        known = self._input_sel(g, type_name, path)
        local_kf = [
            kf
            for kf in key_fields
            if self.p.resolvable(g.subgraph, type_name, kf.name, provided) and not covers(known, kf)
        ]
        missing = [kf for kf in key_fields if kf not in local_kf and not covers(known, kf)]
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
            req_fields = alias_arguments(self.p.fieldset(send_as, requires))
            producers |= self._plan_fields(g, out, type_name, req_fields, path, provided)
            self._selection_of(req, req_fields)
            # Requirements with arguments may clash with another field's: give them their own fetch.
            req_key = requires if "(" in requires else True
        eg = self._entity_group(s, path, g, req_key, producers)
        self._add_input(eg, type_name, send_as, req)
        target = eg.sel.frag(send_as)
        producers |= self._place(eg, target, type_name, f, path, None)
        return producers | {eg.id}

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
