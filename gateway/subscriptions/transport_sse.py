"""GraphQL over server-sent events, "distinct connections" mode (the graphql-sse protocol).

A POST (JSON body) or GET (query string) to ``/graphql`` with ``Accept: text/event-stream`` streams
``event: next`` messages (``id:`` = the event's cursor when there is one) and ends with ``event: complete``.
Idle streams get a comment line every ``keepalive`` seconds. A reconnecting client resumes with
``Last-Event-ID`` (or ``extensions.cursor``). Requests refused before streaming (bad parameters,
credentials, validation, authorization) get an ordinary JSON answer with a 4xx status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import graphql
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from gateway.auth.principal import AuthenticationError, Principal
from gateway.http.errors import HTTPRequestError
from gateway.http.params import GraphQLParams, params_from_body, params_from_query_string
from gateway.subscriptions.credentials import CredentialsExpired, recheck_credentials
from gateway.subscriptions.session import (
    OperationParams,
    OperationRefused,
    OperationRunner,
    PreparedRun,
)

EVENT_STREAM = "text/event-stream"
_DONE = object()


def wants_event_stream(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept" and EVENT_STREAM.encode() in value.lower():
            return True
    return False


class EventStreamRoute(BaseRoute):
    """Claims GET/POST requests to ``paths`` that accept ``text/event-stream``; others fall through."""

    def __init__(self, paths: Sequence[str], handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.paths = frozenset(paths)
        self.handler = handler

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["path"] in self.paths
            and scope["method"] in ("GET", "POST")
            and wants_event_stream(scope)
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json; charset=utf-8", headers=headers
    )


def format_event(event: str, data: Any, event_id: str | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append("id: " + event_id.replace("\n", "").replace("\r", ""))
    lines.append("data: " + (orjson.dumps(data).decode() if data is not None else ""))
    return ("\n".join(lines) + "\n\n").encode()


class EventStreamEndpoint:
    def __init__(self, runner: OperationRunner, *, keepalive: float, max_body_bytes: int) -> None:
        self.runner = runner
        self.keepalive = keepalive
        self.max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]}
        self.runner.attach(request.scope)
        try:
            params = await self._params(request)
        except HTTPRequestError as exc:
            return _json(exc.body, exc.status, exc.headers)
        principal: Principal | None = None
        auth = self.runner.gateway.auth
        if auth is not None:
            try:
                principal = await auth.authenticate(headers)
            except AuthenticationError as exc:
                body = {"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]}
                return _json(body, exc.status, {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        cursor = headers.get("last-event-id") or None
        op = OperationParams(params.query, params.operation_name, params.variables, params.extensions)
        try:
            client_ip = request.client.host if request.client else None
            run = await self.runner.prepare(op, principal, headers, cursor, client_ip)
        except OperationRefused as refused:
            return _json({"errors": refused.errors}, refused.status, refused.headers or None)
        if request.method == "GET" and run.operation.operation == graphql.OperationType.MUTATION:
            return _json(
                {
                    "errors": [
                        {
                            "message": "A mutation cannot be sent with GET; use POST.",
                            "extensions": {"code": "BAD_REQUEST"},
                        }
                    ]
                },
                405,
                {"Allow": "POST"},
            )
        return StreamingResponse(
            self._stream(run),
            media_type=f"{EVENT_STREAM}; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _params(self, request: Request) -> GraphQLParams:
        safety = self.runner.safety
        persisted = safety is not None and safety.persisted is not None
        if request.method == "GET":
            return params_from_query_string(request.query_params, persisted=persisted)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise HTTPRequestError(413, f"The request body is larger than {self.max_body_bytes} bytes.")
        try:
            return params_from_body(orjson.loads(body), persisted=persisted)
        except orjson.JSONDecodeError as exc:
            raise HTTPRequestError(400, f"The request body is not valid JSON: {exc.msg}.") from None

    async def _stream(self, run: PreparedRun) -> AsyncIterator[bytes]:
        # A pump task feeds a queue, so keep-alive comments can be sent while waiting for the next event
        # without cancelling the result iterator (which would end the upstream subscription).
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=16)

        async def pump() -> None:
            try:
                async with contextlib.aclosing(run.results()) as results:
                    async for result in results:
                        await queue.put(result)
            finally:
                await queue.put(_DONE)

        async def recheck(every: float) -> None:
            # Days-long streams: an expired token or a revoked key ends the stream with a coded error.
            while True:
                await asyncio.sleep(every)
                try:
                    await recheck_credentials(self.runner.gateway, run.headers, run.principal)
                except CredentialsExpired as exc:
                    await queue.put({"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]})
                    await queue.put(_DONE)
                    task.cancel()
                    return

        task = asyncio.create_task(pump())
        tasks = [task]
        interval = self.runner.settings.reauth_interval
        if interval and self.runner.gateway.auth is not None:
            tasks.append(asyncio.create_task(recheck(interval)))
        try:
            yield b": connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.keepalive)
                except TimeoutError:
                    yield b":\n\n"
                    continue
                if item is _DONE:
                    break
                cursor = (item.get("extensions") or {}).get("cursor")
                yield format_event("next", item, str(cursor) if cursor is not None else None)
            yield format_event("complete", None)
        finally:
            for t in tasks:
                t.cancel()  # the client left (or the stream ended): the upstream subscription closes
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
