"""Reference partner ERP client: live order events through the gateway (docs/integration.md).

    python examples/erp_client.py --url ws://localhost:4000/graphql --cursor-file .erp-cursor
    (API key from --api-key or ERP_API_KEY; one JSON line per event on stdout)

- `gql` with its websockets transport, subprotocol graphql-transport-ws; the API key goes in the
  `connection_init` payload (`x-api-key`), as the gateway reads it.
- Every event carries its cursor in `extensions.cursor`. The client handles the event first, then
  writes the cursor to a file (atomically): after a crash or a restart it resumes after the last
  event it finished, so it sees every event at least once and, with idempotent handling (events
  carry their `id`), exactly once in effect.
- On a dropped connection (a gateway deploy closes with 1012) it reconnects with back-off and
  resumes from the file.

Webhook signature verification (for ERPs that receive webhooks instead) belongs next to this
client; it is added with the webhooks work (see docs/integration.md, "Webhooks").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError
from gql.transport.websockets import WebsocketsTransport

log = logging.getLogger("erp_client")

SUBPROTOCOL = "graphql-transport-ws"

ORDER_EVENTS = """
subscription OrderEvents($types: [OrderEventType!]) {
  orderEvents(types: $types) {
    id type occurredAt orderId fromState toState
    order {
      id number state total { amount currency }
      lines { quantity unitPrice { amount } sku { id code name availability { available status } } }
    }
  }
}
"""

Handler = Callable[[dict[str, Any], str | None], Awaitable[None]]


@dataclass
class CursorFile:
    """The last processed cursor, kept in a file that survives restarts."""

    path: Path

    def load(self) -> str | None:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return None
        return text or None

    def save(self, cursor: str) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(cursor)
        os.replace(tmp, self.path)  # atomic: a crash leaves the old cursor or the new one


class SubscriptionFailed(Exception):
    """The gateway ended the stream with errors (the cursor file still says where to resume)."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__(json.dumps(errors)[:500])
        self.errors = errors


def transport(url: str, api_key: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=url,
        init_payload={"x-api-key": api_key},
        subprotocols=[SUBPROTOCOL],
        ping_interval=None,
        answer_pings=True,
    )


async def follow(
    url: str,
    api_key: str,
    cursors: CursorFile,
    handle: Handler,
    *,
    query: str = ORDER_EVENTS,
    variables: dict[str, Any] | None = None,
    root_field: str = "orderEvents",
    limit: int | None = None,
) -> int:
    """One connection: subscribe after the stored cursor and handle events until the stream ends,
    `limit` events were handled, or the connection drops (TransportError). Returns the count."""
    cursor = cursors.load()
    request = GraphQLRequest(
        query, variable_values=variables or {}, extensions={"cursor": cursor} if cursor else None
    )
    handled = 0
    async with Client(transport=transport(url, api_key), fetch_schema_from_transport=False) as session:
        async for result in session.subscribe(request, get_execution_result=True):
            if result.errors:
                raise SubscriptionFailed(list(result.errors))
            event_cursor = (result.extensions or {}).get("cursor")
            await handle((result.data or {}).get(root_field) or {}, event_cursor)
            if event_cursor is not None:
                cursors.save(str(event_cursor))  # after handling: at least once across restarts
            handled += 1
            if limit is not None and handled >= limit:
                break
    return handled


async def run_forever(url: str, api_key: str, cursors: CursorFile, handle: Handler, **kwargs: Any) -> None:
    """Reconnect with back-off (1 s doubling to 60 s) and resume from the cursor file."""
    delay = 1.0
    while True:
        try:
            await follow(url, api_key, cursors, handle, **kwargs)
            delay = 1.0
        except (TransportError, OSError, SubscriptionFailed) as exc:
            log.warning(
                "subscription ended (%s); resuming after cursor %s in %.0fs", exc, cursors.load(), delay
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 60.0)


async def print_event(event: dict[str, Any], cursor: str | None) -> None:
    sys.stdout.write(json.dumps({"cursor": cursor, "event": event}) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="ws://localhost:4000/graphql")
    parser.add_argument("--api-key", default=os.environ.get("ERP_API_KEY"))
    parser.add_argument("--cursor-file", type=Path, default=Path(".erp-cursor"))
    parser.add_argument("--type", action="append", dest="types", help="only these event types (PLACED...)")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("an API key is needed (--api-key or ERP_API_KEY)")
    logging.basicConfig(level=logging.INFO)
    variables = {"types": args.types} if args.types else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_forever(
                args.url, args.api_key, CursorFile(args.cursor_file), print_event, variables=variables
            )
        )


if __name__ == "__main__":
    main()
