"""Executable graphql-core schemas for the scenario's subgraphs, built from the scenario's Federation v2 SDL.

Each schema gets the federation additions (``_Any``, ``_Entity``, ``Query._entities``, ``Query._service``)
and resolvers that answer as the published benchmark's Rust subgraphs do (see the scenario README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphql

from bench.federation import scenario

# Definitions of the federation directives that the SDL uses, so that graphql-core can build it.
FEDERATION_PRELUDE = """
scalar _Any
scalar FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @external(reason: String) on OBJECT | FIELD_DEFINITION
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
type _Service { sdl: String }
"""

ENTITY_TYPES: dict[str, tuple[str, ...]] = {
    "accounts": ("User",),
    "inventory": ("Product",),
    "products": ("Product",),
    "reviews": ("Review", "User", "Product"),
}

Resolver = Callable[..., Any]
EntityResolver = Callable[[dict[str, Any]], Any]


def _build(name: str, resolvers: dict[str, dict[str, Resolver]], entities: dict[str, EntityResolver]) -> (
        graphql.GraphQLSchema):
    sdl = scenario.subgraph_sdl(name)
    has_query = "type Query" in sdl
    extra = (f"union _Entity = {' | '.join(ENTITY_TYPES[name])}\n"
             + ("extend type Query" if has_query else "type Query")
             + " { _entities(representations: [_Any!]!): [_Entity]! _service: _Service! }\n")
    schema = graphql.build_schema(FEDERATION_PRELUDE + sdl + "\n" + extra)

    def resolve_entities(_root: Any, _info: Any,
                         representations: list[dict[str, Any]]) -> list[Any]:
        out = []
        for rep in representations:
            resolve = entities.get(rep.get("__typename", ""))
            out.append(resolve(rep) if resolve else None)
        return out

    all_resolvers = {**resolvers}
    all_resolvers.setdefault("Query", {})
    all_resolvers["Query"] = {**all_resolvers["Query"], "_entities": resolve_entities,
                              "_service": lambda *_: {"sdl": sdl}}
    for type_name, fields in all_resolvers.items():
        gql_type = schema.get_type(type_name)
        assert isinstance(gql_type, graphql.GraphQLObjectType), type_name
        for field_name, resolver in fields.items():
            gql_type.fields[field_name].resolve = resolver
    entity_union = schema.get_type("_Entity")
    assert isinstance(entity_union, graphql.GraphQLUnionType)
    entity_union.resolve_type = lambda obj, *_: obj["__typename"]
    return schema


def _by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def accounts_schema() -> graphql.GraphQLSchema:
    data = scenario.subgraph_data("accounts")
    users = [{"__typename": "User", **user} for user in data["users"]]
    by_id = _by(users, "id")
    return _build("accounts", {"Query": {
        "users": lambda *_: users,
        "me": lambda *_: by_id.get(data["me"]),
        "user": lambda _root, _info, id: by_id.get(id),
    }}, {"User": lambda rep: by_id.get(str(rep.get("id")))})


def products_schema() -> graphql.GraphQLSchema:
    data = scenario.subgraph_data("products")
    products = [{"__typename": "Product", **product} for product in data["products"]]
    by_upc = _by(products, "upc")
    default_first: int = data.get("topProductsDefaultFirst", 5)

    def top_products(_root: Any, _info: Any, first: int | None = default_first) -> list[dict[str, Any]]:
        return products[: default_first if first is None else first]

    return _build("products", {"Query": {"topProducts": top_products}},
                  {"Product": lambda rep: by_upc.get(str(rep.get("upc")))})


def shipping_estimate_from(price: int | None, weight: int | None) -> int | None:
    """The rule the Rust subgraph would apply (graphql-hive/router's variant applies it to the rep)."""
    if price is None:
        return None
    if price > 1000:
        return 0
    return weight // 2 if weight is not None else None


def inventory_schema(*, use_requires: bool = False) -> graphql.GraphQLSchema:
    """``use_requires=False`` (the published behaviour) ignores the price and weight in the representation,
    so ``shippingEstimate`` is always null; ``True`` gives graphql-hive/router's bench variant."""
    in_stock = {row["upc"]: row["inStock"] for row in scenario.subgraph_data("inventory")["inventory"]}

    def product(rep: dict[str, Any]) -> dict[str, Any]:
        upc = rep.get("upc")
        price, weight = (rep.get("price"), rep.get("weight")) if use_requires else (None, None)
        return {"__typename": "Product", "upc": upc, "inStock": in_stock.get(upc),
                "shippingEstimate": shipping_estimate_from(price, weight)}

    return _build("inventory", {}, {"Product": product})


def reviews_schema() -> graphql.GraphQLSchema:
    data = scenario.subgraph_data("reviews")
    reviews = [{"__typename": "Review", **review} for review in data["reviews"]]
    by_id = _by(reviews, "id")
    author_data = data["reviewAuthor"]
    author = {"__typename": "User", "id": author_data["id"], "username": author_data["username"],
              "reviews": [by_id[i] for i in author_data["reviewIds"]]}
    entity_user = data["userEntityReviews"]
    entity_user_reviews = [by_id[i] for i in entity_user["reviewIds"]]

    def product_of(review: dict[str, Any], *_: Any) -> dict[str, Any]:
        return {"__typename": "Product", "upc": review["product"]["upc"]}

    def reviews_of_product(product: dict[str, Any], *_: Any) -> list[dict[str, Any]]:
        return [r for r in reviews if r["product"]["upc"] == product["upc"]]

    return _build("reviews", {
        "Review": {"product": product_of, "author": lambda *_: author},
        "Product": {"reviews": reviews_of_product},
    }, {
        "Review": lambda rep: by_id.get(str(rep.get("id"))),
        "User": lambda rep: {"__typename": "User", "id": rep.get("id"), "username": entity_user["username"],
                             "reviews": entity_user_reviews},
        "Product": lambda rep: {"__typename": "Product", "upc": rep.get("upc")},
    })


def build_all(*, use_requires: bool = False) -> dict[str, graphql.GraphQLSchema]:
    return {"accounts": accounts_schema(), "inventory": inventory_schema(use_requires=use_requires),
            "products": products_schema(), "reviews": reviews_schema()}
