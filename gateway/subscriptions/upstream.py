"""The gateway as a graphql-transport-ws client of a subgraph (aiohttp's WebSocket client).

One upstream connection per client subscription: ``connection_init`` (payload: the signed gateway
context, also sent as an upgrade header), ``subscribe``, then every ``next`` payload is yielded until the
subgraph sends ``complete``. Everything that goes wrong becomes an ``UpstreamError`` with a code, so the
transport can tell the client and end the operation cleanly. Leaving the iteration (the client went
away) closes the socket, which makes the subgraph close its event generator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import aiohttp
import orjson

from gateway.subscriptions.protocol import SUBPROTOCOL

UPSTREAM_UNAVAILABLE = "SUBSCRIPTION_UPSTREAM_UNAVAILABLE"  # could not connect / handshake refused
UPSTREAM_CLOSED = "SUBSCRIPTION_UPSTREAM_CLOSED"  # the connection ended without ``complete``
UPSTREAM_ERROR = "SUBSCRIPTION_UPSTREAM_ERROR"  # the subgraph answered the subscribe with ``error``


class UpstreamError(Exception):
    def __init__(self, message: str, code: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.errors = errors or []


def websocket_url(http_url: str) -> str:
    """Subgraphs serve graphql-transport-ws on the same path as GraphQL over HTTP."""
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://") :]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://") :]
    return http_url


async def subscribe_upstream(
    session: aiohttp.ClientSession,
    url: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    connect_timeout: float = 10.0,
    heartbeat: float | None = 30.0,
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the ``next`` payloads of one subscription; returns on ``complete``; raises UpstreamError."""
    try:
        async with asyncio.timeout(connect_timeout):
            ws = await session.ws_connect(
                websocket_url(url), protocols=(SUBPROTOCOL,), headers=dict(headers), heartbeat=heartbeat
            )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise UpstreamError(
            f"Could not open the subscription to the subgraph: {exc!s}", UPSTREAM_UNAVAILABLE
        ) from None
    try:
        await ws.send_str(_text({"type": "connection_init", "payload": dict(headers)}))
        try:
            async with asyncio.timeout(connect_timeout):
                while True:
                    first = await _receive(ws)
                    if first is None:
                        raise UpstreamError(
                            "The subgraph closed the connection during the handshake.", UPSTREAM_UNAVAILABLE
                        )
                    if first.get("type") == "connection_ack":
                        break
                    if first.get("type") == "ping":
                        await ws.send_str('{"type":"pong"}')
        except TimeoutError:
            raise UpstreamError(
                "The subgraph did not acknowledge the connection.", UPSTREAM_UNAVAILABLE
            ) from None
        await ws.send_str(_text({"id": "1", "type": "subscribe", "payload": dict(payload)}))
        while True:
            message = await _receive(ws)
            if message is None:
                raise UpstreamError(
                    "The subgraph closed the subscription without completing it.", UPSTREAM_CLOSED
                )
            kind = message.get("type")
            if kind == "next" and isinstance(message.get("payload"), dict):
                yield message["payload"]
            elif kind == "complete":
                return
            elif kind == "error":
                errors = message.get("payload")
                errors = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
                raise UpstreamError("The subgraph refused the subscription.", UPSTREAM_ERROR, errors)
            elif kind == "ping":
                await ws.send_str('{"type":"pong"}')
    finally:
        await ws.close()


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
    """The next protocol message; None when the connection is over."""
    while True:
        msg = await ws.receive()
        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            try:
                value = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                raise UpstreamError(
                    "The subgraph sent a message that is not JSON.", UPSTREAM_CLOSED
                ) from None
            if isinstance(value, dict):
                return value
            raise UpstreamError("The subgraph sent a message that is not an object.", UPSTREAM_CLOSED)
        if msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        ):
            return None


def _text(message: dict[str, Any]) -> str:
    # graphql-transport-ws messages are text frames (servers close on binary ones).
    return orjson.dumps(message).decode()
