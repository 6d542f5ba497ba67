"""The grafbase/graphql-federation-benchmarks scenarios, rebuilt in Python (docs/benchmarks.md).

The suite's subgraphs are Rust (async-graphql) and cannot be built here, and the repository carries no
licence, so nothing of it is copied: the schemas below are written from its description (which subgraph
holds which ``Node`` field, the resolvers' rules), the data are generated with the same distributions and
volume, and every expected response is computed from those rules, not read from the suite.

- **many-plans**: seven subgraphs share ``Node @key(fields: "id0")``; subgraph *i* resolves a subset of the
  pairs ``n<k>: Node`` / ``f<k>: String`` (``MANY_PLANS_FIELDS``). ``node`` has id ``"0"``, ``n<k>`` appends
  the digit ``k`` to the id, ``f<k>`` is ``"f<k>-<id>"``. The query: four levels of four children (4 of
  n0..n6), 256 leaves of four ``f`` fields, ~24 KB, like the suite's.
- **big-response**: one subgraph holds ``nodes(n)`` over 1000 generated nodes (0-64 floats, ints and
  strings of 0-128 letters each), ``Node.nodes(n)`` = the nodes ``id*n .. (id+1)*n`` modulo 1000; a second
  subgraph holds ``Node.name`` (not queried). The query asks for about 8 MB of JSON.
- **deduplication**: the Guild's scenario (``bench/federation``), 50 identical queries at once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import graphql

from gateway.supergraph.compose import SubgraphSource, compose_supergraph

# subgraph index -> the k of the n<k>/f<k> pairs it resolves
MANY_PLANS_FIELDS: dict[int, tuple[int, ...]] = {
    0: (1, 2, 4, 5, 6), 1: (0, 4, 5), 2: (2, 6), 3: (0, 1, 3, 4, 6), 4: (0, 1, 3, 4, 5), 5: (0, 2, 3, 5),
    6: (1, 2, 3, 6),
}
_LINK = ('extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
         'import: ["@key", "@shareable"])\n')


@dataclass(frozen=True)
class Scenario:
    name: str
    subgraphs: dict[str, str]  # name -> SDL (Federation 2)
    query: str

    def supergraph_sdl(self, base_url: str) -> str:
        sources = [SubgraphSource(name, f"{base_url}/{name}", sdl) for name, sdl in self.subgraphs.items()]
        return compose_supergraph(sources)


# ---- many-plans ------------------------------------------------------------------------------------------

def many_plans_sdl(index: int) -> str:
    fields = "".join(f"  n{k}: Node\n  f{k}: String\n" for k in MANY_PLANS_FIELDS[index])
    return (_LINK + "type Query {\n  node: Node @shareable\n}\n"
            f'type Node @key(fields: "id0") @shareable {{\n  id0: ID!\n{fields}}}\n')


def many_plans_query(*, alias: str | None = None, seed: int = 7) -> str:
    """Four levels of four children, 256 leaves of four fields; ``alias`` renames the root field (a
    distinct document for the same work: every request a plan-cache miss)."""
    rng = random.Random(seed)

    def level(depth: int, indent: str) -> str:
        picks = sorted(rng.sample(range(7), 4))
        if depth == 4:
            return "".join(f"{indent}f{k}\n" for k in picks)
        return "".join(f"{indent}n{k} {{\n{level(depth + 1, indent + '  ')}{indent}}}\n" for k in picks)

    root = f"{alias}: node" if alias else "node"
    return f"query {{\n  {root} {{\n{level(0, '    ')}  }}\n}}\n"


def many_plans_expected(query: str) -> dict[str, Any]:
    """The response the suite's resolvers give: ids grow by the child's digit."""
    operation = graphql.parse(query).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)

    def resolve(selection_set: graphql.SelectionSetNode, node_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sel in selection_set.selections:
            assert isinstance(sel, graphql.FieldNode)
            key = sel.alias.value if sel.alias else sel.name.value
            name = sel.name.value
            if name == "id0":
                out[key] = node_id
            elif name.startswith("f"):
                out[key] = f"{name}-{node_id}"
            else:
                assert sel.selection_set is not None
                child = "0" if name == "node" else node_id + name[1:]
                out[key] = resolve(sel.selection_set, child)
        return out

    return {"data": resolve(operation.selection_set, "")}


def many_plans() -> Scenario:
    return Scenario("many-plans", {f"subgraph{i}": many_plans_sdl(i) for i in MANY_PLANS_FIELDS},
                    many_plans_query())


# ---- big-response ----------------------------------------------------------------------------------------

BIG_RESPONSE_SDL0 = _LINK + """type Query {
  nodes(n: Int!): [Node!]!
}
type Node @key(fields: "id") {
  id: Int!
  floats: [Float!]!
  ints: [Int!]!
  strings: [String!]!
  int: Int!
  float: Float!
  string: String!
  nodes(n: Int!): [Node!]!
}
"""
BIG_RESPONSE_SDL1 = _LINK + """type Node @key(fields: "id") {
  id: Int!
  name: String
}
"""
_BIG_FRAGMENTS = ("fragment L on Node { id floats ints strings } "
                  "fragment O on Node { id float int string }")


def big_response_query(scale: int = 1) -> str:
    """``scale=1``: the suite's sizes (about 8 MB); a larger ``scale`` divides every list (small data)."""
    def n(size: int) -> int:
        return max(1, size // scale)

    return (f"query {{ nodes(n: {n(4)}) {{ lists: nodes(n: {n(7)}) {{ ...L nodes(n: {n(8)}) {{ ...L "
            f"nodes(n: {n(8)}) {{ ...L }} }} }} objects: nodes(n: {n(14)}) {{ ...O nodes(n: {n(16)}) {{ ...O "
            f"nodes(n: {n(16)}) {{ ...O }} }} }} }} }} {_BIG_FRAGMENTS}")


@cache
def big_response_nodes() -> tuple[dict[str, Any], ...]:
    """1000 nodes, deterministic (seed 12345), with the suite's distributions."""
    rng = random.Random(12345)

    def letters(length: int) -> str:
        return "".join(chr(rng.randint(97, 122)) for _ in range(length))

    nodes = []
    for i in range(1000):
        floats = [rng.uniform(-1000.0, 1000.0) for _ in range(rng.randint(0, 64))]
        ints = [rng.randint(-10000, 9999) for _ in range(rng.randint(0, 64))]
        strings = [letters(rng.randint(0, 128)) for _ in range(rng.randint(0, 64))]
        nodes.append({"__typename": "Node", "id": i, "name": str(i), "floats": floats, "ints": ints,
                      "strings": strings, "string": letters(rng.randint(10, 128)),
                      "int": rng.randint(-10000, 9999), "float": rng.uniform(-1000.0, 1000.0)})
    return tuple(nodes)


def big_response_range(start: int, count: int) -> Iterator[dict[str, Any]]:
    nodes = big_response_nodes()
    return (nodes[(start + i) % len(nodes)] for i in range(count))


def big_response(scale: int = 1) -> Scenario:
    return Scenario("big-response", {"subgraph0": BIG_RESPONSE_SDL0, "subgraph1": BIG_RESPONSE_SDL1},
                    big_response_query(scale))
