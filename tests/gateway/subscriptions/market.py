"""Two Strawberry federation subgraphs with a real subscription, served on loopback by the tests.

- ``orders`` owns ``Subscription.orderEvents(cursor: String)``: an async generator over an in-memory feed
  (a stand-in for a JetStream stream: each event has a sequence number, its cursor). With a cursor it
  replays the events after it, then follows live ones. It records open/closed generators.
- ``finance`` owns ``Order.balance`` (resolved per event through ``_entities``) and
  ``Order.creditNote`` (``@requiresScopes([["finance:read"]])``).

Both check the gateway's signed context (``x-gateway-context``) like ``shared.app_factory`` does and
record the principal they saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.federation.schema_directives import Authenticated
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from shared.gateway_context import HEADER, GatewayContext, GatewayContextError, verify_context

SECRET = b"subscription-tests-secret"
ORDERS: dict[str, dict[str, str]] = {
    "o1": {"tenantId": "ta", "number": "A-1"},
    "o2": {"tenantId": "ta", "number": "A-2"},
    "o9": {"tenantId": "tb", "number": "B-9"},  # another tenant's order
}
BALANCES = {"o1": "10.00", "o2": "20.00", "o9": "99.00"}


@dataclass
class Feed:
    """An append-only event log (sequence = position + 1) that generators follow."""

    events: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, kind, order id)
    opened: int = 0
    closed: int = 0
    contexts: list[GatewayContext] = field(default_factory=list)  # verified contexts of WS connections
    fail_next: bool = False  # the next generator step raises (a subgraph error mid-stream)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, kind: str, order_id: str) -> int:
        seq = len(self.events) + 1
        self.events.append((seq, kind, order_id))
        self._changed.set()
        self._changed = asyncio.Event()
        return seq

    def fail(self) -> None:
        self.fail_next = True
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self, after: int | None) -> AsyncGenerator[tuple[int, str, str], None]:
        position = len(self.events) if after is None else after
        self.opened += 1
        try:
            while True:
                while position < len(self.events):
                    position += 1
                    yield self.events[position - 1]
                waiter = self._changed
                await waiter.wait()
                if self.fail_next:
                    self.fail_next = False
                    raise RuntimeError("event stream broken")
        finally:
            self.closed += 1

    def reset(self) -> None:
        self.events.clear()
        self.opened = self.closed = 0
        self.contexts.clear()
        self.fail_next = False


def _check_context(request: Request | WebSocket, feed: Feed | None) -> GatewayContext:
    header = request.headers.get(HEADER, "")
    try:
        context = verify_context(header, SECRET)
    except GatewayContextError as exc:
        raise PermissionError(str(exc)) from None
    if feed is not None and isinstance(request, WebSocket):
        feed.contexts.append(context)
    return context


class _App(GraphQL[Any, None]):
    def __init__(self, schema: strawberry.federation.Schema, feed: Feed | None) -> None:
        super().__init__(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL], graphql_ide=None)
        self.feed = feed

    async def get_context(self, request: Any, response: Any = None) -> Any:
        return {"gateway": _check_context(request, self.feed), "request": request, "feed": self.feed}


@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID
    tenant_id: str = strawberry.federation.field(name="tenantId")
    number: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Order:
        return cls.get(str(id))

    @classmethod
    def get(cls, order_id: str) -> Order:
        row = ORDERS[order_id]
        return cls(id=strawberry.ID(order_id), tenant_id=row["tenantId"], number=row["number"])


@strawberry.type
class OrderEvent:
    cursor: str
    kind: str
    order: Order | None


@strawberry.type
class OrdersQuery:
    @strawberry.field
    def order(self, id: strawberry.ID) -> Order | None:
        return Order.get(str(id)) if str(id) in ORDERS else None


@strawberry.type(name="Subscription")
class OrdersSubscription:
    @strawberry.subscription
    async def order_events(
        self, info: strawberry.Info, cursor: str | None = None
    ) -> AsyncGenerator[OrderEvent, None]:
        feed: Feed = info.context["feed"]
        async for seq, kind, order_id in feed.follow(int(cursor) if cursor else None):
            yield OrderEvent(cursor=str(seq), kind=kind, order=Order.get(order_id))

    @strawberry.subscription(directives=[Authenticated()])
    async def audit_events(self, info: strawberry.Info) -> AsyncGenerator[str, None]:
        feed: Feed = info.context["feed"]
        async for seq, kind, _ in feed.follow(None):
            yield f"{seq}:{kind}"


@strawberry.federation.type(name="Order", keys=["id"])
class FinanceOrder:
    id: strawberry.ID
    balance: str
    credit_note: str | None = strawberry.federation.field(requires_scopes=[["finance:read"]])

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> FinanceOrder:
        return cls(id=id, balance=BALANCES[str(id)], credit_note=f"note-{id}")


@strawberry.type
class FinanceQuery:
    @strawberry.field
    def finance_ping(self) -> str:
        return "pong"


ORDERS_SCHEMA = strawberry.federation.Schema(query=OrdersQuery, subscription=OrdersSubscription)
FINANCE_SCHEMA = strawberry.federation.Schema(query=FinanceQuery, types=[FinanceOrder])


def make_orders(feed: Feed) -> GraphQL[Any, None]:
    return _App(ORDERS_SCHEMA, feed)


def make_finance() -> GraphQL[Any, None]:
    return _App(FINANCE_SCHEMA, None)
