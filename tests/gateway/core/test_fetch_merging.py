"""Fetch merging (gateway/planning/merge.py): an entity fetch folds into a later fetch to the same subgraph
for the same objects when nothing in between needs its output."""

from __future__ import annotations

import asyncio
from typing import Any

import graphql
import pytest

from bench.federation import scenario
from gateway.engine import Gateway, OperationRequest
from gateway.planning.merge import Slot, fold_later_fetches
from gateway.planning.plan import Fetch, Flatten, QueryPlan, Sequence, plan_to_text
from gateway.planning.planner import Planner
from gateway.supergraph.compose import SubgraphSource, compose_supergraph
from gateway.supergraph.model import parse_supergraph
from tests.gateway.core.audit_data import fetch_nodes

# ---- the pure pass -------------------------------------------------------------------------------

PATHS = {0: (), 1: ("a",), 2: ("a",), 3: ("a",), 4: ("b",)}


def _members(layers: dict[int, list[Slot]]) -> dict[int, list[tuple[str, list[int]]]]:
    return {lv: [(s.subgraph, sorted(s.members)) for s in slots] for lv, slots in layers.items()}


def _never(a: int, b: int) -> bool:
    return False


def test_earlier_fetch_folds_into_later_one_at_the_same_path() -> None:
    layers = {
        0: [Slot("root", False, [0])],
        1: [Slot("inv", True, [1]), Slot("p", True, [2])],
        2: [Slot("inv", True, [3])],
    }
    out = fold_later_fetches(layers, PATHS, {0: {1, 2}, 2: {3}}, _never)
    assert _members(out) == {0: [("root", [0])], 1: [("p", [2])], 2: [("inv", [1, 3])]}
    assert _members(layers)[2] == [("inv", [3])]  # the input is not modified


def test_no_fold_when_a_fetch_in_between_needs_its_output() -> None:
    # 1 (inv) -> 2 (shipping, needs 1) -> 3 (inv, needs 2): folding 1 into 3 would starve 2.
    layers = {
        0: [Slot("root", False, [0])],
        1: [Slot("inv", True, [1])],
        2: [Slot("ship", True, [2])],
        3: [Slot("inv", True, [3])],
    }
    paths = {0: (), 1: ("a",), 2: ("a",), 3: ("a",)}
    out = fold_later_fetches(layers, paths, {0: {1}, 1: {2}, 2: {3}}, _never)
    assert _members(out) == _members(layers)


def test_no_fold_across_different_paths_clashes_or_root_fetches() -> None:
    layers = {1: [Slot("inv", True, [4])], 2: [Slot("inv", True, [3])]}
    assert _members(fold_later_fetches(layers, PATHS, {}, _never)) == _members(layers)
    layers = {1: [Slot("inv", True, [1])], 2: [Slot("inv", True, [3])]}
    assert _members(fold_later_fetches(layers, PATHS, {}, lambda a, b: True)) == _members(layers)
    layers = {0: [Slot("inv", False, [0])], 1: [Slot("inv", False, [1])]}
    assert _members(fold_later_fetches(layers, PATHS, {}, _never)) == _members(layers)


def test_fold_skips_a_clashing_slot_for_another_of_the_same_subgraph() -> None:
    layers = {1: [Slot("inv", True, [1])], 2: [Slot("inv", True, [2]), Slot("inv", True, [3])]}
    out = fold_later_fetches(layers, PATHS, {}, lambda a, b: {a, b} == {1, 2})
    assert _members(out) == {2: [("inv", [2]), ("inv", [1, 3])]}


# ---- through the planner -------------------------------------------------------------------------

REVIEWS = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { reviews: [Review] }
type Review { id: ID! product: Product }
type Product @key(fields: "upc") { upc: String! }
"""
PRODUCTS = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Product @key(fields: "upc") { upc: String! price: Int weight: Int }
"""
INVENTORY = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
                    import: ["@key", "@external", "@requires"])
type Product @key(fields: "upc") {
  upc: String!
  inStock(warehouse: String): Boolean
  price: Int @external
  weight: Int @external
  shippingEstimate: Int @requires(fields: "price weight")
  restock: String @requires(fields: "delivery")
  delivery: String @external
}
"""
SHIPPING = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
                    import: ["@key", "@external", "@requires"])
type Product @key(fields: "upc") {
  upc: String!
  inStock(warehouse: String): Boolean @external
  delivery: String @requires(fields: "inStock")
}
"""


def _planner() -> Planner:
    sdl = compose_supergraph(
        [
            SubgraphSource("reviews", "http://reviews/graphql", REVIEWS),
            SubgraphSource("products", "http://products/graphql", PRODUCTS),
            SubgraphSource("inventory", "http://inventory/graphql", INVENTORY),
            SubgraphSource("shipping", "http://shipping/graphql", SHIPPING),
        ]
    )
    doc = graphql.parse(sdl)
    return Planner(parse_supergraph(doc), graphql.build_ast_schema(doc, assume_valid_sdl=True))


def _plan(query: str, variables: dict[str, Any] | None = None) -> QueryPlan:
    return _planner().plan(graphql.parse(query), None, variables)


def _fetches(plan: QueryPlan, subgraph: str) -> list[Fetch]:
    return [f for f in fetch_nodes(plan.node) if f.subgraph == subgraph]


def test_planner_folds_in_stock_into_the_shipping_estimate_fetch() -> None:
    plan = _plan("""
      query($w: String) { reviews { id product { here: inStock(warehouse: $w) shippingEstimate upc } } }
    """)
    text = plan_to_text(plan)
    assert len(fetch_nodes(plan.node)) == 3, text  # reviews, products, inventory once
    (inv,) = _fetches(plan, "inventory")
    assert "here: inStock(warehouse: $w)" in inv.operation and "shippingEstimate" in inv.operation
    assert "$w: String" in inv.operation and inv.variable_usages == ("w",)
    (inp,) = inv.inputs
    assert [n for n, _, _ in inp.requires.fields] == ["__typename", "upc", "price", "weight"]
    assert inp.path == ("reviews", "product") and inp.match_type == "Product"
    # The merged fetch runs in the last step, after products gave price and weight.
    assert isinstance(plan.node, Sequence) and len(plan.node.nodes) == 3
    last = plan.node.nodes[-1]
    assert isinstance(last, Flatten) and last.node is inv


def test_planner_keeps_two_fetches_when_a_fetch_in_between_needs_the_first() -> None:
    # inventory.inStock -> shipping.delivery (@requires inStock) -> inventory.restock (@requires delivery)
    plan = _plan("{ reviews { product { restock } } }")
    text = plan_to_text(plan)
    inv = _fetches(plan, "inventory")
    assert len(inv) == 2, text
    assert "inStock" in inv[0].operation and "restock" in inv[1].operation
    assert len(_fetches(plan, "shipping")) == 1


# ---- the benchmark scenario ----------------------------------------------------------------------

needs_scenario = pytest.mark.needs_shared("bench-scenario")


@needs_scenario
def test_benchmark_plan_sends_seven_requests() -> None:
    sdl = (scenario.scenario_dir() / "supergraph.graphql").read_text()
    gw = Gateway.from_supergraph_sdl(sdl)
    plan = gw.plan(graphql.parse(scenario.query_text()), None, {})
    fetches = fetch_nodes(plan.node)
    assert len(fetches) == 7, plan_to_text(plan)
    # Inventory is asked once per set of products, for inStock and shippingEstimate together.
    inventory = [f for f in fetches if f.subgraph == "inventory"]
    assert len(inventory) == 2
    assert all("inStock" in f.operation and "shippingEstimate" in f.operation for f in inventory)


@needs_scenario
async def test_benchmark_response_through_our_engine() -> None:
    from bench.federation.subgraphs.server import SubgraphApp, serve

    app = SubgraphApp()
    server = await serve("127.0.0.1", 0, app)
    port = server.sockets[0].getsockname()[1]
    gw = Gateway.from_supergraph_sdl(scenario.supergraph_sdl(f"http://127.0.0.1:{port}"))
    try:
        doc = graphql.parse(scenario.query_text())
        result = await gw.execute(OperationRequest(document=doc, operation_name=None, variables=None))
    finally:
        await gw.close()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5.0)
    assert "errors" not in result, result.get("errors")
    assert result["data"] == scenario.expected_response()["data"]
    assert sum(app.counts.values()) == 7


SHELF = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { shelf: [Media] }
union Media = Book | Movie
type Book @key(fields: "id") { id: ID! }
type Movie @key(fields: "id") { id: ID! }
"""
PRICES = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Movie @key(fields: "id") { id: ID! price: Int }
"""
STOCK = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
                    import: ["@key", "@external", "@requires"])
type Book @key(fields: "id") { id: ID! inStock: Boolean }
type Movie @key(fields: "id") {
  id: ID!
  price: Int @external
  shippingEstimate: Int @requires(fields: "price")
}
"""


def test_fold_keeps_one_representation_per_concrete_type() -> None:
    sdl = compose_supergraph(
        [
            SubgraphSource("shelf", "http://shelf/graphql", SHELF),
            SubgraphSource("prices", "http://prices/graphql", PRICES),
            SubgraphSource("stock", "http://stock/graphql", STOCK),
        ]
    )
    doc = graphql.parse(sdl)
    planner = Planner(parse_supergraph(doc), graphql.build_ast_schema(doc, assume_valid_sdl=True))
    plan = planner.plan(
        graphql.parse("{ shelf { ... on Book { inStock } ... on Movie { shippingEstimate } } }"), None, {}
    )
    text = plan_to_text(plan)
    assert len(fetch_nodes(plan.node)) == 3, text
    (stock,) = [f for f in fetch_nodes(plan.node) if f.subgraph == "stock"]
    assert (
        "... on Book { inStock }" in stock.operation
        and "... on Movie { shippingEstimate }" in stock.operation
    )
    reps = {i.match_type: [n for n, _, _ in i.requires.fields] for i in stock.inputs}
    assert reps == {"Book": ["__typename", "id"], "Movie": ["__typename", "id", "price"]}
