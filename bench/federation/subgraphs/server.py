"""One asyncio HTTP/1.1 server for all four subgraphs: ``POST /<name>`` per subgraph, ``GET /health``,
``GET /counts`` (requests served per subgraph, so the runner can compute subgraph requests per query).

Responses are memoized by (path, request body), as the scenario allows (every answer is a pure function of
the body), so a subgraph request costs an HTTP parse and a dict lookup; graphql-core runs only on a miss.
httptools parses (keep-alive, pipelining and chunked bodies are handled by it).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import graphql
import httptools
import orjson

from bench.federation.subgraphs.schemas import build_all

MEMO_LIMIT = 10_000  # distinct bodies kept; the scenario needs a few dozen


class SubgraphApp:
    """What the server answers, without the HTTP: GraphQL execution, memo and counters."""

    def __init__(self, *, use_requires: bool = False,
                 schemas: dict[str, graphql.GraphQLSchema] | None = None) -> None:
        """``schemas``: name -> executable schema (default: the Guild scenario's four)."""
        built = schemas if schemas is not None else build_all(use_requires=use_requires)
        self.schemas = {f"/{name}": schema for name, schema in built.items()}
        self.memo: dict[tuple[str, bytes], bytes] = {}
        self.counts: Counter[str] = Counter()

    def counts_json(self) -> bytes:
        counts = {path.lstrip("/"): self.counts[path] for path in self.schemas}
        return orjson.dumps({**counts, "total": sum(counts.values())})

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        schema = self.schemas.get(path)
        if schema is None:
            return 404, b'{"errors":[{"message":"no such subgraph"}]}'
        self.counts[path] += 1
        key = (path, body)
        cached = self.memo.get(key)
        if cached is not None:
            return 200, cached
        response = self.execute(schema, body)
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = response
        return 200, response

    @staticmethod
    def execute(schema: graphql.GraphQLSchema, body: bytes) -> bytes:
        try:
            request: Any = orjson.loads(body)
            if not isinstance(request, dict) or not isinstance(request.get("query"), str):
                raise ValueError("body must be a JSON object with a query string")
        except (orjson.JSONDecodeError, ValueError) as exc:
            return orjson.dumps({"errors": [{"message": f"bad request: {exc}"}]})
        result = graphql.graphql_sync(schema, request["query"], variable_values=request.get("variables"),
                                      operation_name=request.get("operationName"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [error.formatted for error in result.errors]
        return orjson.dumps(out)


_REASONS = {200: b"OK", 404: b"Not Found", 405: b"Method Not Allowed"}


class _HttpProtocol(asyncio.Protocol):
    def __init__(self, app: SubgraphApp) -> None:
        self.app = app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        if method == b"POST":
            status, payload = self.app.post(path, b"".join(self.body))
        elif method == b"GET" and path == "/health":
            status, payload = 200, b'{"status":"ok"}'
        elif method == b"GET" and path == "/counts":
            status, payload = 200, self.app.counts_json()
        else:
            status, payload = 405, b'{"errors":[{"message":"use POST"}]}'
        keep_alive = self.parser.should_keep_alive()
        head = (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
                % (status, _REASONS.get(status, b"Error"), len(payload),
                   b"" if keep_alive else b"Connection: close\r\n"))
        if self.transport is None:
            return
        self.transport.write(head + payload)
        if not keep_alive:
            self.transport.close()


async def serve(host: str, port: int, app: SubgraphApp) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _HttpProtocol(app), host, port, backlog=1024, reuse_address=True)
