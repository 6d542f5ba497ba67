"""Executable graphql-core schemas for the grafbase scenarios' subgraphs (served by
``bench.federation.subgraphs.server``: memoized by body, as the suite's Rust subgraphs serve from cache).

``python -m bench.grafbase.subgraphs --scenario many-plans --port N`` serves one scenario until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

import graphql

from bench.federation.subgraphs.schemas import FEDERATION_PRELUDE
from bench.federation.subgraphs.server import SubgraphApp, serve
from bench.grafbase import scenarios

Resolver = Callable[..., Any]


def _executable(sdl: str, resolvers: dict[str, dict[str, Resolver]],
                entity: Callable[[dict[str, Any]], Any] | None) -> graphql.GraphQLSchema:
    body = sdl.split("\n", 1)[1]  # without the @link line (graphql-core does not need it)
    has_query = "type Query" in body
    extra = ("union _Entity = Node\n" + ("extend type Query" if has_query else "type Query")
             + " { _entities(representations: [_Any!]!): [_Entity]! _service: _Service! }\n")
    schema = graphql.build_schema(FEDERATION_PRELUDE + body + "\n" + extra)
    query: dict[str, Resolver] = {**resolvers.get("Query", {}),
             "_entities": lambda _r, _i, representations: [entity(r) if entity else None
                                                            for r in representations],
             "_service": lambda *_: {"sdl": sdl}}
    for type_name, fields in {**resolvers, "Query": query}.items():
        gql_type = schema.get_type(type_name)
        assert isinstance(gql_type, graphql.GraphQLObjectType), type_name
        for name, resolve in fields.items():
            gql_type.fields[name].resolve = resolve
    union = schema.get_type("_Entity")
    assert isinstance(union, graphql.GraphQLUnionType)
    union.resolve_type = lambda *_: "Node"
    return schema


def _many_plans_node(node_id: str) -> dict[str, Any]:
    return {"__typename": "Node", "id0": node_id}


def _many_plans_schema(index: int) -> graphql.GraphQLSchema:
    node: dict[str, Resolver] = {}
    for k in scenarios.MANY_PLANS_FIELDS[index]:
        node[f"n{k}"] = lambda obj, _info, k=k: _many_plans_node(obj["id0"] + str(k))
        node[f"f{k}"] = lambda obj, _info, k=k: f"f{k}-{obj['id0']}"
    return _executable(scenarios.many_plans_sdl(index),
                       {"Query": {"node": lambda *_: _many_plans_node("0")}, "Node": node},
                       lambda rep: _many_plans_node(str(rep.get("id0"))))


def _big_response_schemas() -> dict[str, graphql.GraphQLSchema]:
    by_id = {n["id"]: n for n in scenarios.big_response_nodes()}

    def nodes(_root: Any, _info: Any, n: int) -> list[dict[str, Any]]:
        return list(scenarios.big_response_range(0, n))

    def children(obj: dict[str, Any], _info: Any, n: int) -> list[dict[str, Any]]:
        return list(scenarios.big_response_range(obj["id"] * n, n))

    def entity(rep: dict[str, Any]) -> Any:
        return by_id.get(rep.get("id"))

    return {"subgraph0": _executable(scenarios.BIG_RESPONSE_SDL0,
                                     {"Query": {"nodes": nodes}, "Node": {"nodes": children}}, entity),
            "subgraph1": _executable(scenarios.BIG_RESPONSE_SDL1, {}, entity)}


def build(scenario: str) -> dict[str, graphql.GraphQLSchema]:
    if scenario == "many-plans":
        return {f"subgraph{i}": _many_plans_schema(i) for i in scenarios.MANY_PLANS_FIELDS}
    if scenario == "big-response":
        return _big_response_schemas()
    raise ValueError(f"unknown scenario {scenario!r}")


async def _main(host: str, port: int, scenario: str) -> None:
    server = await serve(host, port, SubgraphApp(schemas=build(scenario)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"{scenario} subgraphs listening on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", required=True, choices=["many-plans", "big-response"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(_main(args.host, args.port, args.scenario))


if __name__ == "__main__":
    main()
