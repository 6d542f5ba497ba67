"""Supergraph parsing (join v0.1 to v0.5) and the API schema."""

from __future__ import annotations

import graphql
import pytest

from gateway.planning.plan import plan_to_text
from gateway.planning.planner import Planner
from gateway.supergraph.api_schema import build_api_schema
from gateway.supergraph.model import parse_supergraph
from tests.gateway.core import audit_data, shop

FED1_SUPERGRAPH = """
schema
  @core(feature: "https://specs.apollo.dev/core/v0.1")
  @core(feature: "https://specs.apollo.dev/join/v0.1") {
  query: Query
}
directive @core(feature: String!) repeatable on SCHEMA
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet)
  on FIELD_DEFINITION
directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on OBJECT | INTERFACE
directive @join__owner(graph: join__Graph!) on OBJECT | INTERFACE
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
scalar join__FieldSet
enum join__Graph {
  PRODUCTS @join__graph(name: "products" url: "http://127.0.0.1:1/products")
  REVIEWS @join__graph(name: "reviews" url: "http://127.0.0.1:1/reviews")
}
type Query { topProducts: [Product] @join__field(graph: PRODUCTS) }
type Product @join__owner(graph: PRODUCTS) @join__type(graph: PRODUCTS, key: "upc")
  @join__type(graph: REVIEWS, key: "upc") {
  upc: String! @join__field(graph: PRODUCTS)
  name: String @join__field(graph: PRODUCTS)
  reviews: [Review] @join__field(graph: REVIEWS)
}
type Review { body: String }
"""


def test_join_v05_model() -> None:
    sg = parse_supergraph(graphql.parse(shop.supergraph({})))
    assert sg.join_version == "0.5"
    assert {s.name for s in sg.subgraphs.values()} == {"products", "inventory", "reviews", "users"}
    assert sg.mutation_type == "Mutation" and sg.subscription_type == "Subscription"
    product = sg.types["Product"]
    assert sorted(jt.graph for jt in product.join_types) == ["INVENTORY", "PRODUCTS", "REVIEWS"]
    [req] = product.fields["shippingCost"].join_fields
    assert req.requires == "price weight"
    phone = {jf.graph: jf for jf in sg.types["User"].fields["phone"].join_fields}
    assert phone["USERS"].override == "reviews" and phone["USERS"].override_label == "percent(0)"
    assert sg.types["SearchResult"].union_members == {"REVIEWS": {"Product", "Review"}}


def test_join_v01_fed1_supergraph_plans() -> None:
    doc = graphql.parse(FED1_SUPERGRAPH)
    sg = parse_supergraph(doc)
    assert sg.join_version == "0.1"
    assert sg.types["Product"].owner == "PRODUCTS"
    planner = Planner(sg, graphql.build_ast_schema(doc, assume_valid_sdl=True))
    text = plan_to_text(planner.plan(graphql.parse("{ topProducts { name reviews { body } } }"), None, {}))
    assert 'Fetch(service: "products")' in text
    assert "query { topProducts { __typename name upc } }" in text
    assert (
        "_entities(representations: $representations) { ... on Product { reviews { __typename body } } }"
        in text
    )
    api = build_api_schema(doc)
    assert "join__Graph" not in api.type_map and "Product" in api.type_map


@pytest.mark.needs_shared("federation-audit")
def test_api_schema_drops_inaccessible_and_machinery() -> None:
    doc = graphql.parse(audit_data.supergraph_sdl("simple-inaccessible"))
    api = build_api_schema(doc)
    assert not graphql.validate_schema(api)
    sdl = graphql.print_schema(api)
    assert "join__" not in sdl and "link__" not in sdl and "@inaccessible" not in sdl
    friend_type = api.get_type("FriendType")
    assert isinstance(friend_type, graphql.GraphQLEnumType)
    assert "FAMILY" not in friend_type.values  # @inaccessible enum value
    user = api.get_type("User")
    assert isinstance(user, graphql.GraphQLObjectType)
    assert "type" not in user.fields["friends"].args  # @inaccessible argument
