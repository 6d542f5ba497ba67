"""End-to-end execution through the engine against the four shop subgraphs (real HTTP on loopback)."""

from __future__ import annotations

from gateway.engine import Gateway
from gateway.planning.plan import plan_to_text
from tests.gateway.core.conftest import Shop, run


async def test_entity_hop_and_requires(gateway: Gateway, shop_env: Shop) -> None:
    res = await run(gateway, "{ products { id name inStock shippingCost } }")
    assert res["data"] == {
        "products": [
            {"id": "p1", "name": "Nitrile gloves", "inStock": True, "shippingCost": 3},
            {"id": "p2", "name": "Cordless drill", "inStock": False, "shippingCost": 21},
            {"id": "p3", "name": "Angle grinder", "inStock": None, "shippingCost": 13},
        ]
    }
    # The subgraph's error on p3 is mapped back to the client's path.
    assert [e["path"] for e in res["errors"]] == [["products", 2, "inStock"]]
    assert res["errors"][0]["extensions"]["serviceName"] == "inventory"
    # @requires inputs (price, weight) travel in the representations.
    reps = shop_env.subgraphs["inventory"].entity_requests()
    assert len(reps) == 1
    assert reps[0]["variables"]["representations"][0] == {
        "__typename": "Product",
        "id": "p1",
        "price": 12,
        "weight": 1,
    }


async def test_requires_with_argument_and_variables(gateway: Gateway) -> None:
    query = 'query($zip: String!) { product(id: "p2") { name delivery(zip: $zip) } }'
    res = await run(gateway, query, {"zip": "75001"})
    assert res == {"data": {"product": {"name": "Cordless drill", "delivery": "75001:freight"}}}


async def test_provides_saves_a_fetch(gateway: Gateway, shop_env: Shop) -> None:
    res = await run(gateway, "{ latestReviews { id author { name } } }")
    assert res["data"]["latestReviews"][0] == {"id": "r1", "author": {"name": "Ada"}}
    assert shop_env.subgraphs["users"].requests == []


async def test_shareable_field_taken_from_the_subgraph_already_fetching(
    gateway: Gateway, shop_env: Shop
) -> None:
    res = await run(gateway, "{ latestReviews { product { name } } }")
    assert res["data"]["latestReviews"][2] == {"product": {"name": "Cordless drill"}}
    assert shop_env.subgraphs["products"].requests == []


async def test_override_and_progressive_override(gateway: Gateway) -> None:
    res = await run(gateway, "{ latestReviews { author { email phone } } me { email phone } }")
    assert res["data"]["latestReviews"][0]["author"] == {"email": "ada@example.com", "phone": "reviews-phone"}
    # phone: the override label is off, so reviews keeps serving it, also for users' own User objects.
    assert res["data"]["me"] == {"email": "ada@example.com", "phone": "reviews-phone"}


async def test_union_fragments_aliases_typename(gateway: Gateway) -> None:
    query = """
    query Search($text: String!) {
      search(text: $text) {
        __typename
        ... on Product { pid: id name ...Stock }
        ... on Review { body product { price } }
      }
    }
    fragment Stock on Product { inStock }
    """
    res = await run(gateway, query, {"text": "drill"}, operation_name="Search")
    assert res == {
        "data": {
            "search": [
                {"__typename": "Product", "pid": "p2", "name": "Cordless drill", "inStock": False},
                {"__typename": "Review", "body": "Strong drill", "product": {"price": 150}},
            ]
        }
    }


async def test_skip_include_with_variables(gateway: Gateway, shop_env: Shop) -> None:
    query = "query($id: ID!, $stock: Boolean!) { product(id: $id) { name inStock @include(if: $stock) } }"
    res = await run(gateway, query, {"id": "p1", "stock": False})
    assert res == {"data": {"product": {"name": "Nitrile gloves"}}}
    assert shop_env.subgraphs["inventory"].requests == []
    res = await run(gateway, query, {"id": "p1", "stock": True})
    assert res == {"data": {"product": {"name": "Nitrile gloves", "inStock": True}}}


async def test_default_argument_and_variable_defaults(gateway: Gateway) -> None:
    res = await run(gateway, "query($n: Int = 1) { topProducts(first: $n) { id } all: topProducts { id } }")
    assert res == {"data": {"topProducts": [{"id": "p1"}], "all": [{"id": "p1"}, {"id": "p2"}]}}


async def test_mutations_run_in_order(gateway: Gateway, shop_env: Shop) -> None:
    query = """
    mutation {
      first: addProduct(name: "Hacksaw", price: 30) { id name }
      second: addReview(productId: "p4", body: "Sharp") { body product { name } }
    }
    """
    res = await run(gateway, query)
    assert res == {
        "data": {
            "first": {"id": "p4", "name": "Hacksaw"},
            "second": {"body": "Sharp", "product": {"name": "Hacksaw"}},
        }
    }
    plan = gateway.plan(__import__("graphql").parse(query), None, None)
    text = plan_to_text(plan)
    assert text.index('service: "products"') < text.index('service: "reviews"')
    assert "Parallel" not in text


async def test_entities_batched_and_deduplicated(gateway: Gateway, shop_env: Shop) -> None:
    res = await run(gateway, "{ latestReviews { product { id price } } }")
    assert [r["product"]["price"] for r in res["data"]["latestReviews"]] == [12, 12, 150]
    calls = shop_env.subgraphs["products"].entity_requests()
    assert len(calls) == 1
    # p1 is referenced twice but sent once.
    assert calls[0]["variables"]["representations"] == [
        {"__typename": "Product", "id": "p1"},
        {"__typename": "Product", "id": "p2"},
    ]


async def test_one_entities_request_per_subgraph_per_level(gateway: Gateway, shop_env: Shop) -> None:
    query = '{ latestReviews { product { price } } search(text: "grinder") { ... on Product { weight } } }'
    res = await run(gateway, query)
    assert res["data"]["search"] == [{"weight": 2}]
    assert len(shop_env.subgraphs["products"].entity_requests()) == 1
    assert len(shop_env.subgraphs["reviews"].requests) == 1


async def test_null_propagation_for_non_null_field(shop_env: Shop) -> None:
    from tests.gateway.core.conftest import closed_port_url

    gw = Gateway.from_supergraph_sdl(shop_env.supergraph(inventory=closed_port_url()), subgraph_timeout=2.0)
    try:
        res = await run(gw, '{ product(id: "p1") { name shippingCost } products { id } }')
    finally:
        await gw.close()
    # shippingCost is non-null and its subgraph is down: product becomes null, the rest survives.
    assert res["data"] == {"product": None, "products": [{"id": "p1"}, {"id": "p2"}, {"id": "p3"}]}
    assert res["errors"][0]["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"


async def test_explain_returns_plan(gateway: Gateway) -> None:
    res = await run(gateway, "{ products { inStock } }", explain=True)
    plan = res["extensions"]["queryPlan"]
    assert plan["kind"] == "QueryPlan"
    assert plan["node"]["kind"] == "Sequence"
    assert plan["node"]["nodes"][1]["kind"] == "Flatten"
    assert plan["node"]["nodes"][1]["node"]["serviceName"] == "inventory"


async def test_typename_and_introspection(gateway: Gateway) -> None:
    res = await run(
        gateway, '{ __typename __schema { queryType { name } } t: __type(name: "Product") { name } }'
    )
    assert res == {
        "data": {
            "__typename": "Query",
            "__schema": {"queryType": {"name": "Query"}},
            "t": {"name": "Product"},
        }
    }


async def test_plan_cache_reuses_plans(gateway: Gateway) -> None:
    import graphql

    doc = graphql.parse("query($s: Boolean!) { products { id inStock @skip(if: $s) } }")
    a = gateway.plan(doc, None, {"s": True})
    assert gateway.plan(doc, None, {"s": True}) is a
    # @skip/@include are evaluated at execution: one plan for every value (tests/gateway/core/
    # test_condition_nodes.py).
    assert gateway.plan(doc, None, {"s": False}) is a


async def test_subscription_plan_and_event(gateway: Gateway, shop_env: Shop) -> None:
    import graphql

    from gateway.planning.plan import Fetch, Flatten, Subscription

    doc = graphql.parse("subscription { reviewAdded { body product { name price } } }")
    plan = gateway.plan(doc, None, None)
    assert isinstance(plan.node, Subscription)
    assert isinstance(plan.node.primary, Fetch)
    assert plan.node.primary.subgraph == "reviews"
    assert plan.node.primary.operation.startswith("subscription {")
    assert isinstance(plan.node.rest, Flatten)
    event = {
        "data": {
            "reviewAdded": {
                "__typename": "Review",
                "body": "New!",
                "product": {"__typename": "Product", "id": "p2", "name": "Cordless drill"},
            }
        }
    }
    res = await gateway.resolve_subscription_event(plan, event)
    assert res == {
        "data": {"reviewAdded": {"body": "New!", "product": {"name": "Cordless drill", "price": 150}}}
    }


async def test_client_alias_named_like_a_key_field(gateway: Gateway) -> None:
    # "id" here is the product's name; the planner's own key field "id" must not be confused with it.
    res = await run(gateway, '{ product(id: "p2") { id: name name: id inStock } }')
    assert res == {"data": {"product": {"id": "Cordless drill", "name": "p2", "inStock": False}}}
