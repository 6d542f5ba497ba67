"""Shortcuts of the stock tests: a tenant with locations, stock put in through receipts (so the
movement log is the record), orders.placed payloads, and outbox reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from shared.db import Database
from shared.gateway_context import Principal
from shared.testing import gateway_headers, graphql
from subgraphs.stock import reservations, service


@dataclass
class World:
    db: Database
    tenant: uuid.UUID
    seller: uuid.UUID
    other_seller: uuid.UUID
    platform: uuid.UUID
    distributor: uuid.UUID
    near: uuid.UUID = field(default_factory=uuid.uuid4)  # seller's warehouse in Lyon
    far: uuid.UUID = field(default_factory=uuid.uuid4)  # seller's warehouse in Hamburg
    rival: uuid.UUID = field(default_factory=uuid.uuid4)  # other seller's warehouse
    shop: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def seller_principal(self) -> Principal:
        return Principal(
            str(self.tenant),
            str(self.seller),
            str(uuid.uuid4()),
            ("supplier_admin",),
            ("stock:read", "stock:adjust"),
        )

    async def receive(self, sku: uuid.UUID, location: uuid.UUID, quantity: int) -> None:
        async with self.db.tenant_session(self.tenant) as session:
            principal = Principal(str(self.tenant), None, None, ("platform_admin",), ())
            await service.adjust(
                session,
                self.tenant,
                principal,
                [service.Adjustment("receipt", sku, location, quantity, "test stock")],
            )

    async def level(self, sku: uuid.UUID, location: uuid.UUID) -> Any:
        async with self.db.tenant_session(self.tenant) as session:
            return (
                await session.execute(
                    text(
                        "SELECT l.*, (SELECT coalesce(sum(delta), 0) FROM stock.movements m "
                        "WHERE m.level_id = l.id) "
                        "AS movement_sum FROM stock.levels l WHERE sku_id = :s AND location_id = :l"
                    ),
                    {"s": sku, "l": location},
                )
            ).one()

    async def reserve(self, order: reservations.PlacedOrder) -> reservations.ReserveOutcome:
        async with self.db.tenant_session(self.tenant) as session:
            return (await reservations.reserve_orders(session, self.tenant, [order]))[0]

    async def outbox(self, event_type: str | None = None) -> list[dict[str, Any]]:
        async with self.db.session() as session:
            await session.execute(text("SELECT set_config('app.outbox_relay', 'on', true)"))
            rows = await session.execute(
                text("SELECT envelope FROM stock.outbox WHERE tenant_id = :t ORDER BY seq"),
                {"t": self.tenant},
            )
            envelopes = [dict(r.envelope) for r in rows]
        return [e for e in envelopes if event_type is None or e["type"] == event_type]

    async def gql(
        self,
        url: str,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        org: uuid.UUID | None = None,
        scopes: tuple[str, ...] = (),
        roles: tuple[str, ...] = (),
        tenant: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        headers = gateway_headers(
            tenant or self.tenant, organization_id=org, scopes=scopes, roles=roles, user_id=uuid.uuid4()
        )
        status, body = await graphql(url, query, variables, headers=headers)
        assert status == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


async def make_world(db: Database, tenant: uuid.UUID) -> World:
    w = World(db, tenant, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    admin = Principal(str(tenant), None, None, ("platform_admin",), ())
    async with db.tenant_session(tenant) as session:
        for loc_id, org, code, kind, prio, lat, lon, region, postal in (
            (w.near, w.seller, "LYON", "warehouse", 10, 45.76, 4.84, "ARA", "69001"),
            (w.far, w.seller, "HAMBURG", "warehouse", 10, 53.55, 9.99, "HH", "20095"),
            (w.rival, w.other_seller, "RIVAL", "warehouse", 10, 45.75, 4.85, "ARA", "69002"),
        ):
            await service.create_location(
                session,
                tenant,
                admin,
                service.NewLocation(
                    org, code, code.title(), kind, prio, "FR", region, postal, None, lat, lon, id=loc_id
                ),
            )
        await service.create_location(
            session,
            tenant,
            admin,
            service.NewLocation(
                w.distributor,
                "SHOP",
                "Shop",
                "shop",
                100,
                source_location_id=w.near,
                display_share_percent=50,
                display_cap=20,
                id=w.shop,
            ),
        )
    return w


def placed(
    w: World,
    lines: list[tuple[uuid.UUID, int]],
    *,
    order_id: uuid.UUID | None = None,
    reserve_for_seconds: int | None = None,
    delivery: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An `orders.placed` payload (docs/saga.md)."""
    return {
        "order_id": str(order_id or uuid.uuid4()),
        "purchase_id": str(uuid.uuid4()),
        "number": "PO-1",
        "buyer_organization_id": str(uuid.uuid4()),
        "seller_organization_id": str(w.seller),
        "placed_by": str(uuid.uuid4()),
        "currency": "EUR",
        "total": "10.00",
        "delivery": delivery,
        "lines": [{"line_id": str(uuid.uuid4()), "sku_id": str(s), "quantity": q} for s, q in lines],
        "reserve_for_seconds": reserve_for_seconds,
    }
