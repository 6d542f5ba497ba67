"""Runs a query plan: fetches, ``_entities`` batching with deduplication, merging into one tree."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from gateway.execution.collect import CompiledFlatten, path_list
from gateway.execution.http_client import SubgraphClient, SubgraphError
from gateway.planning.plan import (
    Condition,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    Renames,
    Sequence,
    Subscription,
)

_MISSING = object()
_COMPILED_CACHE_SIZE = 8192


class ExecutionState:
    __slots__ = ("data", "dedup_key", "errors", "extra_headers", "variables")

    def __init__(
        self,
        variables: Mapping[str, Any],
        extra_headers: Mapping[str, str] | None,
        dedup_key: Hashable | None = None,
    ) -> None:
        self.data: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        self.variables = variables
        self.extra_headers = extra_headers
        # Who the subgraph calls are made for (rights, not the per-request signature); None: never share
        # a subgraph call with another operation's identical one.
        self.dedup_key = dedup_key


class Executor:
    def __init__(self, client: SubgraphClient, object_types: frozenset[str]) -> None:
        self.client = client
        self.object_types = object_types  # concrete type names: a merged __typename that is one stays
        self._flattens: dict[int, CompiledFlatten] = {}  # id(Flatten) -> compiled (plans are cached)

    def _compiled(self, node: Flatten) -> CompiledFlatten:
        compiled = self._flattens.get(id(node))
        if compiled is None or compiled.node is not node:
            if len(self._flattens) >= _COMPILED_CACHE_SIZE:
                self._flattens.clear()
            compiled = self._flattens[id(node)] = CompiledFlatten(node)
        return compiled

    async def run(self, node: PlanNode | None, state: ExecutionState) -> None:
        if node is None:
            return
        if isinstance(node, Sequence):
            for n in node.nodes:
                await self.run(n, state)
        elif isinstance(node, Parallel):
            await asyncio.gather(*(self.run(n, state) for n in node.nodes))
        elif isinstance(node, Flatten):
            await self._entity_fetch(node, state)
        elif isinstance(node, Fetch):
            await self._root_fetch(node, state)
        elif isinstance(node, Condition):
            branch = node.if_true if state.variables.get(node.variable) is True else node.if_false
            await self.run(branch, state)
        elif isinstance(node, Subscription):
            await self.run(node.primary, state)
            await self.run(node.rest, state)

    def _vars(self, fetch: Fetch, state: ExecutionState) -> dict[str, Any]:
        return {v: state.variables[v] for v in fetch.variable_usages if v in state.variables}

    async def _call(
        self,
        fetch: Fetch,
        payload: dict[str, Any],
        state: ExecutionState,
        error_path: Callable[[], list[Any]] | None,
    ) -> dict[str, Any] | None:
        try:
            key = state.dedup_key if fetch.operation_kind == "query" else None
            return await self.client.post(fetch.url, payload, state.extra_headers, dedup_key=key)
        except SubgraphError as exc:
            err: dict[str, Any] = {
                "message": str(exc),
                "extensions": {"code": exc.code, "serviceName": fetch.subgraph},
            }
            path = error_path() if error_path is not None else None
            if path:
                err["path"] = path
            state.errors.append(err)
            return None

    async def _root_fetch(self, fetch: Fetch, state: ExecutionState) -> None:
        payload = {"query": fetch.operation, "variables": self._vars(fetch, state)}
        result = await self._call(fetch, payload, state, None)
        if result is None:
            return
        for e in result.get("errors") or ():
            state.errors.append(_with_service(e, fetch.subgraph))
        data = result.get("data")
        if isinstance(data, dict):
            if fetch.renames:
                _rename(data, fetch.renames)
            self._merge(state.data, data)

    async def _entity_fetch(self, node: Flatten, state: ExecutionState) -> None:
        fetch = node.node
        compiled = self._compiled(node)
        reps, targets = compiled.representations(state.data)
        if not reps:
            return
        variables = self._vars(fetch, state)
        variables["representations"] = reps
        payload = {"query": fetch.operation, "variables": variables}

        def merge_point() -> list[Any]:  # the failure's path: looked for only when the call failed
            return _merge_point(compiled.paths(state.data).get(id(targets[0][0])))

        result = await self._call(fetch, payload, state, merge_point)
        if result is None:
            return
        paths: dict[int, Any] | None = None
        for e in result.get("errors") or ():
            e = _with_service(e, fetch.subgraph)
            p = e.get("path")
            if (
                isinstance(p, list)
                and len(p) >= 2
                and p[0] == "_entities"
                and isinstance(p[1], int)
                and p[1] < len(targets)
            ):
                if paths is None:
                    paths = compiled.paths(state.data)
                e["path"] = [*path_list(paths.get(id(targets[p[1]][0]))), *p[2:]]
            elif p == ["_entities"]:  # the whole call failed: the error belongs where it would merge
                e["path"] = merge_point()
            else:
                e.pop("path", None)
            state.errors.append(e)
        data = result.get("data")
        entities = data.get("_entities") if isinstance(data, dict) else None
        if not isinstance(entities, list):
            return
        if fetch.renames:
            _rename(entities, fetch.renames)
        for i, ent in enumerate(entities[: len(targets)]):
            if isinstance(ent, dict):
                for obj in targets[i]:
                    self._merge(obj, ent)

    def _merge(self, target: dict[str, Any], src: dict[str, Any]) -> None:
        for k, v in src.items():
            cur = target.get(k, _MISSING)
            if cur is _MISSING:
                target[k] = v
            elif k == "__typename":
                if cur not in self.object_types:
                    target[k] = v
            elif isinstance(cur, dict) and isinstance(v, dict):
                self._merge(cur, v)
            elif isinstance(cur, list) and isinstance(v, list) and len(cur) == len(v):
                self._merge_lists(cur, v)
            else:
                target[k] = v

    def _merge_lists(self, cur: list[Any], v: list[Any]) -> None:
        for i, (a, b) in enumerate(zip(cur, v, strict=True)):
            if isinstance(a, dict) and isinstance(b, dict):
                self._merge(a, b)
            elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
                self._merge_lists(a, b)
            else:
                cur[i] = b


def _with_service(e: Any, service: str) -> dict[str, Any]:
    if not isinstance(e, dict):
        e = {"message": str(e)}
    ext = e.get("extensions")
    ext = dict(ext) if isinstance(ext, dict) else {}
    ext.setdefault("serviceName", service)
    return {**e, "extensions": ext}


def _merge_point(path: Any) -> list[Any]:
    """The response path of a Flatten (the object's path without list indices at its end)."""
    segs = path_list(path)
    while segs and isinstance(segs[-1], int):
        segs.pop()
    return segs


def _rename(v: Any, renames: Renames) -> None:
    """Move internally aliased response keys back to the keys the rest of the plan expects."""
    if isinstance(v, list):
        for item in v:
            _rename(item, renames)
        return
    if not isinstance(v, dict):
        return
    for alias, key, child in renames:
        if alias not in v:
            continue
        val = v.pop(alias) if alias != key else v[alias]
        if child is not None:
            _rename(val, child)
        v[key] = val
