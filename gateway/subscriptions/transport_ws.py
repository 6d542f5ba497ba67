"""graphql-transport-ws (the graphql-ws library's protocol) on the gateway's ``/graphql`` WebSocket.

Credentials come from the ``connection_init`` payload (``Authorization`` / ``x-api-key``) or, when the
payload has none, from the upgrade request's headers; they are checked once per connection. Close codes:
4400 bad message, 4401 subscribe before ack or credentials that do not verify, 4403 forbidden (a forged
gateway context), 4406 wrong subprotocol, 4408 no connection_init in time, 4409 duplicate operation id,
4429 a second connection_init, 1013 credentials cannot be checked right now (retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.auth.principal import AuthenticationError, AuthUnavailableError, Principal
from gateway.subscriptions.credentials import CredentialsExpired, recheck_credentials
from gateway.subscriptions.protocol import (
    CLOSE_BAD_REQUEST,
    CLOSE_DUPLICATE_ID,
    CLOSE_FORBIDDEN,
    CLOSE_INIT_TIMEOUT,
    CLOSE_SUBPROTOCOL_NOT_ACCEPTABLE,
    CLOSE_TOO_MANY_INIT,
    CLOSE_UNAUTHORIZED,
    SUBPROTOCOL,
)
from gateway.subscriptions.session import (
    OperationParams,
    OperationRefused,
    OperationRunner,
    PreparedRun,
)

_log = logging.getLogger("gateway.subscriptions.ws")
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-gateway-context")
_TRY_AGAIN_LATER = 1013


class _Closed(Exception):
    """The connection was closed by us; stop reading."""


def connection_headers(upgrade: Mapping[str, str], payload: Any) -> dict[str, str]:
    """Headers to authenticate with: the payload's credentials replace the upgrade request's."""
    headers = dict(upgrade)
    if isinstance(payload, dict):
        given = {str(k).lower(): v for k, v in payload.items() if isinstance(v, str)}
        if any(name in given for name in _CREDENTIAL_HEADERS):
            for name in _CREDENTIAL_HEADERS:
                headers.pop(name, None)
            headers.update({k: v for k, v in given.items() if k in _CREDENTIAL_HEADERS})
    return headers


class WebSocketConnection:
    def __init__(
        self, websocket: WebSocket, runner: OperationRunner, *, init_timeout: float, keepalive: float | None
    ) -> None:
        self.ws = websocket
        self.runner = runner
        self.init_timeout = init_timeout
        self.keepalive = keepalive
        self.headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in websocket.scope["headers"]
        }
        self.init_received = False
        self.acknowledged = False
        self.principal: Principal | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        self._closed = False

    async def serve(self) -> None:
        if SUBPROTOCOL not in self.ws.scope.get("subprotocols", ()):
            await self.ws.accept()
            await self.ws.close(CLOSE_SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")
            return
        await self.ws.accept(subprotocol=SUBPROTOCOL)
        self.runner.attach(self.ws.scope)
        timers = [asyncio.create_task(self._init_timeout())]
        if self.keepalive:
            timers.append(asyncio.create_task(self._pinger(self.keepalive)))
        if self.runner.settings.reauth_interval and self.runner.gateway.auth is not None:
            timers.append(asyncio.create_task(self._recheck(self.runner.settings.reauth_interval)))
        try:
            while not self._closed:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") if message.get("text") is not None else message.get("bytes")
                await self._handle(raw)
        except (_Closed, WebSocketDisconnect):
            pass
        finally:
            self._closed = True
            for task in (*timers, *self.operations.values()):
                task.cancel()
            for task in (*timers, *self.operations.values()):
                with contextlib.suppress(BaseException):
                    await task

    async def _close(self, code: int, reason: str) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason)
        raise _Closed

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_text(orjson.dumps(message).decode())

    async def _init_timeout(self) -> None:
        await asyncio.sleep(self.init_timeout)
        if not self.init_received:
            with contextlib.suppress(_Closed):
                await self._close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")

    async def _pinger(self, every: float) -> None:
        """Pings keep idle connections (days) open through proxies and show dead peers."""
        while not self._closed:
            await asyncio.sleep(every)
            if self.acknowledged and not self._closed:
                with contextlib.suppress(Exception):
                    await self._send({"type": "ping"})

    async def _recheck(self, every: float) -> None:
        """Days-long connections: an expired token or a revoked key ends the connection (the client
        reconnects with fresh credentials and resumes from its cursor)."""
        while not self._closed:
            await asyncio.sleep(every)
            if not self.acknowledged or self._closed:
                continue
            try:
                await recheck_credentials(self.runner.gateway, self.headers, self.principal)
            except CredentialsExpired as exc:
                code = CLOSE_FORBIDDEN if exc.status == 403 else CLOSE_UNAUTHORIZED
                with contextlib.suppress(_Closed):
                    await self._close(code, "Forbidden" if exc.status == 403 else "Unauthorized")

    async def _handle(self, raw: str | bytes | None) -> None:
        try:
            message = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._close(CLOSE_BAD_REQUEST, "Invalid message received")
            return
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message.get("payload"))
        elif kind == "ping":
            pong: dict[str, Any] = {"type": "pong"}
            if "payload" in message:
                pong["payload"] = message["payload"]
            await self._send(pong)
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            op_id = message.get("id")
            task = self.operations.pop(op_id, None) if isinstance(op_id, str) else None
            if task is not None:
                task.cancel()  # the client is done: its upstream subscription closes with it
        else:
            await self._close(CLOSE_BAD_REQUEST, f"Unexpected message of type {kind}")

    async def _connection_init(self, payload: Any) -> None:
        if self.init_received:
            await self._close(CLOSE_TOO_MANY_INIT, "Too many initialisation requests")
        self.init_received = True
        if payload is not None and not isinstance(payload, dict):
            await self._close(CLOSE_BAD_REQUEST, "Invalid connection_init payload")
        self.headers = connection_headers(self.headers, payload)
        auth = self.runner.gateway.auth
        if auth is not None:
            try:
                self.principal = await auth.authenticate(self.headers)
            except AuthUnavailableError:
                await self._close(_TRY_AGAIN_LATER, "Credentials cannot be checked right now")
            except AuthenticationError as exc:
                await self._close(
                    CLOSE_FORBIDDEN if exc.status == 403 else CLOSE_UNAUTHORIZED,
                    "Forbidden" if exc.status == 403 else "Unauthorized",
                )
        self.acknowledged = True
        await self._send({"type": "connection_ack"})

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            await self._close(CLOSE_UNAUTHORIZED, "Unauthorized")
        op_id, payload = message.get("id"), message.get("payload")
        if (
            not isinstance(op_id, str)
            or not op_id
            or not isinstance(payload, dict)
            or not isinstance(payload.get("query", ""), str)  # may be absent: a persisted query's hash
        ):
            await self._close(CLOSE_BAD_REQUEST, "Invalid subscribe message")
            return
        if op_id in self.operations:
            await self._close(CLOSE_DUPLICATE_ID, f"Subscriber for {op_id} already exists")
        if len(self.operations) >= self.runner.settings.max_operations_per_connection:
            error = {
                "message": "Too many operations on this connection.",
                "extensions": {"code": "TOO_MANY_OPERATIONS"},
            }
            await self._send({"id": op_id, "type": "error", "payload": [error]})
            return
        name, variables, extensions = (
            payload.get("operationName"),
            payload.get("variables"),
            payload.get("extensions"),
        )
        if (
            (name is not None and not isinstance(name, str))
            or (variables is not None and not isinstance(variables, dict))
            or (extensions is not None and not isinstance(extensions, dict))
        ):
            await self._close(CLOSE_BAD_REQUEST, "Invalid subscribe payload")
            return
        params = OperationParams(payload.get("query") or "", name, variables, extensions)
        try:
            client = self.ws.client
            run = await self.runner.prepare(
                params, self.principal, self.headers, client_ip=client.host if client else None
            )
        except OperationRefused as refused:
            await self._send({"id": op_id, "type": "error", "payload": refused.errors})
            return
        self.operations[op_id] = asyncio.create_task(self._run(op_id, run))

    async def _run(self, op_id: str, run: PreparedRun) -> None:
        try:
            async with contextlib.aclosing(run.results()) as results:
                async for result in results:
                    if self.operations.get(op_id) is not asyncio.current_task():
                        return
                    await self._send({"id": op_id, "type": "next", "payload": result})
            if self.operations.get(op_id) is asyncio.current_task():
                await self._send({"id": op_id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:
            # The client has gone (send failed) or a bug: never take the connection down with it.
            _log.debug("subscription %s ended", op_id, exc_info=True)
        finally:
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]
