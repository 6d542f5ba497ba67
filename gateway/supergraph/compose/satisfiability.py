"""Satisfiability: every field reachable in the API schema must be resolvable by some query plan.

Apollo's ``SATISFIABILITY_ERROR``.  The composed supergraph is explored from the root types, one node
per (type, set of alternatives), an alternative being a subgraph that may hold the objects at that
point of a query (with what a ``@provides`` on the way gives it).  For each field of the type, the
alternatives are followed: the subgraph resolves the field itself, or moves with a ``@key`` (one it
can give the fields of) to another subgraph that does, possibly through several moves.  A field no
alternative can get is refused, with an example query, the subgraphs, types and fields involved.
Resolvability is asked of the planner's own ``QueryGraph``, so "satisfiable" means "our planner finds
a plan".  Memoized by node, it runs once per composition (a few milliseconds for our seven domains).

Lenient where a full check would need the query planner's search: ``@requires`` inputs are assumed
obtainable (the planner fetches them like keys), and key moves look at the key's fields in the
source subgraph without following nested entity moves for them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import graphql

from gateway.planning.operation import NField
from gateway.planning.query_graph import Provided, QueryGraph
from gateway.supergraph.api_schema import build_api_schema
from gateway.supergraph.model import parse_supergraph

from .errors import IssueCollector

_MAX_ERRORS = 20  # enough to act on; a broken key can make hundreds of fields unreachable


@dataclass(frozen=True, slots=True)
class _Alt:
    graph: str
    provided: str  # repr of the Provided tree for this type (hashable), "" for none


@dataclass(frozen=True, slots=True)
class _Node:
    type_name: str
    alts: frozenset[_Alt]


class _Checker:
    def __init__(self, sdl: str) -> None:
        doc = graphql.parse(sdl)
        self.sg = parse_supergraph(doc)
        self.qg = QueryGraph(self.sg, graphql.build_ast_schema(doc, assume_valid_sdl=True))
        self.api = build_api_schema(doc)
        self._provided: dict[str, Provided] = {}
        self._reach_memo: dict[
            tuple[str, _Alt, frozenset[tuple[str, str]]],
            tuple[dict[str, _Alt], list[tuple[str, str, str, str]]],
        ] = {}

    def name(self, graph: str) -> str:
        return self.sg.subgraphs[graph].name

    def _prov(self, alt: _Alt) -> Provided | None:
        return self._provided.get(alt.provided) if alt.provided else None

    def _alt(self, graph: str, provided: Provided | None) -> _Alt:
        if not provided:
            return _Alt(graph, "")
        key = repr(sorted(provided.items(), key=lambda kv: kv[0]))
        self._provided[key] = provided
        return _Alt(graph, key)

    # ---- moving between subgraphs ----------------------------------------------------------------

    def _gives(
        self,
        graph: str,
        type_name: str,
        fields: list[NField],
        provided: Provided | None,
        guard: frozenset[tuple[str, str]],
    ) -> bool:
        """Can (key) fields of ``type_name`` be had, starting from ``graph``?  Locally, or from a subgraph
        the objects can move to (the planner fetches keys missing here from elsewhere first)."""
        for f in fields:
            if f.name == "__typename":
                continue
            if self.qg.resolvable(graph, type_name, f.name, provided):
                if not self._gives_below(graph, type_name, f, provided, guard):
                    return False
                continue
            if (graph, type_name) in guard:
                return False
            inner = guard | {(graph, type_name)}
            reach, _ = self._reachable(type_name, self._alt(graph, provided), inner)
            if not any(
                g != graph
                and self.qg.resolvable(g, type_name, f.name, None)
                and self._gives_below(g, type_name, f, None, inner)
                for g in reach
            ):
                return False
        return True

    def _gives_below(
        self,
        graph: str,
        type_name: str,
        f: NField,
        provided: Provided | None,
        guard: frozenset[tuple[str, str]],
    ) -> bool:
        if not f.sub:
            return True
        child_prov: Provided | None = None
        if provided is not None and f.name in provided.get(type_name, {}):
            child_prov = provided[type_name][f.name] or None
        return all(not t or self._gives(graph, t, sub, child_prov, guard) for t, sub in f.sub.items())

    def _entry_keys(self, graph: str, type_name: str) -> list[tuple[str, str]]:
        """(type the key is declared on, key) with which ``graph`` can be entered for ``type_name``."""
        out = [(type_name, k) for k in self.qg.keys(graph, type_name)]
        ti = self.sg.types.get(type_name)
        if ti is not None and ti.kind == "OBJECT":
            ifaces: set[str] = set()
            for s in ti.implements.values():
                ifaces |= s
            for iface in sorted(ifaces):
                if self.qg.is_interface_object(graph, iface):
                    out += [(iface, k) for k in self.qg.keys(graph, iface)]
        return out

    def reachable(self, type_name: str, alt: _Alt) -> tuple[dict[str, _Alt], list[tuple[str, str, str, str]]]:
        """Subgraphs the objects can move to from ``alt`` by keys (with the alternative each move starts
        from), and the moves that failed: (from graph, to graph, key type, key)."""
        return self._reachable(type_name, alt, frozenset())

    def _reachable(
        self, type_name: str, alt: _Alt, guard: frozenset[tuple[str, str]]
    ) -> tuple[dict[str, _Alt], list[tuple[str, str, str, str]]]:
        memo_key = (type_name, alt, guard)
        hit = self._reach_memo.get(memo_key)
        if hit is not None:
            return hit
        seen: dict[str, _Alt] = {alt.graph: alt}
        failed: list[tuple[str, str, str, str]] = []
        queue = deque([alt])
        while queue:
            cur = queue.popleft()
            for target in self.sg.subgraphs:
                keys = [] if target in seen else self._entry_keys(target, type_name)
                for key_type, key in keys:
                    if self._gives(
                        cur.graph, type_name, self.qg.fieldset(key_type, key), self._prov(cur), guard
                    ):
                        seen[target] = _Alt(target, "")
                        queue.append(seen[target])
                        break
                else:
                    failed += [(cur.graph, target, key_type, key) for key_type, key in keys]
        result = seen, [f for f in failed if f[1] not in seen]
        self._reach_memo[memo_key] = result
        return result

    # ---- exploring -------------------------------------------------------------------------------

    def children(
        self, graph: str, parent: str, field: str, return_type: str, provided: Provided | None
    ) -> dict[str, set[_Alt]]:
        """Concrete types the field may return from ``graph``, each with the alternative it starts as."""
        child_prov: Provided | None = None
        if provided is not None and field in provided.get(parent, {}):
            child_prov = provided[parent][field] or None
        own = self.qg.provided_for(graph, parent, field, return_type)
        if own is not None:
            child_prov = own if child_prov is None else {**child_prov, **own}
        api_type = self.api.get_type(return_type)
        out: dict[str, set[_Alt]] = {}
        if isinstance(api_type, graphql.GraphQLObjectType):
            concrete = [return_type]
        elif isinstance(api_type, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
            if self.qg.is_interface_object(graph, return_type):
                concrete = [t.name for t in self.api.get_possible_types(api_type)]
            else:
                possible = self.qg.possible_in(graph, return_type)
                concrete = [t.name for t in self.api.get_possible_types(api_type) if t.name in possible]
        else:
            return out
        for c in concrete:
            prov = {c: child_prov.get(c, {})} if child_prov else None
            out.setdefault(c, set()).add(self._alt(graph, prov))
        return out

    def check(self, issues: IssueCollector) -> None:
        roots = [self.api.query_type, self.api.mutation_type, self.api.subscription_type]
        queue: deque[tuple[_Node, tuple[tuple[str, str], ...]]] = deque()
        visited: set[_Node] = set()
        for root in roots:
            if root is None:
                continue
            alts = frozenset(_Alt(g, "") for g in self.sg.subgraphs if self.qg.type_in(g, root.name))
            queue.append((_Node(root.name, alts), ()))
        reported: set[tuple[str, str]] = set()
        while queue and len(reported) < _MAX_ERRORS:
            node, path = queue.popleft()
            if node in visited:
                continue
            visited.add(node)
            api_type = self.api.get_type(node.type_name)
            if not isinstance(api_type, graphql.GraphQLObjectType):
                continue
            moves = {alt: self.reachable(node.type_name, alt) for alt in node.alts}
            for fname, fdef in api_type.fields.items():
                ret = graphql.get_named_type(fdef.type).name
                child_alts: dict[str, set[_Alt]] = {}
                found = False
                for alt in node.alts:
                    reach, _ = moves[alt]
                    for g, start in reach.items():
                        if not self.qg.resolvable(g, node.type_name, fname, self._prov(start)):
                            continue
                        found = True
                        for c, more in self.children(
                            g, node.type_name, fname, ret, self._prov(start)
                        ).items():
                            child_alts.setdefault(c, set()).update(more)
                if not found:
                    if (node.type_name, fname) not in reported:
                        reported.add((node.type_name, fname))
                        self._report(issues, node, path, fname, moves)
                    continue
                for c, found_alts in child_alts.items():
                    step = (fname, "" if c == ret else c)
                    queue.append((_Node(c, frozenset(found_alts)), (*path, step)))

    def _report(
        self,
        issues: IssueCollector,
        node: _Node,
        path: tuple[tuple[str, str], ...],
        fname: str,
        moves: dict[_Alt, tuple[dict[str, _Alt], list[tuple[str, str, str, str]]]],
    ) -> None:
        reasons: list[str] = []
        for alt in sorted(node.alts, key=lambda a: self.name(a.graph)):
            reach, failed = moves[alt]
            lines = [f'- from subgraph "{self.name(alt.graph)}":']
            tried = sorted(self.name(g) for g in reach)
            lines.append(
                f'  - cannot find field "{node.type_name}.{fname}" in subgraph'
                f"{'s' if len(tried) > 1 else ''} {', '.join(repr(t) for t in tried)}."
            )
            for src, dst, key_type, key in failed:
                if self.qg.resolvable(dst, node.type_name, fname, None):
                    lines.append(
                        f'  - cannot move to subgraph "{self.name(dst)}", which has field '
                        f'"{node.type_name}.{fname}", using @key(fields: "{key}") of "{key_type}": '
                        f'the key field(s) cannot be resolved from subgraph "{self.name(src)}".'
                    )
            reasons.append("\n".join(lines))
        issues.add(
            "SATISFIABILITY_ERROR",
            "The following supergraph API query:\n"
            + _example(path, fname)
            + "\ncannot be satisfied by the subgraphs because:\n"
            + "\n".join(reasons),
        )


def _example(path: tuple[tuple[str, str], ...], leaf: str) -> str:
    lines = ["{"]
    depth = 1
    for fname, on in path:
        lines.append("  " * depth + fname + " {")
        depth += 1
        if on:
            lines.append("  " * depth + f"... on {on} {{")
            depth += 1
    lines.append("  " * depth + leaf)
    while depth > 1:
        depth -= 1
        lines.append("  " * depth + "}")
    lines.append("}")
    return "\n".join(lines)


def check_satisfiability(sdl: str, issues: IssueCollector) -> None:
    _Checker(sdl).check(issues)
