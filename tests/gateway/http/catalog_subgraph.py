"""A tiny subgraph for the HTTP-layer tests: graphql-core behind Starlette, data in memory.

Enough for the gateway to route root queries and mutations to one subgraph; it also records the
headers and bodies it receives so tests can see what the gateway sent.
"""

from __future__ import annotations

from typing import Any

import graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SDL = """
type Query {
  products(first: Int = 10): [Product!]!
  product(id: ID!): Product
  broken: String
}

type Mutation {
  renameProduct(id: ID!, name: String!): Product
}

type Subscription {
  productChanged: Product
}

type Product {
  id: ID!
  name: String!
  price: Float
}
"""

_PRODUCTS: dict[str, dict[str, Any]] = {
    "p1": {"id": "p1", "name": "Nitrile gloves", "price": 12.5},
    "p2": {"id": "p2", "name": "Angle grinder", "price": 89.0},
    "p3": {"id": "p3", "name": "Welding wire", "price": None},
}


def _products(_root: Any, _info: Any, first: int = 10) -> list[dict[str, Any]]:
    return list(_PRODUCTS.values())[:first]


def _product(_root: Any, _info: Any, id: str) -> dict[str, Any] | None:
    return _PRODUCTS.get(id)


def _rename(_root: Any, _info: Any, id: str, name: str) -> dict[str, Any] | None:
    product = _PRODUCTS.get(id)
    return None if product is None else {**product, "name": name}


def _broken(_root: Any, _info: Any) -> str:
    raise ValueError("warehouse system offline")


def build_schema() -> graphql.GraphQLSchema:
    schema = graphql.build_schema(SDL)
    query = schema.query_type
    mutation = schema.mutation_type
    assert query is not None and mutation is not None
    query.fields["products"].resolve = _products
    query.fields["product"].resolve = _product
    query.fields["broken"].resolve = _broken
    mutation.fields["renameProduct"].resolve = _rename
    return schema


class CatalogSubgraph:
    def __init__(self) -> None:
        self.schema = build_schema()
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/graphql", self._graphql, methods=["POST"])])

    async def _graphql(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        result = await graphql.graphql(
            self.schema,
            body["query"],
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [dict(error.formatted) for error in result.errors]
        return JSONResponse(response)


def supergraph_sdl(url: str) -> str:
    """The supergraph of this one subgraph (join v0.3), pointing at ``url``."""
    return _SUPERGRAPH.replace("{URL}", url)


_SUPERGRAPH = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
{
  query: Query
  mutation: Mutation
  subscription: Subscription
}

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String,
  external: Boolean, override: String, usedOverridden: Boolean)
  repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false)
  repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar join__FieldSet
scalar link__Import

enum join__Graph {
  CATALOG @join__graph(name: "catalog", url: "{URL}")
}

enum link__Purpose {
  SECURITY
  EXECUTION
}

type Query @join__type(graph: CATALOG) {
  products(first: Int = 10): [Product!]!
  product(id: ID!): Product
  broken: String
}

type Mutation @join__type(graph: CATALOG) {
  renameProduct(id: ID!, name: String!): Product
}

type Subscription @join__type(graph: CATALOG) {
  productChanged: Product
}

type Product @join__type(graph: CATALOG) {
  id: ID!
  name: String!
  price: Float
}
"""
