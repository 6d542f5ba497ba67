"""@cost/@listSize composed into the supergraph and used by the cost limit (IBM's GraphQL cost spec
as Apollo's demand control implements it), in place of the default list-size guess."""

from __future__ import annotations

import graphql
from graphql import language as ast

from gateway.safety.limits import MAX_COST, OperationLimiter, OperationLimits, measure_operation
from gateway.supergraph.api_schema import build_api_schema
from gateway.supergraph.compose import SubgraphSource, compose_supergraph

_LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", '
    'import: ["@key", "@cost", "@listSize"])\n'
)
SHOP = (
    _LINK
    + """
type Query {
  items(first: Int = 20): ItemConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
  top: [Item!]! @listSize(assumedSize: 3)
  all: [Item!]!
  report: Report @cost(weight: 50)
}
type ItemConnection { edges: [Edge!]! total: Int }
type Edge { node: Item! }
type Item @key(fields: "id") { id: ID! name: String }
type Report { id: ID! }
"""
)


def _schema() -> graphql.GraphQLSchema:
    sdl = compose_supergraph([SubgraphSource("shop", "http://shop/graphql", SHOP)])
    assert '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])' in sdl
    assert '@listSize(slicingArguments: ["first"], sizedFields: ["edges"])' in sdl
    return build_api_schema(graphql.parse(sdl))


def _cost(query: str, variables: dict[str, object] | None = None) -> int:
    doc = graphql.parse(query)
    op = doc.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    return measure_operation(_schema(), doc, op, default_list_size=10, variables=variables).cost


def test_annotations_replace_the_default_list_size() -> None:
    # edges sized by `first` (given, else its default 20), not multiplied again below
    assert _cost("{ items(first: 5) { edges { node { id name } } } }") == 1 + (1 + 5 * (1 + 2))
    assert _cost("{ items { edges { node { id } } } }") == 1 + (1 + 20 * (1 + 1))
    assert _cost("query($n: Int) { items(first: $n) { edges { node { id } } } }", {"n": 2}) == 1 + (1 + 2 * 2)
    assert _cost("{ top { id } }") == 1 + 3 * 1  # assumedSize
    assert _cost("{ all { id } }") == 1 + 10 * 1  # no annotation: the default guess
    assert _cost("{ report { id } }") == 50 + 1  # @cost weight


def test_cost_limit_refuses_by_the_annotated_sizes() -> None:
    limiter = OperationLimiter(_schema(), OperationLimits(max_cost=100), cache_size=10)
    query = "query($n: Int) { items(first: $n) { edges { node { id name } } } }"
    doc = graphql.parse(query)
    op = doc.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    assert limiter.errors(query, doc, op, {"n": 10}) == ()  # 1 + (1 + 10 * 3) = 32
    [error] = limiter.errors(query, doc, op, {"n": 50})  # 1 + (1 + 50 * 3) = 152
    assert (error.extensions or {})["code"] == MAX_COST
    assert (error.extensions or {})["actual"] == 152


def test_domain_connections_are_annotated() -> None:
    from pathlib import Path

    sdl = (Path(__file__).resolve().parents[3] / "schema" / "supergraph.graphql").read_text()
    schema = build_api_schema(graphql.parse(sdl))
    query = "{ organizations(first: 50) { edges { node { id } } } }"
    doc = graphql.parse(query)
    op = doc.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    assert measure_operation(schema, doc, op).cost == 1 + (1 + 50 * 2)
    unsliced = graphql.parse("{ organizations { edges { node { id } } } }")
    op = unsliced.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    assert measure_operation(schema, unsliced, op).cost == 1 + (1 + 20 * 2)  # assumedSize: a page
