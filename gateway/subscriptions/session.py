"""Operations over WebSocket and SSE, independent of the transport.

``OperationRunner.prepare`` checks one operation (parse, select, validate, coerce variables; for a
subscription also authorization and planning) and raises ``OperationRefused`` with coded errors before
anything runs; ``PreparedRun.results()`` then yields each result: one for a query or mutation, one per
event for a subscription (each with ``extensions.cursor`` when the subgraph gives one).

Per event: the subgraph's payload -> entity fetches of the rest of the plan (freshly signed context) ->
tenant guard and per-field authorization errors (``GatewayAuth.finish``) -> shaping. Upstream failures
end the stream with one coded error result, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import graphql
from graphql import language as ast

from gateway.auth.layer import PreparedOperation
from gateway.auth.principal import ANONYMOUS, Principal
from gateway.engine import Gateway, OperationRequest
from gateway.http.documents import DocumentStore
from gateway.http.errors import (
    BAD_USER_INPUT,
    INTERNAL_SERVER_ERROR,
    PARSE_FAILED,
    VALIDATION_FAILED,
    GraphQLRequestError,
    HTTPRequestError,
    ensure_error_codes,
)
from gateway.http.lru import LRUCache
from gateway.http.operations import execute_introspection, is_introspection_only, select_operation
from gateway.http.params import GraphQLParams
from gateway.http.validation_errors import condense
from gateway.observability.metrics import SUBSCRIPTIONS_OPEN
from gateway.planning.plan import QueryPlan, Subscription
from gateway.planning.planner import PlanningError
from gateway.safety.layer import SafetyLayer
from gateway.safety.limits import OperationLimiter
from gateway.safety.tokens import token_limit_error
from gateway.sizing import estimate_bytes
from gateway.subscriptions.cursor import (
    CURSOR_VARIABLE,
    UpstreamOperation,
    rewrite_for_cursor,
    take_event_cursor,
)
from gateway.subscriptions.fanout import FanOut
from gateway.subscriptions.upstream import (
    UPSTREAM_CLOSED,
    UPSTREAM_UNAVAILABLE,
    UpstreamError,
    subscribe_upstream,
)

_log = logging.getLogger("gateway.subscriptions")


class OperationRefused(Exception):
    """The operation does not run: ``errors`` (each with extensions.code) go to the client as is."""

    def __init__(
        self, errors: list[dict[str, Any]], status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__("operation refused")
        self.errors = errors
        self.status = status  # for SSE, which answers refusals over plain HTTP
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class OperationParams:
    query: str
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None

    @property
    def cursor(self) -> str | None:
        value = (self.extensions or {}).get("cursor")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class SubscriptionSettings:
    upstream_connect_timeout: float = 10.0
    upstream_heartbeat: float | None = 30.0  # WebSocket pings to the subgraph (dead peers are noticed)
    # A resumable subscription (the subgraph gave a cursor) whose subgraph connection drops (a deploy,
    # a restart) is reopened from the last cursor this many times, with backoff, before the client is told.
    upstream_retries: int = 5
    upstream_retry_delay: float = 0.5  # doubled on each attempt
    max_operations_per_connection: int = 100  # WebSocket: concurrent operations of one connection
    reauth_interval: float = 5.0  # open connections re-check their credentials this often; 0: never
    # Identical live subscriptions share one upstream and one set of entity fetches per event
    # (fanout.py); a member more than `subscriber_queue` events behind is cut off with its cursor.
    share_upstreams: bool = True
    subscriber_queue: int = 1000


class OperationRunner:
    """Shared by both transports: caches, the gateway, and how subscriptions reach subgraphs."""

    def __init__(
        self,
        gateway: Gateway,
        documents: DocumentStore,
        settings: SubscriptionSettings | None = None,
        limiter: OperationLimiter | None = None,
    ) -> None:
        self.gateway = gateway
        self.documents = documents
        self.settings = settings or SubscriptionSettings()
        self.limiter = limiter  # the safety layer's operation limits (depth, aliases, cost), as over HTTP
        self.safety: SafetyLayer | None = None  # the HTTP endpoint's, see attach()
        self._upstream_ops: LRUCache[str, UpstreamOperation] = LRUCache(
            1024, max_bytes=16 << 20, sizer=lambda k, v: estimate_bytes(k) + estimate_bytes(v))
        self.active_upstreams = 0  # open subgraph subscriptions (tests, diagnostics)
        self.fanout = FanOut(self.settings.subscriber_queue)

    def attach(self, scope: Mapping[str, Any]) -> None:
        """Use the HTTP endpoint's safety layer (rate limits, persisted queries, limits) once it exists."""
        if self.safety is None:
            endpoint = getattr(getattr(scope.get("app"), "state", None), "graphql", None)
            safety = getattr(endpoint, "safety", None)
            if isinstance(safety, SafetyLayer):
                self.safety = safety

    async def prepare(
        self,
        params: OperationParams,
        principal: Principal | None,
        headers: Mapping[str, str],
        cursor: str | None = None,
        client_ip: str | None = None,
    ) -> PreparedRun:
        """Check one operation as the HTTP endpoint does (rate limit, persisted/trusted documents, parse,
        validate, limits, variables) and, for a subscription, authorize and plan it."""
        safety = self.safety
        try:
            persisted = None
            if safety is not None:
                client_ip = safety.client_address(client_ip, headers)
                await safety.check_rate(principal, client_ip)
                resolved, persisted = await safety.resolve_persisted(
                    GraphQLParams(params.query, params.operation_name, params.variables, params.extensions)
                )
                params = replace(params, query=resolved.query)
            run = self._prepare(params, principal, headers, cursor)
            if safety is not None:
                await safety.register_persisted(persisted)
            return run
        except GraphQLRequestError as exc:
            raise OperationRefused(exc.errors) from None
        except HTTPRequestError as exc:
            raise OperationRefused(list(exc.body["errors"]), exc.status, exc.headers) from None

    def _prepare(
        self,
        params: OperationParams,
        principal: Principal | None,
        headers: Mapping[str, str],
        cursor: str | None,
    ) -> PreparedRun:
        if self.limiter is not None and self.documents.parsed.get(params.query) is None:
            too_long = token_limit_error(params.query, self.documents.max_tokens)
            if too_long is not None:
                raise GraphQLRequestError([too_long], PARSE_FAILED)
        parsed = self.documents.parse(params.query)
        if parsed.error is not None:
            raise GraphQLRequestError([parsed.error], PARSE_FAILED)
        document = parsed.document
        assert document is not None
        operation = select_operation(document, params.operation_name)
        errors = self.documents.validate(params.query, document)
        if errors:
            raise GraphQLRequestError(errors, VALIDATION_FAILED)
        if self.safety is not None:
            self.safety.check_limits(params.query, document, operation, params.variables)
        elif self.limiter is not None:
            self.limiter.check(params.query, document, operation, params.variables)
        if operation.variable_definitions or params.variables:
            coerced = graphql.get_variable_values(
                self.gateway.api_schema, operation.variable_definitions or (), params.variables or {}
            )
            if isinstance(coerced, list):
                raise GraphQLRequestError(list(condense(coerced, suggestions=self.documents.suggestions)),
                                          BAD_USER_INPUT)
        run = PreparedRun(
            self,
            document,
            operation,
            params,
            principal,
            dict(headers),
            cursor if cursor is not None else params.cursor,
        )
        if operation.operation == graphql.OperationType.SUBSCRIPTION:
            run.plan_subscription()
        return run

    def upstream_operation(self, operation: str) -> UpstreamOperation:
        cached = self._upstream_ops.get(operation)
        if cached is None:
            cached = rewrite_for_cursor(operation, self.gateway.supergraph_schema.subscription_type)
            self._upstream_ops.put(operation, cached)
        return cached


class PreparedRun:
    def __init__(
        self,
        runner: OperationRunner,
        document: ast.DocumentNode,
        operation: ast.OperationDefinitionNode,
        params: OperationParams,
        principal: Principal | None,
        headers: dict[str, str],
        cursor: str | None,
    ) -> None:
        self.runner = runner
        self.gateway = runner.gateway
        self.document = document
        self.operation = operation
        self.params = params
        self.principal = principal
        self.headers = headers
        self.cursor = cursor
        self.plan: QueryPlan | None = None
        self.prepared: PreparedOperation | None = None

    @property
    def is_subscription(self) -> bool:
        return self.operation.operation == graphql.OperationType.SUBSCRIPTION

    def plan_subscription(self) -> None:
        """Authorization (fields removed before planning) and the plan; refusals raise OperationRefused."""
        auth = self.gateway.auth
        document, plan_key = self.document, None
        variables = self.params.variables or {}
        if auth is not None:
            self.prepared = auth.prepare(
                document, self.params.operation_name, variables, self.principal or ANONYMOUS
            )
            if self.prepared is not None:
                if self.prepared.rejection is not None:
                    raise OperationRefused(list(self.prepared.rejection.get("errors") or ()))
                document, plan_key = self.prepared.document, self.prepared.plan_key
        plan: QueryPlan | None
        planning_error = ""
        try:
            plan = self.gateway.plan(document, self.params.operation_name, variables, plan_key)
        except PlanningError as exc:
            plan = None
            planning_error = str(exc)
        if plan is None or not isinstance(plan.node, Subscription):
            if self.prepared is not None and self.prepared.errors:
                # The root field itself is not for this principal: nothing to subscribe to.
                raise OperationRefused([dict(e) for e in self.prepared.errors])
            if plan is None:
                raise OperationRefused(
                    [{"message": planning_error, "extensions": {"code": "QUERY_PLANNING_FAILED"}}]
                )
            raise OperationRefused(
                [
                    {
                        "message": "The subscription has no subgraph subscription to run.",
                        "extensions": {"code": "QUERY_PLANNING_FAILED"},
                    }
                ]
            )
        self.plan = plan

    async def results(self) -> AsyncGenerator[dict[str, Any], None]:
        """Each result to send as ``next``; the transport sends ``complete`` when this ends."""
        if not self.is_subscription:
            yield await self._single()
            return
        shared = self.runner.settings.share_upstreams and self.cursor is None
        source = self.runner.fanout.join(self) if shared else self._events()
        async with contextlib.aclosing(source) as events:
            async for result in events:
                yield result

    async def _single(self) -> dict[str, Any]:
        if is_introspection_only(self.document, self.operation):
            schema = self.gateway.api_schema
            auth = self.gateway.auth
            if auth is not None:
                schema = auth.introspection_schema(self.principal or ANONYMOUS) or schema
            return execute_introspection(
                schema, self.document, self.params.operation_name, self.params.variables
            )
        request = OperationRequest(
            document=self.document,
            operation_name=self.params.operation_name,
            variables=self.params.variables,
            headers=self.headers,
            principal=self.principal,
        )
        try:
            response = await self.gateway.execute(request)
        except Exception:
            _log.exception("gateway failed to execute an operation over a subscription transport")
            response = {
                "errors": [
                    {"message": "Internal server error.", "extensions": {"code": INTERNAL_SERVER_ERROR}}
                ]
            }
        ensure_error_codes(response)
        return response

    def _subgraph_headers(self) -> dict[str, str]:
        auth = self.gateway.auth
        if auth is None:
            return dict(self.gateway.subgraph_headers)
        # Signed per use: the context expires after GATEWAY_CONTEXT_TTL, subscriptions live for days.
        return auth.subgraph_headers(self.principal or ANONYMOUS, self.gateway.subgraph_headers)

    async def _events(self) -> AsyncGenerator[dict[str, Any], None]:
        plan = self.plan
        assert plan is not None and isinstance(plan.node, Subscription)
        primary = plan.node.primary
        upstream = self.runner.upstream_operation(primary.operation)
        self.runner.active_upstreams += 1
        SUBSCRIPTIONS_OPEN.inc()
        try:
            attempt = 0
            while True:
                payload = self._upstream_payload(upstream, primary.variable_usages)
                try:
                    # aclosing: a client that leaves closes the subgraph subscription now, not at GC
                    async with contextlib.aclosing(self._upstream_events(plan, upstream, payload)) as events:
                        async for result in events:
                            attempt = 0  # the connection works again
                            yield result
                    return
                except UpstreamError as exc:
                    if not self._may_resume(exc, attempt):
                        yield self._upstream_failure(exc, primary.subgraph)
                        return
                    _log.info(
                        "subscription to %s lost (%s); resuming after cursor %s",
                        primary.subgraph,
                        exc.code,
                        self.cursor,
                    )
                    await asyncio.sleep(self.runner.settings.upstream_retry_delay * 2**attempt)
                    attempt += 1
        finally:
            self.runner.active_upstreams -= 1
            SUBSCRIPTIONS_OPEN.dec()

    def _upstream_payload(self, upstream: UpstreamOperation, usages: tuple[str, ...]) -> dict[str, Any]:
        variables = self.params.variables or {}
        upstream_vars = {v: variables[v] for v in usages if v in variables}
        if upstream.cursor_argument:
            upstream_vars[CURSOR_VARIABLE] = self.cursor
        payload: dict[str, Any] = {"query": upstream.query, "variables": upstream_vars}
        if self.cursor is not None:
            payload["extensions"] = {"cursor": self.cursor}
        return payload

    def _may_resume(self, exc: UpstreamError, attempt: int) -> bool:
        """Only from a known cursor (nothing is lost in between) and only when the connection failed."""
        return (
            self.cursor is not None
            and exc.code in (UPSTREAM_CLOSED, UPSTREAM_UNAVAILABLE)
            and attempt < self.runner.settings.upstream_retries
        )

    async def _upstream_events(
        self, plan: QueryPlan, upstream: UpstreamOperation, payload: dict[str, Any]
    ) -> AsyncGenerator[dict[str, Any], None]:
        assert isinstance(plan.node, Subscription)
        settings = self.runner.settings
        async with aiohttp.ClientSession() as session:
            events = subscribe_upstream(
                session,
                plan.node.primary.url,
                payload,
                self._subgraph_headers(),
                connect_timeout=settings.upstream_connect_timeout,
                heartbeat=settings.upstream_heartbeat,
            )
            try:
                async for event in events:
                    cursor = take_event_cursor(upstream, event)
                    result = await self._resolve(plan, event)
                    if cursor is not None:
                        self.cursor = cursor
                        result.setdefault("extensions", {})["cursor"] = cursor
                    yield result
            finally:
                await events.aclose()  # closes the subgraph socket now, also when the client left

    def _upstream_failure(self, exc: UpstreamError, subgraph: str) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        for e in exc.errors:
            extensions = dict(e.get("extensions") or {})
            extensions.setdefault("code", exc.code)
            extensions["serviceName"] = subgraph
            errors.append({**e, "extensions": extensions})
        if not errors:
            errors.append({"message": str(exc), "extensions": {"code": exc.code, "serviceName": subgraph}})
        result: dict[str, Any] = {"errors": errors}
        if self.cursor is not None:  # where to resume from
            result["extensions"] = {"cursor": self.cursor}
        return result

    async def _resolve(self, plan: QueryPlan, event: Mapping[str, Any]) -> dict[str, Any]:
        """The engine's event completion with the auth layer's tenant guard and errors."""
        assert isinstance(plan.node, Subscription)
        subgraph = plan.node.primary.subgraph
        errors = []
        for e in event.get("errors") or ():
            if isinstance(e, dict):
                extensions = dict(e.get("extensions") or {})
                extensions.setdefault("serviceName", subgraph)
                errors.append({**e, "extensions": extensions})
        response = await self.gateway.resolve_subscription_event(
            plan,
            {"data": event.get("data"), "errors": errors},
            self.params.variables or {},
            extra_subgraph_headers=self._subgraph_headers(),
            prepared=self.prepared,
            principal=self.principal or ANONYMOUS,
        )
        ensure_error_codes(response, "DOWNSTREAM_SERVICE_ERROR")
        return response
