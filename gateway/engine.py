"""The gateway engine: the seam between the HTTP layer and planning/execution.

The HTTP layer parses and validates the operation against ``Gateway.api_schema`` and hands an
``OperationRequest`` to ``Gateway.execute``, which plans (cached) and runs the plan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import graphql
import orjson
from graphql import language as ast

from gateway.document_keys import document_key
from gateway.execution.compiled_shaping import ShapeCompiler
from gateway.execution.executor import ExecutionState, Executor
from gateway.execution.http_client import SubgraphClient
from gateway.http.lru import LRUCache
from gateway.planning.conditions import FieldPruner
from gateway.planning.plan import QueryPlan, Subscription, plan_to_json
from gateway.planning.planner import Planner, PlanningError, with_variable_defaults
from gateway.sizing import estimate_bytes, register_shared
from gateway.supergraph.api_schema import build_api_schema
from gateway.supergraph.model import Supergraph, parse_supergraph

_PLAN_CACHE_SIZE = 2048
_log = logging.getLogger("gateway.engine")

if TYPE_CHECKING:
    from gateway.auth.layer import GatewayAuth, PreparedOperation
    from gateway.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class OperationRequest:
    document: graphql.DocumentNode  # already parsed and validated against api_schema by the HTTP layer
    operation_name: str | None
    variables: dict[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)  # inbound headers, lower-case names
    explain: bool = False  # when true, put the query plan (plain JSON) in extensions["queryPlan"]
    principal: Principal | None = None  # set by the HTTP layer when auth is on (gateway/auth)
    client_address: str | None = None  # after trusted proxies; signed into the subgraph context






class Gateway:
    """Executes operations against a federation supergraph."""

    api_schema: graphql.GraphQLSchema

    def __init__(
        self,
        supergraph_document: graphql.DocumentNode,
        *,
        subgraph_timeout: float = 30.0,
        subgraph_headers: Mapping[str, str] | None = None,
        subgraph_connections: int = 64,
        subgraph_dedup: bool = True,
        inbound_dedup: bool = False,
        plan_cache_bytes: int = 64 << 20,
        shape_cache_bytes: int = 32 << 20,
    ) -> None:
        self.api_schema = build_api_schema(supergraph_document)
        self.supergraph: Supergraph = parse_supergraph(supergraph_document)
        self.supergraph_schema = graphql.build_ast_schema(supergraph_document, assume_valid_sdl=True)
        self.planner = Planner(self.supergraph, self.supergraph_schema)
        self.subgraph_timeout = subgraph_timeout
        self.subgraph_headers = dict(subgraph_headers or {})
        self.client = SubgraphClient(
            subgraph_timeout, self.subgraph_headers, connections=subgraph_connections, dedup=subgraph_dedup
        )
        # Identical in-flight queries of principals with the same rights run once (docs/performance.md).
        self.inbound_dedup = inbound_dedup
        self.inbound_shared = 0  # operations answered by another one's run
        self._inbound: dict[Hashable, asyncio.Task[dict[str, Any]]] = {}
        object_types = frozenset(t.name for t in self.supergraph.types.values() if t.kind == "OBJECT")
        self.executor = Executor(self.client, object_types)
        self.enum_values: dict[str, frozenset[str]] = {
            name: frozenset(t.values)
            for name, t in self.api_schema.type_map.items()
            if isinstance(t, graphql.GraphQLEnumType) and not name.startswith("__")
        }
        self.api_objects = frozenset(
            name for name, t in self.api_schema.type_map.items() if isinstance(t, graphql.GraphQLObjectType)
        )
        # shaping compiled per plan
        self.shapes = ShapeCompiler(self.enum_values, self.api_objects, max_bytes=shape_cache_bytes)
        # Plans and condition variables are bounded by estimated bytes (docs/performance.md, "Memory").
        register_shared(*_supergraph_model_classes())
        self._plans: LRUCache[tuple[Any, ...], QueryPlan] = LRUCache(
            _PLAN_CACHE_SIZE, max_bytes=plan_cache_bytes, sizer=_entry_bytes)
        # Condition variables (with defaults) that plans are made per value of (on @requires fields).
        self._static: LRUCache[tuple[Any, ...], tuple[tuple[str, Any], ...]] = LRUCache(
            _PLAN_CACHE_SIZE, max_bytes=max(1, plan_cache_bytes // 16), sizer=_entry_bytes)
        self._pruner = FieldPruner()  # the client's selection per @skip/@include values, for shaping
        # Authentication/authorization/tenant guard (gateway.auth); attached by create_app, None: off.
        self.auth: GatewayAuth | None = None

    @classmethod
    def from_supergraph_sdl(
        cls,
        sdl: str,
        *,
        subgraph_timeout: float = 30.0,
        subgraph_headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Gateway:
        """``options``: the constructor's other keywords (connections, deduplication)."""
        return cls(
            graphql.parse(sdl),
            subgraph_timeout=subgraph_timeout,
            subgraph_headers=subgraph_headers,
            **options,
        )

    def plan(
        self,
        document: ast.DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        cache_key: str | None = None,
    ) -> QueryPlan:
        """The (cached) plan of an operation; ``cache_key`` replaces the document's own key (auth: the
        document as filtered for one set of rights).  One plan serves every value of the variables:
        ``@skip``/``@include`` on variables are evaluated at execution (``Condition`` nodes)."""
        base = (cache_key or document_key(document), operation_name)
        variables = variables or {}
        static = self._static.get(base)
        key = base if not static else (*base, *(variables.get(v, d) is True for v, d in static))
        plan = self._plans.get(key)
        if plan is None:
            plan = self.planner.plan(document, operation_name, dict(variables))
            if plan.static_conditions:  # conditions on @requires fields are decided at planning
                defaults = dict(plan.condition_defaults)
                static = tuple((v, defaults.get(v)) for v in plan.static_conditions)
                self._static.put(base, static)
                key = (*base, *(variables.get(v, d) is True for v, d in static))
            self._plans.put(key, plan)
        return plan

    def cache_stats(self) -> dict[str, dict[str, int]]:
        """Entries and accounted bytes of the engine's caches (plans, condition variables, shaping)."""
        return {"plans": _stats(self._plans), "condition_variables": _stats(self._static),
                "shapes": self.shapes.stats()}

    async def execute(
        self, request: OperationRequest, *, extra_subgraph_headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Full GraphQL response: {"data": ...} plus "errors"/"extensions" when present.

        Never raises for subgraph failures: partial data + errors with paths and extensions.code.
        ``extra_subgraph_headers`` (per request, e.g. a signed principal) go to every subgraph call.
        With ``inbound_dedup``, a query identical to one in flight (document, operation, variables,
        explain, rights and identity of the principal, extra headers) gets that one's response.
        """
        key = self._inbound_key(request, extra_subgraph_headers) if self.inbound_dedup else None
        if key is None:
            return await self._execute(request, extra_subgraph_headers)
        task = self._inbound.get(key)
        if task is None:
            task = asyncio.ensure_future(self._execute(request, extra_subgraph_headers))
            self._inbound[key] = task
            task.add_done_callback(lambda t: self._forget_inbound(key, t))
            return await asyncio.shield(task)  # shielded: the first client leaving does not fail the others
        self.inbound_shared += 1
        return dict(await asyncio.shield(task))  # a copy of the top level: callers add error codes in place

    def _forget_inbound(self, key: Hashable, task: asyncio.Task[dict[str, Any]]) -> None:
        if self._inbound.get(key) is task:
            del self._inbound[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone away

    def _inbound_key(
        self, request: OperationRequest, extra_subgraph_headers: Mapping[str, str] | None
    ) -> Hashable | None:
        """What makes two operations' responses equal; None: never share (mutations, subscriptions)."""
        if _operation_kind(request.document, request.operation_name) != "query":
            return None
        try:
            variables = orjson.dumps(request.variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        rights = None
        if self.auth is not None:
            rights = self.auth.rights(request.principal or _anonymous()).key
        identity = _subgraph_identity(self.auth is not None, request.principal, extra_subgraph_headers)
        return (document_key(request.document), request.operation_name, variables, request.explain, rights,
                identity)

    async def _execute(
        self, request: OperationRequest, extra_subgraph_headers: Mapping[str, str] | None
    ) -> dict[str, Any]:
        # Subgraph calls of queries may share identical in-flight calls made for the same identity (taken
        # before auth adds its per-request signature); a mutation's never do (its reads follow its writes).
        identity = _subgraph_identity(self.auth is not None, request.principal, extra_subgraph_headers)
        variables = request.variables or {}
        auth, document, plan_key, prepared = self.auth, request.document, None, None
        if auth is not None:
            principal = request.principal or _anonymous()
            prepared = auth.prepare(document, request.operation_name, variables, principal)
            if prepared is not None:
                if prepared.rejection is not None:
                    return dict(prepared.rejection)
                document, plan_key = prepared.document, prepared.plan_key
            extra_subgraph_headers = auth.subgraph_headers(
                principal, extra_subgraph_headers, client_address=request.client_address
            )
        try:
            plan = self.plan(document, request.operation_name, variables, plan_key)
        except PlanningError as exc:
            return {"errors": [{"message": str(exc), "extensions": {"code": "QUERY_PLANNING_FAILED"}}]}
        except Exception:
            _log.exception("query planning crashed")
            return {
                "errors": [
                    {"message": "Query planning failed", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
                ]
            }
        dedup_key = identity if plan.operation_kind == "query" else None
        run_variables = plan.condition_variables(variables)
        state = ExecutionState(run_variables, extra_subgraph_headers, dedup_key)
        if any(f.name in ("__schema", "__type") for f in plan.root_fields):
            self._introspect(request, plan, state)
        try:
            await self.executor.run(plan.node, state)
        except Exception:
            # A bug must not cost the client the data already fetched.
            _log.exception("query plan execution crashed")
            state.errors.append(
                {"message": "Execution failed", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
            )
        fields = plan.root_fields
        if auth is not None and prepared is not None:
            principal = request.principal or _anonymous()
            fields = auth.finish(prepared, fields, state.data, state.errors, principal)
            # The prepared document may have lost the conditions (and so the defaults) of fields the
            # principal may not see; their nulls are pruned by the client's own operation's defaults.
            run_variables = _with_operation_defaults(request.document, request.operation_name, run_variables)
        fields = self._pruner.get(fields, run_variables)
        data = self.shapes.get(fields, plan.root_type).shape(state.data, state.errors)
        response: dict[str, Any] = {"data": data}
        if state.errors:
            response["errors"] = state.errors
        if request.explain:
            response["extensions"] = {"queryPlan": plan_to_json(plan)}
        return response

    async def resolve_subscription_event(
        self,
        plan: QueryPlan,
        event: Mapping[str, Any],
        variables: Mapping[str, Any] | None = None,
        *,
        extra_subgraph_headers: Mapping[str, str] | None = None,
        prepared: PreparedOperation | None = None,
        principal: Principal | None = None,
    ) -> dict[str, Any]:
        """Complete one event of a subscription: ``event`` is the subgraph's payload for the primary
        ``Subscription`` fetch (``{"data": ..., "errors": ...}``); the rest of the plan (entity fetches)
        runs on it and the result is shaped like ``execute`` does. ``prepared`` (``auth.prepare``'s, for
        ``principal``): the tenant guard and per-field authorization errors apply to this event too."""
        variables = plan.condition_variables(variables or {})
        state = ExecutionState(variables, extra_subgraph_headers)
        data = event.get("data")
        if isinstance(data, dict):
            state.data.update(data)
        for e in event.get("errors") or ():
            state.errors.append(dict(e))
        node = plan.node
        if isinstance(node, Subscription) and node.rest is not None:
            try:
                await self.executor.run(node.rest, state)
            except Exception:
                _log.exception("subscription event execution crashed")
                state.errors.append(
                    {"message": "Execution failed", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
                )
        fields = plan.root_fields
        if self.auth is not None and prepared is not None:
            fields = self.auth.finish(prepared, fields, state.data, state.errors, principal or _anonymous())
        shape = self.shapes.get(self._pruner.get(fields, variables), plan.root_type)
        response: dict[str, Any] = {"data": shape.shape(state.data, state.errors)}
        if state.errors:
            response["errors"] = state.errors
        return response

    def _introspect(self, request: OperationRequest, plan: QueryPlan, state: ExecutionState) -> None:
        schema = self.api_schema
        if self.auth is not None:  # only what this principal may use (introspection off: refused earlier)
            schema = self.auth.introspection_schema(request.principal or _anonymous()) or schema
        result = graphql.execute(
            schema,
            request.document,
            operation_name=request.operation_name,
            variable_values=request.variables,
        )
        if isinstance(result, graphql.ExecutionResult) and result.data:
            for f in plan.root_fields:
                if f.name in ("__schema", "__type") and f.key in result.data:
                    state.data[f.key] = result.data[f.key]

    async def close(self) -> None:
        """Close pooled connections (the aiohttp session is created lazily in the running loop)."""
        await self.client.close()


def _entry_bytes(key: Any, value: Any) -> int:
    return estimate_bytes(key) + estimate_bytes(value)


def _stats(cache: LRUCache[Any, Any]) -> dict[str, int]:
    return {"entries": len(cache), "bytes": cache.bytes, "max_bytes": cache.max_bytes or 0,
            "evictions": cache.evictions}


def _supergraph_model_classes() -> tuple[type, ...]:
    from gateway.supergraph import model

    return tuple(v for v in vars(model).values() if isinstance(v, type) and v.__module__ == model.__name__)


def _subgraph_identity(
    auth: bool, principal: Principal | None, extra_headers: Mapping[str, str] | None
) -> Hashable:
    """What the subgraphs learn about the caller, minus the per-request signature of the context: the
    principal as signed for them (tenant, organization, user, roles, scopes) and the extra headers."""
    headers = tuple(sorted(extra_headers.items())) if extra_headers else ()
    if not auth:
        return headers
    return ((principal or _anonymous()).for_subgraphs(), headers)


def _operation_kind(document: ast.DocumentNode, operation_name: str | None) -> str | None:
    for d in document.definitions:
        if isinstance(d, ast.OperationDefinitionNode) and (
            operation_name is None or (d.name is not None and d.name.value == operation_name)
        ):
            return d.operation.value
    return None


def _anonymous() -> Principal:
    from gateway.auth.principal import ANONYMOUS

    return ANONYMOUS


def _with_operation_defaults(
    document: graphql.DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> Mapping[str, Any]:
    for definition in document.definitions:
        if not isinstance(definition, graphql.OperationDefinitionNode):
            continue
        named = definition.name.value if definition.name is not None else None
        if operation_name in (None, named):
            if any(v.default_value is not None for v in definition.variable_definitions or ()):
                return with_variable_defaults(definition, dict(variables))
            return variables
    return variables
