"""A recursive subgraph for the operations tests: categories with children, graphql-core in memory.

``{ categories { children { children ... } } }`` can be nested as deep as a client likes, which is
what the limits and the generated-input test need; ``delay`` slows every answer (timeout tests) and
``fail`` makes it answer HTTP 500 (breaker tests). It records the headers it receives.
"""

from __future__ import annotations

import asyncio
from typing import Any

import graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SDL = """
scalar JSON

enum Sort { NAME PRICE }

input Filter { name: String, minPrice: Float, tags: [String!], nested: Filter }

type Query {
  categories: [Category!]!
  category(id: ID!): Category
  search(text: String, first: Int = 10, sort: Sort = NAME, filter: Filter): [Product!]!
  echo(value: JSON): JSON
  slow: String
}

type Mutation {
  renameCategory(id: ID!, name: String!): Category
}

type Category {
  id: ID!
  name: String!
  parent: Category
  children: [Category!]!
  products(first: Int = 10): [Product!]!
}

type Product {
  id: ID!
  name: String!
  price: Float
  tags: [String!]!
}
"""

_PRODUCTS = [{"id": f"p{i}", "name": f"Product {i}", "price": 1.5 * i, "tags": ["a", "b"]} for i in range(4)]


def _category(key: str, level: int) -> dict[str, Any]:
    return {"id": key, "name": f"Category {key}", "level": level}


def _children(parent: dict[str, Any], _info: Any) -> list[dict[str, Any]]:
    level = parent["level"]
    return [] if level >= 3 else [_category(f"{parent['id']}.{i}", level + 1) for i in range(2)]


def _parent(child: dict[str, Any], _info: Any) -> dict[str, Any] | None:
    key, _, _ = child["id"].rpartition(".")
    return _category(key, child["level"] - 1) if key else None


def build_schema() -> graphql.GraphQLSchema:
    schema = graphql.build_schema(SDL)
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    query.fields["categories"].resolve = lambda *_: [_category("c1", 0), _category("c2", 0)]
    query.fields["category"].resolve = lambda _r, _i, id: _category(id, id.count("."))
    query.fields["search"].resolve = lambda _r, _i, first=10, **_: _PRODUCTS[: max(first, 0)]
    query.fields["echo"].resolve = lambda _r, _i, value=None: value
    query.fields["slow"].resolve = lambda *_: "slow"
    mutation.fields["renameCategory"].resolve = lambda _r, _i, id, name: {**_category(id, 0), "name": name}
    category = schema.type_map["Category"]
    assert isinstance(category, graphql.GraphQLObjectType)
    category.fields["children"].resolve = _children
    category.fields["parent"].resolve = _parent
    category.fields["products"].resolve = lambda _c, _i, first=10: _PRODUCTS[: max(first, 0)]
    return schema


class TreeSubgraph:
    def __init__(self) -> None:
        self.schema = build_schema()
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0  # seconds before answering
        self.fail = False  # answer HTTP 500 without a GraphQL body
        self.app = Starlette(routes=[Route("/graphql", self._graphql, methods=["POST"])])

    async def _graphql(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            return Response(b"down for maintenance", status_code=500)
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


def supergraph_sdl(url: str, name: str = "tree") -> str:
    """The supergraph of this one subgraph (join v0.3), pointing at ``url``."""
    graph = name.upper()
    body = SDL.replace("scalar JSON", f"scalar JSON @join__type(graph: {graph})")
    for kind in ("enum Sort", "input Filter", "type Query", "type Mutation", "type Category", "type Product"):
        body = body.replace(f"{kind} {{", f"{kind} @join__type(graph: {graph}) {{")
    return _HEADER.replace("{URL}", url).replace("{NAME}", name).replace("{GRAPH}", graph) + body


_HEADER = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
{
  query: Query
  mutation: Mutation
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
  {GRAPH} @join__graph(name: "{NAME}", url: "{URL}")
}

enum link__Purpose {
  SECURITY
  EXECUTION
}
"""
