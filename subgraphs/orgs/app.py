"""ASGI entry point: `uvicorn --factory subgraphs.orgs.app:create_app`.

Besides `/graphql` and `/healthz` (the shared factory), the orgs app serves:

- `GET /.well-known/jwks.json`: public keys that verify the tokens `login` issues (no auth).
- `GET /internal/api-keys?hash=<sha256 hex>`: the gateway's API key lookup; needs a signed
  `x-gateway-context` with role `gateway`; 200 + record, 404 unknown/revoked/expired.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from shared.app_factory import create_subgraph_app
from shared.db import Database
from shared.gateway_context import HEADER, GatewayContextError, verify_context
from shared.settings import Settings, get_settings
from subgraphs.orgs import api_keys, gateway_sync, keys
from subgraphs.orgs.models import SCHEMA
from subgraphs.orgs.schema import schema

GATEWAY_ROLE = "gateway"


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _error(message: str, code: str, status: int) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


async def jwks(request: Request) -> Response:
    db: Database = request.app.state.runtime.db
    async with db.session() as session:
        published = await keys.published_keys(session)
        if not published:  # a fresh deployment: publish the key the first login will use
            await keys.active_key(session)
            published = await keys.published_keys(session)
    # Short cache: a rotated-in key must show up soon (the gateway also refetches on unknown kid).
    return _json({"keys": published}, headers={"cache-control": "public, max-age=60"})


def api_key_lookup(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            context = verify_context(request.headers.get(HEADER, ""), settings.gateway_secret_bytes)
        except GatewayContextError as exc:
            return _error(str(exc), "UNAUTHENTICATED", 401)
        if GATEWAY_ROLE not in context.principal.roles:
            return _error("only the gateway may look up API keys", "FORBIDDEN", 403)
        key_hash = request.query_params.get("hash", "")
        record = await api_keys.lookup(request.app.state.runtime.db, key_hash)
        if record is None:
            return _error("unknown API key", "NOT_FOUND", 404)
        return _json(record, headers={"cache-control": "no-store"})

    return handle


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    app = create_subgraph_app(
        schema,
        name="orgs",
        settings=settings,
        database=database,
        outbox_schema=SCHEMA,
        consumers=[gateway_sync.GatewaySessionSync, gateway_sync.GatewayKeySync],
    )
    app.add_route("/.well-known/jwks.json", jwks, methods=["GET"])
    app.add_route("/internal/api-keys", api_key_lookup(settings), methods=["GET"])
    return app
