"""NATS request-reply between domains: "ask another domain right now" without an HTTP mesh.

One service subject per domain, `svc.<domain>` (outside `<domain>.>`, which the domain's JetStream
stream captures: a stream would otherwise acknowledge the request itself). Every process of the
domain joins the queue group `<domain>`, so exactly one answers. The caller's principal travels in
the `x-gateway-context` header, signed like the gateway's (a subgraph forwards the header of the
request it is serving: `info.context.gateway_headers`); the callee verifies it and takes the tenant
from it only.

Wire format (JSON):  request  {"op": "<name>", ...arguments}
                     reply    {"ok": true, ...result}  |  {"ok": false, "error": {"code", "message"}}

Server side: give `create_subgraph_app(..., rpc={"op": handler})`; a handler is
`async def handler(request: RpcRequest) -> dict` and raises `RpcError(code, message)` for failures
the caller should see. Client side: `await rpc_call(nc, "pricing", "cart_prices", {...},
headers=ctx.gateway_headers)` returns the reply's result or raises `RpcError` (the callee's code)
/ `ServiceUnavailable` (nobody answered in time).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.gateway_context import HEADER, GatewayContextError, Principal, verify_context

log = logging.getLogger(__name__)


def service_subject(domain: str) -> str:
    return f"svc.{domain}"


class RpcError(Exception):
    """A failure the caller should see, with a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ServiceUnavailable(RpcError):
    """Nobody answered on the service subject in time."""

    def __init__(self, domain: str, timeout: float) -> None:
        super().__init__("SERVICE_UNAVAILABLE", f"the {domain} service did not answer within {timeout:g} s")


@dataclass(frozen=True, slots=True)
class RpcRequest:
    op: str
    body: dict[str, Any]
    principal: Principal
    tenant_id: uuid.UUID
    db: Database

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction scoped to the caller's tenant (RLS applies)."""
        return self.db.tenant_session(self.tenant_id)


RpcHandler = Callable[[RpcRequest], Awaitable[dict[str, Any]]]


def _fail(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class RpcService:
    """Answers `svc.<domain>` requests by dispatching on `op`."""

    def __init__(self, domain: str, handlers: Mapping[str, RpcHandler], db: Database, secret: bytes) -> None:
        self.domain = domain
        self.handlers = dict(handlers)
        self.db = db
        self.secret = secret

    async def answer(self, headers: Mapping[str, str] | None, data: bytes) -> dict[str, Any]:
        try:
            principal = verify_context((headers or {}).get(HEADER, ""), self.secret).principal
        except GatewayContextError as exc:
            return _fail("UNAUTHENTICATED", str(exc))
        try:
            tenant_id = uuid.UUID(str(principal.tenant_id))
        except ValueError:
            return _fail("UNAUTHENTICATED", "the context names no tenant")
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            return _fail("BAD_REQUEST", "the body is not JSON")
        if not isinstance(body, dict):
            return _fail("BAD_REQUEST", "the body must be a JSON object")
        op = body.get("op")
        handler = self.handlers.get(op) if isinstance(op, str) else None
        if handler is None or not isinstance(op, str):
            return _fail("BAD_REQUEST", f"unknown op {op!r}")
        try:
            result = await handler(RpcRequest(op, body, principal, tenant_id, self.db))
        except RpcError as exc:
            return _fail(exc.code, exc.message)
        except Exception:
            log.exception("rpc %s.%s failed", self.domain, op)
            return _fail("INTERNAL_SERVER_ERROR", "Internal server error")
        return {"ok": True, **result}

    async def _on_message(self, msg: Msg) -> None:
        reply = await self.answer(msg.headers, msg.data)
        if msg.reply:
            await msg.respond(orjson.dumps(reply))

    async def serve(self, nc: NatsClient) -> Subscription:
        """Join the domain's queue group; answers until the subscription or connection closes."""
        sub = await nc.subscribe(service_subject(self.domain), queue=self.domain, cb=self._on_message)
        await nc.flush()
        return sub


async def rpc_call(
    nc: NatsClient,
    domain: str,
    op: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str],
    reply_within: float = 2.0,
) -> dict[str, Any]:
    """Ask `domain` to run `op`; returns the reply without its `ok` flag. `headers` must carry the
    signed context (`RequestContext.gateway_headers`)."""
    if HEADER not in headers:
        raise RpcError("UNAUTHENTICATED", "no signed context to forward")
    payload = orjson.dumps({**(arguments or {}), "op": op})
    try:
        msg = await nc.request(service_subject(domain), payload, timeout=reply_within, headers=dict(headers))
    except (NatsTimeoutError, NoRespondersError) as exc:
        raise ServiceUnavailable(domain, reply_within) from exc
    reply = orjson.loads(msg.data)
    if not isinstance(reply, dict):
        raise RpcError("BAD_RESPONSE", f"the {domain} service sent a malformed reply")
    if not reply.pop("ok", False):
        error = reply.get("error") or {}
        raise RpcError(str(error.get("code", "UNKNOWN")), str(error.get("message", "")))
    return reply
