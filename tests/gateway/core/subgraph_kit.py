"""Tiny federation subgraphs for gateway tests: graphql-core executing an SDL over plain dicts.

Each ``KitSubgraph`` records the requests it receives (to assert what the planner sends) and can be
slowed down (to test timeouts).  Served by uvicorn on a free loopback port through ``serve_asgi``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import graphql
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.gateway.core.subgraph_schemas import build_subgraph_schema

Resolver = Callable[..., Any]


@dataclass
class KitSubgraph:
    name: str
    sdl: str
    root: dict[str, dict[str, Resolver]] = field(default_factory=dict)  # "Query"/"Mutation" -> field -> fn
    entities: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)  # typename -> fn
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.schema = build_subgraph_schema(self.sdl)
        for type_name, fields in self.root.items():
            t = self.schema.get_type(type_name)
            assert isinstance(t, graphql.GraphQLObjectType)
            for fname, fn in fields.items():
                t.fields[fname].resolve = _wrap(fn)
        query = self.schema.query_type
        if query is not None and "_entities" in query.fields:
            query.fields["_entities"].resolve = self._resolve_entities
        self.app = Starlette(routes=[Route("/graphql", self._handle, methods=["POST"])])

    def _resolve_entities(self, _root: Any, _info: Any, representations: list[dict[str, Any]]) -> list[Any]:
        out = []
        for rep in representations:
            fn = self.entities.get(rep["__typename"])
            out.append(fn(rep) if fn is not None else None)
        return out

    async def _handle(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        result = await graphql.graphql(
            self.schema, body["query"], variable_values=body.get("variables"), root_value={}
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return Response(orjson.dumps(payload), media_type="application/json")

    def entity_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "_entities" in r["query"]]


def _wrap(fn: Resolver) -> Resolver:
    def resolve(_root: Any, _info: Any, **kwargs: Any) -> Any:
        return fn(**kwargs)

    return resolve
