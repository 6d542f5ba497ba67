"""One factory for every subgraph: Strawberry federation schema -> Starlette app.

    app = create_subgraph_app(schema, name="orgs")

Routes: `/graphql` (POST JSON, GET for queries; graphql-transport-ws WebSockets for subscriptions,
see shared.ws_endpoint), `/healthz`. Each request must carry the
gateway's signed `x-gateway-context` (401 otherwise), except a query that only asks for
`_service { sdl }` (composition needs it) and except when `settings.require_gateway_context` is
off for local debugging. Resolvers get a `RequestContext` (principal, tenant, tenant-scoped
sessions, per-request DataLoaders). Errors carry `extensions.code`; unexpected exceptions are
logged server-side and reach clients only as INTERNAL_SERVER_ERROR with a generic message.

The lifespan creates the database engine (application role) and, in the background, connects to
NATS, ensures the subgraph's stream, and runs its outbox relay and event consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import nats
import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation import Schema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType as StrawberryOperationType

from shared.context import RequestContext
from shared.db import Database
from shared.errors import AppError
from shared.events.consumer import IdempotentConsumer
from shared.events.relay import OutboxRelay
from shared.events.streams import ensure_stream
from shared.gateway_context import HEADER, GatewayContextError, Principal, verify_context
from shared.observability.health import health_routes
from shared.observability.logs import configure_logging, set_log_context
from shared.observability.prometheus import process_exited
from shared.observability.server import observed_request
from shared.observability.tracing import configure_tracing, instrument_engine
from shared.rpc import RpcHandler, RpcService
from shared.settings import Settings, get_settings
from shared.ws_endpoint import SubscriptionEndpoint

log = logging.getLogger(__name__)

ConsumerFactory = Callable[[Database, JetStreamContext], IdempotentConsumer]
GRAPHQL_RESPONSE = "application/graphql-response+json"
INTERNAL_MESSAGE = "Internal server error"
_SDL_FIELDS = frozenset({"_service", "__typename"})


# --------------------------------------------------------------------------- errors


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, AppError):
        return original.code
    if error.message.startswith("Variable '$"):
        return "BAD_USER_INPUT"  # variable coercion (graphql-core wraps the scalar's error)
    if original is None:
        code = (error.extensions or {}).get("code")
        if isinstance(code, str):
            return code
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        return "GRAPHQL_VALIDATION_FAILED"
    if isinstance(original, GraphQLError):
        return error_code(original)
    return "INTERNAL_SERVER_ERROR"


def format_error(error: GraphQLError) -> dict[str, Any]:
    """Spec-shaped error with `extensions.code`; never an exception's text or traceback unless it
    is one of ours (AppError) or a GraphQL request error."""
    code = error_code(error)
    original = error.original_error
    extensions: dict[str, Any] = {}
    if isinstance(original, AppError):
        message = original.message
        extensions.update(original.extensions)
    elif code == "INTERNAL_SERVER_ERROR":
        message = INTERNAL_MESSAGE
    else:
        message = error.message
        extensions.update({k: v for k, v in (error.extensions or {}).items() if k != "exception"})
    extensions["code"] = code
    out: dict[str, Any] = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    out["extensions"] = extensions
    return out


def log_errors(errors: list[GraphQLError], execution_context: Any = None) -> None:
    """Strawberry logs every error with its traceback; only unexpected ones deserve that.

    Then each error takes the shape `format_error` gives it (message, `extensions.code`), in place:
    Strawberry's WebSocket handler sends `error.formatted` as is, so subscriptions get the same
    coded, sanitized errors as HTTP (which formats them again, to the same result)."""
    for error in errors:
        if error_code(error) == "INTERNAL_SERVER_ERROR":
            original = error.original_error
            log.error(
                "unexpected error at %s: %s",
                error.path,
                error.message,
                exc_info=(type(original), original, original.__traceback__) if original else None,
            )
        shaped = format_error(error)
        error.message = shaped["message"]
        error.extensions = shaped["extensions"]


def _json(body: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def _request_error(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def is_sdl_query(query: str) -> bool:
    """True when the document only selects `_service` (and `__typename`) on Query."""
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operations = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.operation != OperationType.QUERY:
            return False
        operations += 1
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value not in _SDL_FIELDS:
                return False
    return operations > 0


# --------------------------------------------------------------------------- runtime


@dataclass
class SubgraphRuntime:
    """What the lifespan owns; reachable as `app.state.runtime`."""

    name: str
    settings: Settings
    db: Database
    nats: NatsClient | None = None
    relay: OutboxRelay | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    events_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()


async def _supervise(what: str, run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background loop alive: restart it (with back-off) when it fails."""
    delay = 0.5
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting in %.1fs", what, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _run_events(
    runtime: SubgraphRuntime,
    *,
    outbox_schema: str | None,
    consumers: Sequence[ConsumerFactory],
    rpc: Mapping[str, RpcHandler],
) -> None:
    """Connect to NATS (retrying until it is up), then run the relay, consumers and RPC service."""
    settings = runtime.settings
    delay = 0.2
    while True:
        try:
            nc = await nats.connect(
                settings.nats_servers,
                name=f"subgraph-{runtime.name}",
                max_reconnect_attempts=-1,
                connect_timeout=2,
            )
            break
        except Exception as exc:
            log.warning(
                "subgraph %s: NATS not reachable at %s (%s); retrying", runtime.name, settings.nats_url, exc
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
    runtime.nats = nc
    js = nc.jetstream()
    children: list[asyncio.Task[Any]] = []
    try:
        if outbox_schema is not None:
            relay = runtime.relay = OutboxRelay(
                runtime.db,
                js,
                schema=outbox_schema,
                batch_size=settings.outbox_batch_size,
                poll_interval=settings.outbox_poll_interval,
            )

            async def run_relay() -> None:
                # Inside the supervised loop: a NATS without JetStream (yet) is retried, not fatal.
                await ensure_stream(
                    js,
                    runtime.name,
                    duplicate_window=settings.event_duplicate_window,
                    replicas=settings.event_stream_replicas,
                )
                await relay.run()

            children.append(asyncio.create_task(_supervise(f"{runtime.name} outbox relay", run_relay)))
        if rpc:
            service = RpcService(runtime.name, rpc, runtime.db, settings.gateway_secret_bytes)
            await service.serve(nc)  # the subscription survives reconnects (nats-py resubscribes)
        for factory in consumers:
            consumer = factory(runtime.db, js)
            children.append(asyncio.create_task(_supervise(f"consumer {consumer.name}", consumer.run)))
        runtime.events_ready.set()
        await asyncio.gather(*children) if children else await asyncio.Event().wait()
    finally:
        for task in children:
            task.cancel()
        await asyncio.gather(*children, return_exceptions=True)


def readiness_checks(runtime: SubgraphRuntime) -> dict[str, Callable[[], Awaitable[bool]]]:
    """What readiness needs: the database, and NATS when this subgraph runs its events."""

    async def database() -> bool:
        return await runtime.db.ping()

    async def nats_connected() -> bool:
        return runtime.nats is not None and runtime.nats.is_connected

    checks: dict[str, Callable[[], Awaitable[bool]]] = {"database": database}
    if runtime.tasks:
        checks["nats"] = nats_connected
    return checks


# --------------------------------------------------------------------------- the app


class GraphQLEndpoint:
    def __init__(self, schema: Schema, name: str, settings: Settings) -> None:
        self.schema = schema
        self.name = name
        self.settings = settings

    async def _read(self, request: Request) -> dict[str, Any] | Response:
        if request.method == "GET":
            params = request.query_params
            data: dict[str, Any] = {
                "query": params.get("query"),
                "operationName": params.get("operationName"),
            }
            for key in ("variables", "extensions"):
                if params.get(key):
                    try:
                        data[key] = orjson.loads(params[key])
                    except orjson.JSONDecodeError:
                        return _request_error(f"{key} is not valid JSON", "BAD_REQUEST", 400)
            return data
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type:
            return _request_error("POST body must be application/json", "BAD_REQUEST", 415)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _request_error("body is not valid JSON", "BAD_REQUEST", 400)
        if not isinstance(body, dict):
            return _request_error("body must be a JSON object", "BAD_REQUEST", 400)
        return body

    def _principal(self, request: Request, query: str) -> tuple[Principal | None, Response | None]:
        header = request.headers.get(HEADER)
        if header:
            try:
                return verify_context(header, self.settings.gateway_secret_bytes).principal, None
            except GatewayContextError as exc:
                if self.settings.require_gateway_context:
                    return None, _request_error(str(exc), "UNAUTHENTICATED", 401)
        if not self.settings.require_gateway_context:
            tenant = request.headers.get("x-tenant-id")
            return (Principal(tenant_id=tenant) if tenant else None), None
        if is_sdl_query(query):
            return None, None
        return None, _request_error("missing gateway context", "UNAUTHENTICATED", 401)

    async def handle(self, request: Request) -> Response:
        return await observed_request(self.name, request, self._handle)

    async def _handle(self, request: Request) -> Response:
        data = await self._read(request)
        if isinstance(data, Response):
            return data
        query = data.get("query")
        if not isinstance(query, str) or not query:
            return _request_error("query is required", "BAD_REQUEST", 400)
        variables = data.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return _request_error("variables must be an object", "BAD_REQUEST", 400)
        operation_name = data.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return _request_error("operationName must be a string", "BAD_REQUEST", 400)

        principal, denied = self._principal(request, query)
        if denied is not None:
            return denied
        tenant_id: uuid.UUID | None = None
        if principal is not None and principal.tenant_id:
            try:
                tenant_id = uuid.UUID(principal.tenant_id)
            except ValueError:
                return _request_error("tenant id is not a UUID", "UNAUTHENTICATED", 401)

        set_log_context(tenant=str(tenant_id) if tenant_id else None, operation=operation_name)
        runtime: SubgraphRuntime = request.app.state.runtime
        context = RequestContext(
            request=request,
            settings=self.settings,
            db=runtime.db,
            principal=principal,
            tenant_id=tenant_id,
            subgraph=self.name,
            wake_relay=runtime.wake_relay,
            nats=lambda: runtime.nats,
        )
        allowed = (
            {StrawberryOperationType.QUERY}
            if request.method == "GET"
            else {StrawberryOperationType.QUERY, StrawberryOperationType.MUTATION}
        )
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=operation_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError:
            return _request_error(
                "only queries are allowed over GET", "METHOD_NOT_ALLOWED", 405, {"allow": "POST"}
            )
        except Exception:
            log.exception("subgraph %s: request failed outside execution", self.name)
            return _request_error(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR", 500)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [format_error(e) for e in result.errors]
        body["data"] = result.data
        if result.extensions:
            body["extensions"] = result.extensions
        wants_graphql_response = GRAPHQL_RESPONSE in request.headers.get("accept", "")
        if wants_graphql_response:
            # GraphQL over HTTP: a request error (no data at all) is a 400 in this media type.
            status = 400 if result.data is None and result.errors else 200
            return _json(body, status, GRAPHQL_RESPONSE)
        return _json(body)


_DOCUMENT_CACHE_SIZE = 512  # distinct operation texts per process (the gateway sends few shapes)


def _cache_documents(schema: Schema) -> None:
    """Parse and validate each distinct operation text once per process (Strawberry's bounded LRU
    extensions): the gateway sends the same few documents over and over, and re-validating them
    was a quarter of a busy subgraph's CPU."""
    if getattr(schema, "_document_caches", False):  # the same schema served by several apps (tests)
        return
    setattr(schema, "_document_caches", True)  # noqa: B010
    schema.extensions = (
        *schema.extensions,
        lambda: ParserCache(maxsize=_DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=_DOCUMENT_CACHE_SIZE),
    )


def create_subgraph_app(
    schema: Schema,
    *,
    name: str,
    settings: Settings | None = None,
    database: Database | None = None,
    outbox_schema: str | None = None,
    consumers: Sequence[ConsumerFactory] = (),
    rpc: Mapping[str, RpcHandler] | None = None,
    events: bool | None = None,
) -> Starlette:
    """Build a subgraph's ASGI app.

    `outbox_schema`: the schema whose `outbox` table the relay drains (None: this subgraph does not
    publish). `consumers`: factories of the event consumers to run. `database`: an already built
    Database (tests); default connects as the application role to `settings.database_url`.
    `rpc`: request-reply handlers served on `svc.<name>` (see shared.rpc).
    `events`: connect to NATS and run all of that (default: `settings.outbox_relay_enabled`); the
    connection also serves `RequestContext.call` (asking other domains).
    """
    settings = settings or get_settings()
    configure_logging(f"subgraph-{name}")  # JSON lines, once per process (shared.observability)
    configure_tracing(f"subgraph-{name}")  # OTLP export only when OTEL_EXPORTER_OTLP_ENDPOINT is set
    # Instance attribute: replaces Strawberry's log-everything hook for this schema only.
    setattr(schema, "process_errors", log_errors)  # noqa: B010
    _cache_documents(schema)
    run_events = settings.outbox_relay_enabled if events is None else events

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = database or Database.for_app(settings, name=name)
        instrument_engine(db.engine)  # SQL spans when tracing is on
        runtime = SubgraphRuntime(name=name, settings=settings, db=db)
        app.state.runtime = runtime
        if run_events:
            runtime.tasks.append(
                asyncio.create_task(
                    _run_events(runtime, outbox_schema=outbox_schema, consumers=consumers, rpc=rpc or {}),
                    name=f"{name}-events",
                )
            )
        try:
            yield
        finally:
            for task in runtime.tasks:
                task.cancel()
            for task in runtime.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if runtime.nats is not None:
                with contextlib.suppress(Exception):
                    await runtime.nats.close()
            if database is None:
                await db.dispose()
            process_exited()

    async def healthz(request: Request) -> Response:
        runtime: SubgraphRuntime = request.app.state.runtime
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=2.0)
            db_ok = True
        except Exception:
            db_ok = False
        body = {
            "status": "ok" if db_ok else "degraded",
            "subgraph": name,
            "database": "ok" if db_ok else "down",
        }
        if runtime.tasks:  # NATS is informative only: the relay catches up once it connects
            body["events"] = (
                "connected" if runtime.nats is not None and runtime.nats.is_connected else "connecting"
            )
        return _json(body, 200 if db_ok else 503)

    endpoint = GraphQLEndpoint(schema, name, settings)
    return Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", SubscriptionEndpoint(schema, name, settings)),
            Route("/healthz", healthz, methods=["GET"]),
            *health_routes(name, lambda request: readiness_checks(request.app.state.runtime)),
        ],
        lifespan=lifespan,
    )
