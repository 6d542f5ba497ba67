"""The gateway's ASGI app: GraphQL over HTTP (GET and POST), GraphiQL, health check.

Request path: negotiate the response media type -> read parameters (GET query string or POST JSON) ->
parse (LRU cache) -> select the operation -> validate (LRU cache) -> coerce variables -> execute
(introspection-only operations locally, everything else through ``Gateway.execute``) -> orjson.

Status codes follow the GraphQL-over-HTTP spec: with ``application/graphql-response+json`` a request
error (parse, validation, variable coercion) is a 400 without a ``data`` entry; with
``application/json`` it is a 200; malformed HTTP requests are 4xx for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import graphql
import orjson
from opentelemetry.trace import Span, SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.auth.layer import INTROSPECTION_DISABLED, GatewayAuth, uses_schema_introspection
from gateway.auth.principal import AuthenticationError, Principal
from gateway.config import GatewayConfig
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
from gateway.http.graphiql import ASSETS_DIR, ASSETS_PATH, graphiql_html
from gateway.http.lru import LRUCache
from gateway.http.media import GRAPHQL_RESPONSE_JSON, JSON, negotiate_response_type, prefers_html
from gateway.http.operations import execute_introspection, is_introspection_only, select_operation
from gateway.http.params import GraphQLParams, params_from_body, params_from_query_string
from gateway.http.reload import SupergraphReloader
from gateway.http.validation_errors import condense
from gateway.observability import metrics as obs
from gateway.observability.instrument import count_inbound_shared, instrument_gateway
from gateway.safety.cors import cors_middleware
from gateway.safety.layer import SafetyLayer
from gateway.safety.persisted import PersistedQuery
from shared.observability import tracing
from shared.observability.health import health_routes
from shared.observability.logs import OPERATION, TENANT
from shared.observability.prometheus import CONTENT_TYPE as METRICS_CONTENT_TYPE
from shared.observability.prometheus import child, process_exited
from shared.observability.prometheus import render as render_metrics

logger = logging.getLogger("gateway.http")
_tracer = tracing.tracer("gateway")
_OPERATION_KEY = "gateway.operation"  # request scope: (operation type, operation name) once parsed
_UNKNOWN_OPERATION = ("unknown", None)
_NO_SPAN = contextlib.nullcontext()


def _stage(name: str) -> contextlib.AbstractContextManager[Any]:
    """A child span of the request span when tracing is on; a shared no-op otherwise (hot path)."""
    return _tracer.start_as_current_span(name) if tracing.enabled() else _NO_SPAN

_ALLOW = {"Allow": "GET, POST"}
_HEALTHY = orjson.dumps({"status": "pass"})
_TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
_EXPLAIN_HEADERS = ("x-query-plan", "apollo-query-plan-experimental")
_SERVER_FAILURE_CODES = frozenset({INTERNAL_SERVER_ERROR, "QUERY_PLANNING_FAILED"})
_FORBIDDEN_CODES = frozenset({"UNAUTHORIZED_FIELD_OR_TYPE", "FORBIDDEN"})  # reject_unauthorized mode


def _json_response(body: Any, status: int, media_type: str,
                   headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=f"{media_type}; charset=utf-8",
                    headers=dict(headers) if headers else None)


def _content_type(request: Request) -> tuple[str, str | None]:
    raw = request.headers.get("content-type", "")
    media, *params = raw.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


class GraphQLEndpoint:
    """Handles one GraphQL-over-HTTP request; holds the caches shared by all requests of a process."""

    def __init__(self, gateway: Gateway, config: GatewayConfig) -> None:
        self.gateway = gateway
        self.config = config
        self.schema = gateway.api_schema
        self.safety = SafetyLayer(config, self.schema)  # limits, persisted queries, CSRF, rate limits
        self._persisted = self.safety.persisted is not None
        self.documents = DocumentStore(self.schema, parse_cache_size=config.parse_cache_size,
                                       validation_cache_size=config.validation_cache_size,
                                       parse_cache_bytes=mib(config.parse_cache_mib),
                                       validation_cache_bytes=mib(config.validation_cache_mib),
                                       max_tokens=config.max_query_tokens,
                                       suggestions=config.field_suggestions, precheck=self.safety.precheck)
        self._graphiql_page = graphiql_html()
        self.active = 0  # requests being answered

    def cache_stats(self) -> dict[str, dict[str, int]]:
        """Entries and accounted bytes of every cache keyed by query text in this process."""
        def lru(cache: LRUCache[Any, Any]) -> dict[str, int]:
            return {"entries": len(cache), "bytes": cache.bytes, "max_bytes": cache.max_bytes or 0,
                    "evictions": cache.evictions}

        stats = {"parse": lru(self.documents.parsed), "validation": lru(self.documents.validated),
                 **{f"limits_{n}": lru(c) for n, c in self.safety.limiter.caches().items()},
                 **self.gateway.cache_stats()}
        if self.gateway.auth is not None:
            stats.update({f"auth_{n}": lru(c) for n, c in self.gateway.auth.caches().items()})
        return stats

    async def handle(self, request: Request) -> Response:
        if not tracing.enabled():
            return await self._observed(request, None)
        with _tracer.start_as_current_span("graphql.request", context=tracing.extract(request.headers),
                                           kind=SpanKind.SERVER) as span:
            return await self._observed(request, span)

    async def _observed(self, request: Request, span: Span | None) -> Response:
        """One request, counted, timed and (``span``) traced; the operation is known once parsed."""
        started = time.perf_counter()
        obs.IN_FLIGHT.inc()
        self.active += 1  # a reload closes this endpoint once it reaches 0 again
        try:
            answer = await self._answer(request)
        finally:
            self.active -= 1
            obs.IN_FLIGHT.dec()
        if isinstance(answer, Response):
            return answer
        body, status, media_type, headers = answer
        try:
            response = _json_response(body, status, media_type, headers)
        except TypeError:
            logger.exception("response is not JSON-serializable")
            body = HTTPRequestError(500, "Internal server error.", INTERNAL_SERVER_ERROR).body
            status, response = 500, _json_response(body, 500, media_type)
        kind, name = request.scope.get(_OPERATION_KEY, _UNKNOWN_OPERATION)
        if self.gateway.inbound_dedup:
            count_inbound_shared(self.gateway)
        child(obs.REQUESTS, kind, str(status)).inc()
        child(obs.REQUEST_LATENCY, obs.operation_label(name)).observe(time.perf_counter() - started)
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            for error in errors:
                code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
                child(obs.ERRORS, str(code or "UNKNOWN")[:64]).inc()
        if self.config.log_requests:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            extra = {"status": status, "operation_type": kind, "duration_ms": elapsed}
            logger.info("graphql request", extra=extra)
        if span is not None:
            span.set_attribute("graphql.operation.type", kind)
            span.set_attribute("graphql.operation.name", name or "")
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)
        return response

    async def _answer(self, request: Request) -> Response | tuple[Any, int, str, Mapping[str, str] | None]:
        """The response body, status, media type and headers (or a ready response: GraphiQL)."""
        accept = request.headers.get("accept")
        method = request.method
        if (method == "GET" and self.config.graphiql and "query" not in request.query_params
                and prefers_html(accept)):
            return Response(self._graphiql_page, media_type="text/html; charset=utf-8")
        media_type = negotiate_response_type(accept)
        if media_type is None:
            body = {"errors": [{"message": f"None of the media types in Accept can be produced; use "
                                           f"{GRAPHQL_RESPONSE_JSON} or {JSON}.",
                                "extensions": {"code": "BAD_REQUEST"}}]}
            return body, 406, JSON, None
        try:
            params = await self._read_params(request)
            body, status = await self._run(params, request, media_type)
        except HTTPRequestError as error:
            return error.body, error.status, media_type, error.headers
        except GraphQLRequestError as error:
            status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
            return {"errors": error.errors}, status, media_type, None
        except Exception:  # a bug: a coded GraphQL error, never Starlette's plain-text page
            logger.exception("request handling crashed")
            internal = HTTPRequestError(500, "Internal server error.", INTERNAL_SERVER_ERROR)
            return internal.body, 500, media_type, None
        return body, status, media_type, None

    async def _read_params(self, request: Request) -> GraphQLParams:
        if request.method in ("GET", "HEAD"):
            self.safety.check_csrf(request.headers)
            return params_from_query_string(request.query_params, persisted=self._persisted)
        if request.method != "POST":
            raise HTTPRequestError(405, "GraphQL requests use GET or POST.", headers=_ALLOW)
        self.safety.check_csrf(request.headers)
        media, charset = _content_type(request)
        if charset not in (None, "utf-8", "utf8"):
            raise HTTPRequestError(415, f"Unsupported charset '{charset}': send UTF-8.")
        if media not in ("application/json", "application/graphql"):
            raise HTTPRequestError(415, "Send the request as application/json (a JSON object with 'query', "
                                        "'operationName', 'variables', 'extensions').")
        raw = await self._read_body(request)
        if not raw.strip():
            raise HTTPRequestError(400, "The request body is missing.")
        if media == "application/graphql":
            return GraphQLParams(self._decode_text(raw), None, None, None)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise HTTPRequestError(400, f"The request body is not valid JSON: {exc.msg}.") from None
        return params_from_body(body, persisted=self._persisted)

    @staticmethod
    def _decode_text(raw: bytes) -> str:
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise HTTPRequestError(400, "The request body is not valid UTF-8.") from None

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPRequestError(413, f"The request body is larger than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPRequestError(413, f"The request body is larger than {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)

    def _explain(self, request: Request) -> bool:
        if not self.config.allow_explain:
            return False
        headers = request.headers
        return any(headers.get(name, "").strip().lower() in _TRUE_VALUES for name in _EXPLAIN_HEADERS)

    async def _authenticate(self, headers: dict[str, str]) -> Principal | None:
        auth = self.gateway.auth
        if auth is None:
            return None
        try:
            return await auth.authenticate(headers)
        except AuthenticationError as exc:
            extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            raise HTTPRequestError(exc.status, str(exc), exc.code, headers=extra) from None

    async def _run(self, params: GraphQLParams, request: Request,
                   media_type: str) -> tuple[dict[str, Any], int]:
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in request.scope["headers"]}
        client_ip = self.safety.client_address(request.client.host if request.client else None, headers)
        try:
            principal = await self._authenticate(headers)
        except HTTPRequestError:
            await self.safety.check_rate(None, client_ip)  # refused credentials count against the IP
            raise
        await self.safety.check_rate(principal, client_ip)
        api_key = principal is not None and bool(headers.get("x-api-key"))
        params, persisted = await self.safety.resolve_persisted(params, api_key=api_key)
        with _stage("graphql.parse"):
            parsed = self.documents.parse(params.query)
        if parsed.error is not None:
            raise GraphQLRequestError([parsed.error], PARSE_FAILED)
        document = parsed.document
        assert document is not None
        operation = select_operation(document, params.operation_name)
        name = params.operation_name or (operation.name.value if operation.name is not None else None)
        request.scope[_OPERATION_KEY] = (operation.operation.value, name)
        OPERATION.set(name)  # log lines of this request (its own task) carry it, and the tenant
        if principal is not None and principal.tenant_id:
            TENANT.set(principal.tenant_id)
        flow = self.safety.flow
        if not flow.settings.active:
            return await self._operation(params, request, media_type, headers, principal, persisted, document,
                                         operation)
        tenant = principal.tenant_id if principal is not None and principal.tenant_id else f"ip:{client_ip}"
        with flow.admit(tenant, name):  # 503 + Retry-After over the tenant's or operation's limit
            return await self._operation(params, request, media_type, headers, principal, persisted, document,
                                         operation)

    async def _operation(self, params: GraphQLParams, request: Request, media_type: str,
                         headers: dict[str, str], principal: Principal | None,
                         persisted: PersistedQuery | None, document: graphql.DocumentNode,
                         operation: graphql.OperationDefinitionNode) -> tuple[dict[str, Any], int]:
        if request.method != "POST" and operation.operation != graphql.OperationType.QUERY:
            raise HTTPRequestError(405, f"A {operation.operation.value} cannot be sent with GET; use POST.",
                                   headers={"Allow": "POST"})
        with _stage("graphql.validate"):
            errors = self.documents.validate(params.query, document)
        if errors:
            raise GraphQLRequestError(errors, VALIDATION_FAILED)
        if not self.config.introspection and uses_schema_introspection(document, params.operation_name):
            # Refused here too, not only by the auth layer, so that it holds with authentication off.
            raise GraphQLRequestError([graphql.GraphQLError(INTROSPECTION_DISABLED)], VALIDATION_FAILED)
        self.safety.check_limits(params.query, document, operation, params.variables)
        await self.safety.register_persisted(persisted)
        if operation.operation == graphql.OperationType.SUBSCRIPTION:
            raise HTTPRequestError(400, "Subscriptions are not served over a single HTTP request; use a "
                                        "WebSocket (graphql-transport-ws) or server-sent events.")
        if operation.variable_definitions or params.variables:
            coerced = graphql.get_variable_values(self.schema, operation.variable_definitions or (),
                                                  params.variables or {},
                                                  max_errors=self.config.max_variables_errors)
            if isinstance(coerced, list):
                raise GraphQLRequestError(list(condense(coerced, suggestions=self.config.field_suggestions)),
                                          BAD_USER_INPUT)

        if is_introspection_only(document, operation):
            schema = self.schema
            auth = self.gateway.auth
            if auth is not None and principal is not None:
                visible = auth.introspection_schema(principal)
                if visible is None and uses_schema_introspection(document, params.operation_name):
                    error = graphql.GraphQLError(INTROSPECTION_DISABLED)
                    raise GraphQLRequestError([error], VALIDATION_FAILED)
                schema = visible or schema
            return execute_introspection(schema, document, params.operation_name, params.variables), 200

        op_request = OperationRequest(document=document, operation_name=params.operation_name,
                                      variables=params.variables, headers=headers,
                                      explain=self._explain(request), principal=principal,
                                      client_address=self.safety.client_address(
                                          request.client.host if request.client else None, headers))
        try:
            response = await self.gateway.execute(op_request)
        except Exception:
            logger.exception("gateway failed to execute an operation")
            raise HTTPRequestError(500, "Internal server error.", INTERNAL_SERVER_ERROR) from None
        ensure_error_codes(response)
        if "data" in response or media_type == JSON:
            return response, 200
        # No data entry: the engine refused the request as a whole; a valid operation it cannot plan
        # is the gateway's failure, not the client's.
        codes = {error.get("extensions", {}).get("code") for error in response.get("errors", ())}
        if codes & _SERVER_FAILURE_CODES:
            return response, 500
        return response, 403 if codes & _FORBIDDEN_CODES else 400


async def healthcheck(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition (every worker process's samples in multiprocess mode)."""
    return Response(render_metrics(), media_type=METRICS_CONTENT_TYPE)


def mib(value: float) -> int:
    return int(value * (1 << 20))


def _endpoint(gateway: Gateway, config: GatewayConfig) -> GraphQLEndpoint:
    if config.auth and gateway.auth is None:
        gateway.auth = GatewayAuth.from_config(gateway.api_schema, gateway.supergraph_schema, config)
    instrument_gateway(gateway, config)  # breakers, retries, spans, counters (gateway/observability)
    return GraphQLEndpoint(gateway, config)


def build_gateway(sdl: str, config: GatewayConfig) -> Gateway:
    """A gateway for ``sdl`` with the settings of ``config`` (start-up and hot reloads)."""
    return Gateway.from_supergraph_sdl(sdl, subgraph_timeout=config.subgraph_timeout,
                                       subgraph_headers=config.subgraph_headers,
                                       subgraph_connections=config.subgraph_connections,
                                       subgraph_dedup=config.subgraph_dedup,
                                       inbound_dedup=config.inbound_dedup,
                                       plan_cache_bytes=mib(config.plan_cache_mib),
                                       shape_cache_bytes=mib(config.shape_cache_mib))


def create_app(gateway: Gateway, config: GatewayConfig | None = None, *,
               extra_routes: Sequence[BaseRoute] = (), reload_on_sighup: bool = False) -> Starlette:
    """The gateway's ASGI app. ``extra_routes`` lets other layers (subscriptions) mount their endpoints.
    ``app.state.reloader.reload(sdl)`` swaps in another supergraph (gateway/http/reload.py)."""
    config = config or GatewayConfig()
    cfg = config
    endpoint = _endpoint(gateway, config)

    def swapped(new: GraphQLEndpoint) -> None:
        app.state.graphql = new

    def rebuilt(sdl: str) -> GraphQLEndpoint:
        new = build_gateway(sdl, cfg)
        if not new.supergraph.subgraphs or new.api_schema.query_type is None:
            raise ValueError("the supergraph names no subgraph or has no Query type")
        return _endpoint(new, cfg)

    reloader = SupergraphReloader(endpoint, config, rebuilt, swapped)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]  # we answer the others with a GraphQL-shaped 405
    # Extra routes come first: the SSE route claims requests to /graphql by their Accept header.
    routes: list[BaseRoute] = [
        *extra_routes,
        Route("/healthcheck", healthcheck, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        # Liveness and readiness: the gateway serves partial data and coded errors without a subgraph,
        # so it is ready once its supergraph is loaded (flow control sheds with 503s, not via readiness).
        *health_routes("gateway", lambda request: {}, metrics=False),
        Route("/graphql", reloader.handle, methods=methods),
        Route("/", reloader.handle, methods=methods),
    ]
    if config.graphiql:
        assets = GZipMiddleware(StaticFiles(directory=ASSETS_DIR), minimum_size=1024)
        routes.append(Mount(ASSETS_PATH, app=assets))
    if config.app_dir is not None:  # a front end's build on the API's origin: no CORS needed
        front_end = GZipMiddleware(StaticFiles(directory=config.app_dir, html=True), minimum_size=1024)
        routes.append(Mount("/app", app=front_end))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = None
        if cfg.supergraph is not None and cfg.supergraph_poll_interval > 0:
            watcher = asyncio.get_running_loop().create_task(
                reloader.watch(cfg.supergraph, cfg.supergraph_poll_interval))
        path = cfg.supergraph
        if reload_on_sighup and path is not None:
            def hangup() -> None:
                asyncio.get_running_loop().create_task(reloader.reload_file(path))

            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, hangup)
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            await reloader.close()
            process_exited()  # multiprocess metrics: this worker's live gauges leave the sums

    app = Starlette(routes=routes, lifespan=lifespan, middleware=cors_middleware(config))
    app.state.graphql = endpoint
    app.state.reloader = reloader
    return app
