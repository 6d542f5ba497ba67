"""Helpers of the logistics tests: a tenant with warehouses and carriers, the saga's input events
(published to JetStream the way orders and stock publish them, or applied through the service),
signed GraphQL calls and signed carrier webhooks."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from nats.aio.client import Client as NatsClient
from sqlalchemy import select

from shared.db import Database
from shared.events import EventEnvelope, ensure_stream
from shared.testing import gateway_headers, graphql
from subgraphs.logistics import service, webhooks
from subgraphs.logistics.models import Shipment

SELLER_SCOPES = ("orders:read", "stock:adjust")


@dataclass
class World:
    url: str
    db: Database
    nc: NatsClient | None
    tenant: uuid.UUID
    seller: uuid.UUID
    buyer: uuid.UUID
    main: uuid.UUID  # warehouse in DE, cheap
    south: uuid.UUID  # warehouse in AT, dearer
    standard: uuid.UUID  # carrier: cheap, quality 0.85
    express: uuid.UUID  # carrier: dearer, quality 0.98
    secrets: dict[uuid.UUID, str] = field(default_factory=dict)

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        scopes: tuple[str, ...] = SELLER_SCOPES,
        org: uuid.UUID | None = None,
        tenant: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        headers = gateway_headers(tenant or self.tenant, organization_id=org or self.seller, scopes=scopes)
        status, body = await graphql(self.url, query, variables, headers=headers)
        assert status == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    # ---- the saga's input events

    async def publish(
        self, domain: str, event: str, subject_id: uuid.UUID, data: dict[str, Any]
    ) -> EventEnvelope:
        envelope = EventEnvelope.new(domain, event, tenant_id=self.tenant, subject_id=subject_id, data=data)
        await self.publish_envelope(envelope)
        return envelope

    async def publish_envelope(self, envelope: EventEnvelope) -> None:
        assert self.nc is not None
        js = self.nc.jetstream()
        await ensure_stream(js, envelope.domain)
        await js.publish(envelope.subject, envelope.to_bytes(), headers={"Nats-Msg-Id": str(envelope.id)})

    async def apply(self, domain: str, event: str, subject_id: uuid.UUID, data: dict[str, Any]) -> None:
        """The consumer's effect without NATS (bulk tests): the service call the consumer makes."""
        async with self.db.tenant_session(self.tenant) as session:
            await apply_in(session, self.tenant, domain, event, subject_id, data)

    async def shipments(self, order_id: uuid.UUID) -> list[Shipment]:
        async with self.db.tenant_session(self.tenant) as session:
            rows = await session.execute(
                select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.location_id)
            )
            return list(rows.scalars())

    async def wait_shipments(self, order_id: uuid.UUID, count: int, within: float = 20.0) -> list[Shipment]:
        return await eventually(lambda: self.shipments(order_id), lambda rows: len(rows) >= count, within)

    # ---- webhooks

    async def webhook(
        self,
        carrier: uuid.UUID,
        payload: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        send: bytes | None = None,
        tenant: uuid.UUID | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST a tracking event signed with the carrier's secret (or `secret`) at `timestamp`
        (default now); `send`: a body other than the one signed (tampering)."""
        raw = orjson.dumps(payload)
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = webhooks.sign(secret if secret is not None else self.secrets[carrier], ts, raw)
        url = f"{self.url}/webhooks/carriers/{tenant or self.tenant}/{carrier}"
        headers = {
            "content-type": "application/json",
            webhooks.TIMESTAMP_HEADER: ts,
            webhooks.SIGNATURE_HEADER: signature,
        }
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, data=send if send is not None else raw, headers=headers) as response,
        ):
            return response.status, await response.json(content_type=None)


async def apply_in(
    session: Any, tenant: uuid.UUID, domain: str, event: str, subject_id: uuid.UUID, data: dict[str, Any]
) -> None:
    from datetime import UTC, datetime

    order_id = uuid.UUID(str(data.get("order_id") or subject_id))
    if (domain, event) == ("orders", "placed"):
        await service.record_order_placed(session, tenant, order_id, data)
    elif (domain, event) == ("orders", "confirmed"):
        await service.record_order_confirmed(session, tenant, order_id, datetime.now(UTC))
    elif (domain, event) == ("stock", "reserved"):
        await service.record_allocation(session, tenant, order_id, data["allocations"])
    else:
        raise AssertionError(f"not an input event here: {domain}.{event}")


async def eventually(
    probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], within: float = 20.0
) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if ok(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {within}s; last value: {value!r}")
        await asyncio.sleep(0.1)


async def make_world(url: str, db: Database, nc: NatsClient | None, tenant: uuid.UUID) -> World:
    w = World(
        url,
        db,
        nc,
        tenant,
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
    )
    async with db.tenant_session(tenant) as session:
        await service.upsert_warehouse(
            session,
            tenant,
            location_id=w.main,
            name="Main DC",
            country="DE",
            region=None,
            cost_per_parcel="4.00",
            currency="EUR",
        )
        await service.upsert_warehouse(
            session,
            tenant,
            location_id=w.south,
            name="South DC",
            country="AT",
            region=None,
            cost_per_parcel="6.00",
            currency="EUR",
        )
        for attr, code, quality, price in (
            ("standard", "STD", "0.85", "5.90"),
            ("express", "EXP", "0.98", "9.90"),
        ):
            row = await service.create_carrier(
                session,
                tenant,
                code=code,
                name=f"Sandbox {code}",
                kind="SANDBOX",
                quality=quality,
                price_per_parcel=price,
                currency="EUR",
                countries=[],
            )
            setattr(w, attr, row.id)
            w.secrets[row.id] = row.webhook_secret
    return w


@dataclass(frozen=True)
class OrderSpec:
    """An order with its lines and stock's allocation: [(sku, quantity, location)]."""

    id: uuid.UUID
    lines: list[dict[str, Any]]
    allocations: list[dict[str, Any]]
    placed: dict[str, Any]


def order_spec(w: World, items: list[tuple[uuid.UUID, int, uuid.UUID]], country: str = "DE") -> OrderSpec:
    order_id = uuid.uuid4()
    lines, allocations = [], []
    for sku, quantity, location in items:
        line_id = str(uuid.uuid4())
        lines.append({"line_id": line_id, "sku_id": str(sku), "quantity": quantity})
        allocations.append(
            {"line_id": line_id, "sku_id": str(sku), "location_id": str(location), "quantity": quantity}
        )
    placed = {
        "order_id": str(order_id),
        "purchase_id": str(uuid.uuid4()),
        "number": f"SO-{str(order_id)[:6]}",
        "buyer_organization_id": str(w.buyer),
        "seller_organization_id": str(w.seller),
        "placed_by": str(uuid.uuid4()),
        "currency": "EUR",
        "total": str(Decimal("100.00")),
        "delivery": {
            "country": country,
            "region": None,
            "postal_code": "20095",
            "city": "Hamburg",
            "latitude": None,
            "longitude": None,
        },
        "lines": lines,
        "reserve_for_seconds": None,
    }
    return OrderSpec(order_id, lines, allocations, placed)


async def publish_order(w: World, spec: OrderSpec, *, confirm: bool = True) -> None:
    """orders.placed, stock.reserved, orders.confirmed on JetStream, as the saga emits them."""
    reservation = uuid.uuid4()
    await w.publish("orders", "placed", spec.id, spec.placed)
    await w.publish(
        "stock",
        "reserved",
        reservation,
        {
            "reservation_id": str(reservation),
            "order_id": str(spec.id),
            "expires_at": "2030-01-01T00:00:00+00:00",
            "allocations": spec.allocations,
        },
    )
    if confirm:
        await w.publish(
            "orders",
            "confirmed",
            spec.id,
            {
                "order_id": str(spec.id),
                "from": "reserved",
                "to": "confirmed",
                "reason": None,
                "actor": None,
                "reservation_id": str(reservation),
            },
        )
