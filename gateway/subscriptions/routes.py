"""The subscription endpoints to mount with ``create_app(gateway, config, extra_routes=...)``."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from gateway.config import GatewayConfig
from gateway.engine import Gateway
from gateway.http.documents import DocumentStore
from gateway.safety.limits import OperationLimiter, OperationLimits
from gateway.subscriptions.session import OperationRunner, SubscriptionSettings
from gateway.subscriptions.transport_sse import EventStreamEndpoint, EventStreamRoute
from gateway.subscriptions.transport_ws import WebSocketConnection

PATHS = ("/graphql", "/")


def subscription_routes(gateway: Gateway, config: GatewayConfig | None = None) -> list[BaseRoute]:
    """graphql-transport-ws on the WebSocket of ``/graphql`` (and ``/``), GraphQL over SSE on the same
    paths for requests accepting ``text/event-stream`` (these routes must come before the HTTP ones)."""
    config = config or GatewayConfig()
    runner = operation_runner(gateway, config)
    keepalive = config.subscription_keepalive

    async def websocket_endpoint(websocket: WebSocket) -> None:
        connection = WebSocketConnection(
            websocket, runner, init_timeout=config.subscription_init_timeout, keepalive=keepalive or None
        )
        await connection.serve()

    sse = EventStreamEndpoint(runner, keepalive=keepalive or 15.0, max_body_bytes=config.max_body_bytes)
    routes: list[BaseRoute] = [EventStreamRoute(PATHS, sse.handle)]
    routes += [WebSocketRoute(path, websocket_endpoint) for path in PATHS]
    return routes


def operation_runner(gateway: Gateway, config: GatewayConfig) -> OperationRunner:
    """The runner both transports share; the webhook dispatcher (gateway/webhooks) builds its own the
    same way, so a webhook's subscription is checked, planned and completed exactly as a client's."""
    documents = DocumentStore(
        gateway.api_schema,
        parse_cache_size=config.parse_cache_size,
        validation_cache_size=config.validation_cache_size,
        max_tokens=config.max_query_tokens,
        suggestions=config.field_suggestions,
    )
    settings = SubscriptionSettings(
        upstream_heartbeat=config.subscription_keepalive or None,
        reauth_interval=config.subscription_reauth_interval,
        share_upstreams=config.subscription_share_upstreams,
        subscriber_queue=config.subscription_subscriber_queue,
    )
    # The same operation limits as over HTTP (gateway/safety): depth, aliases, root fields, cost, tokens.
    limits = OperationLimits(
        max_depth=config.max_depth,
        max_introspection_depth=config.max_introspection_depth,
        max_aliases=config.max_aliases,
        max_root_fields=config.max_root_fields,
        max_directives=config.max_directives,
        max_cost=config.max_cost,
        default_list_size=config.default_list_size,
    )
    limiter = OperationLimiter(gateway.api_schema, limits, cache_size=max(config.validation_cache_size, 100))
    return OperationRunner(gateway, documents, settings, limiter)
