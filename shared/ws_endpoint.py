"""graphql-transport-ws on a subgraph's `/graphql` (the gateway's subscriptions reach subgraphs so).

The upgrade request must carry the gateway's signed `x-gateway-context`, verified exactly as an HTTP
request's is (`GraphQLEndpoint._principal`): a missing or forged one refuses the handshake (HTTP 403
from the ASGI server, close code 4401 in the ASGI message) before Strawberry sees the socket. The
context is checked once, when the connection opens: it lives 30 s, a subscription for days. Every
operation of the connection then runs with that principal and its tenant (one RequestContext per
connection; the gateway opens one connection per subscription).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.federation import Schema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from shared.context import RequestContext
from shared.gateway_context import HEADER, GatewayContextError, Principal, verify_context
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.app_factory import SubgraphRuntime

log = logging.getLogger(__name__)

_PRINCIPAL = "b2b.principal"  # where the verified principal waits in the ASGI scope


def upgrade_principal(headers: dict[str, str], settings: Settings) -> tuple[Principal | None, str | None]:
    """(principal, refusal): the HTTP rule applied to the upgrade request's headers."""
    header = headers.get(HEADER)
    if header:
        try:
            principal = verify_context(header, settings.gateway_secret_bytes).principal
        except GatewayContextError as exc:
            if settings.require_gateway_context:
                return None, str(exc)
        else:
            if principal.tenant_id:
                try:
                    uuid.UUID(principal.tenant_id)
                except ValueError:
                    return None, "tenant id is not a UUID"
            return principal, None
    if not settings.require_gateway_context:
        tenant = headers.get("x-tenant-id")
        return (Principal(tenant_id=tenant) if tenant else None), None
    return None, "missing gateway context"


class SubscriptionEndpoint(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view, WebSockets only (HTTP stays with GraphQLEndpoint)."""

    def __init__(self, schema: Schema, name: str, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.name = name
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":  # pragma: no cover - the route only routes websockets
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        principal, refusal = upgrade_principal(headers, self.settings)
        if refusal is not None:
            log.info("subgraph %s: subscription handshake refused: %s", self.name, refusal)
            await send({"type": "websocket.close", "code": 4401, "reason": refusal[:120]})
            return
        scope[_PRINCIPAL] = principal
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Any, response: Any = None) -> RequestContext:
        assert isinstance(request, WebSocket)
        principal: Principal | None = request.scope.get(_PRINCIPAL)
        tenant_id = uuid.UUID(principal.tenant_id) if principal is not None and principal.tenant_id else None
        runtime: SubgraphRuntime = request.scope["app"].state.runtime
        return RequestContext(
            request=None,
            settings=self.settings,
            db=runtime.db,
            principal=principal,
            tenant_id=tenant_id,
            subgraph=self.name,
            wake_relay=runtime.wake_relay,
            nats=lambda: runtime.nats,
        )
