"""Two Strawberry federation subgraphs for the webhook tests, on loopback.

- ``events`` owns ``Subscription.orderEvents(cursor: String)``: an in-memory append-only log (a
  stand-in for a JetStream stream, cursor = sequence) with events of TWO tenants. It deliberately
  does not filter by tenant, so the tests prove the gateway's tenant guard keeps another tenant's
  events from an endpoint (domain subgraphs filter first; the guard is the second line).
- ``ledger`` owns ``Order.balance``, resolved per event through ``_entities`` (a federated field).

Both verify the gateway's signed context with the shared gateway secret.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from shared.gateway_context import HEADER, GatewayContext, verify_context
from shared.settings import get_settings


@dataclass
class Feed:
    events: list[tuple[int, str, str, str]] = field(default_factory=list)  # (seq, type, order id, tenant)
    contexts: list[GatewayContext] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, kind: str, tenant: uuid.UUID, order_id: str | None = None) -> int:
        seq = len(self.events) + 1
        self.events.append((seq, kind, order_id or f"o{seq}", str(tenant)))
        self._changed.set()
        self._changed = asyncio.Event()
        return seq

    async def follow(self, after: int | None) -> AsyncGenerator[tuple[int, str, str, str], None]:
        position = len(self.events) if after is None else after
        while True:
            while position < len(self.events):
                position += 1
                yield self.events[position - 1]
            await self._changed.wait()

    def tenant_of(self, order_id: str) -> str:
        return next(t for _, _, o, t in self.events if o == order_id)


def _check(request: Request | WebSocket, feed: Feed | None) -> GatewayContext:
    context = verify_context(request.headers.get(HEADER, ""), get_settings().gateway_secret_bytes)
    if feed is not None and isinstance(request, WebSocket):
        feed.contexts.append(context)
    return context


class _App(GraphQL[Any, None]):
    def __init__(self, schema: strawberry.federation.Schema, feed: Feed) -> None:
        super().__init__(schema, subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL], graphql_ide=None)
        self.feed = feed

    async def get_context(self, request: Any, response: Any = None) -> Any:
        return {"gateway": _check(request, self.feed), "feed": self.feed}


@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID
    tenant_id: str = strawberry.federation.field(name="tenantId", shareable=True)
    number: str


@strawberry.type
class OrderEvent:
    cursor: str
    type: str
    order: Order | None


@strawberry.type
class EventsQuery:
    @strawberry.field
    def events_ping(self) -> str:
        return "pong"


@strawberry.type(name="Subscription")
class EventsSubscription:
    @strawberry.subscription
    async def order_events(
        self, info: strawberry.Info, cursor: str | None = None
    ) -> AsyncGenerator[OrderEvent, None]:
        feed: Feed = info.context["feed"]
        async for seq, kind, order_id, tenant in feed.follow(int(cursor) if cursor else None):
            order = Order(id=strawberry.ID(order_id), tenant_id=tenant, number=f"N-{seq}")
            yield OrderEvent(cursor=str(seq), type=kind, order=order)


@strawberry.federation.type(name="Order", keys=["id"])
class LedgerOrder:
    id: strawberry.ID
    balance: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> LedgerOrder:
        return cls(id=id, balance=f"{len(str(id))}.00")


@strawberry.type
class LedgerQuery:
    @strawberry.field
    def ledger_ping(self) -> str:
        return "pong"


EVENTS_SCHEMA = strawberry.federation.Schema(
    query=EventsQuery, subscription=EventsSubscription, types=[Order]
)
LEDGER_SCHEMA = strawberry.federation.Schema(query=LedgerQuery, types=[LedgerOrder])


def make_events(feed: Feed) -> GraphQL[Any, None]:
    return _App(EVENTS_SCHEMA, feed)


def make_ledger(feed: Feed) -> GraphQL[Any, None]:
    return _App(LEDGER_SCHEMA, feed)
