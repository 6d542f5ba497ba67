"""SATISFIABILITY_ERROR: a field reachable in the API schema that no query plan can resolve."""

from __future__ import annotations

import time
from pathlib import Path

from test_composition_rules import compose, errors, fed2

from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from gateway.supergraph.compose.errors import IssueCollector
from gateway.supergraph.compose.satisfiability import check_satisfiability

SCHEMA = Path(__file__).resolve().parents[3] / "schema"


def test_key_the_source_cannot_give_is_refused_with_names() -> None:
    exc = errors(
        a=fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }'),
        b=fed2('type P @key(fields: "id sku") { id: ID! sku: String! name: String }'),
    )
    assert exc.codes == ["SATISFIABILITY_ERROR", "SATISFIABILITY_ERROR"]  # P.sku and P.name
    message = next(i.message for i in exc.issues if '"P.name"' in i.message)
    assert "{\n  p {\n    name\n  }\n}" in message  # an example query
    assert 'from subgraph "a"' in message
    assert (
        'cannot move to subgraph "b", which has field "P.name", using @key(fields: "id sku") of "P"'
        in message
    )


def test_key_fetched_from_a_third_subgraph_is_satisfiable() -> None:
    # a cannot give b's key (sku), but c gives it from a's key: a -> c -> b.
    compose(
        a=fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }'),
        c=fed2('type P @key(fields: "id") { id: ID! sku: String! @shareable }'),
        b=fed2('type P @key(fields: "sku") { sku: String! @shareable name: String }'),
    )


def test_provides_and_interfaces_are_followed() -> None:
    a = (
        'type Query { r: R }\ntype R { u: U @provides(fields: "name") }\n'
        'type U @key(fields: "id") { id: ID! name: String! @external }'
    )
    b = 'type U @key(fields: "id", resolvable: false) { id: ID! name: String! @shareable }'
    compose(a=fed2(a), b=fed2(b))  # U.name: only what a's @provides gives, and that is enough
    without = a.replace(' @provides(fields: "name")', "").replace(" name: String! @external", "")
    exc = errors(a=fed2(without), b=fed2(b))
    assert exc.codes == ["SATISFIABILITY_ERROR"] and '"U.name"' in exc.issues[0].message
    # an abstract entry: objects of U behind Node move to b with U's key
    exc = errors(
        a=fed2(
            "type Query { node: Node }\ninterface Node { id: ID! }\n"
            'type U implements Node @key(fields: "id") { id: ID! }'
        ),
        b=fed2('type U @key(fields: "name") { name: String! @shareable extra: Int }'),
    )
    assert set(exc.codes) == {"SATISFIABILITY_ERROR"}
    assert any("... on U" in i.message and '"U.extra"' in i.message for i in exc.issues)


def test_domain_supergraph_is_checked_well_under_a_second() -> None:
    sdl = (SCHEMA / "supergraph.graphql").read_text()
    issues = IssueCollector()
    began = time.perf_counter()
    check_satisfiability(sdl, issues)
    elapsed = time.perf_counter() - began
    assert not issues.issues
    assert elapsed < 1.0, elapsed  # ~0.05-0.1 s here; generous for a loaded machine
    sources = [
        SubgraphSource(p.stem, f"http://{p.stem}.local/graphql", p.read_text())
        for p in sorted(SCHEMA.glob("*.graphql"))
        if p.stem != "supergraph"
    ]
    compose_supergraph(sources)  # and the whole composition passes it
