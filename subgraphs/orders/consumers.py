"""Events orders consumes (durable, idempotent consumers over JetStream, `shared.events`).

- `orgs.*.organization_*` -> `orders.org_units`, the local organization tree (data scope, inherited
  approval rules, max-per-period limits); same rule as pricing's projection.
- The saga (docs/saga.md): `stock.*.reserved`, `stock.*.reservation_failed`, `stock.*.committed`,
  `stock.*.commit_failed`, `stock.*.released` -> service.on_stock_*. Every handler is a no-op for
  an order that has already left the state the step is meant for, so replays change nothing.
- `pricing.*.quote_accepted` -> an order at the quoted prices (one purchase per quote).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events import EventEnvelope, IdempotentConsumer
from shared.gateway_context import HEADER, Principal, sign_context
from shared.rpc import RpcError, rpc_call
from shared.settings import Settings, get_settings
from subgraphs.orders import checkout, service
from subgraphs.orders.models import SCHEMA

log = logging.getLogger(__name__)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


class OrgUnitProjection(IdempotentConsumer):
    name = "orders-org-units"
    schema = SCHEMA
    domain = "orgs"
    filter_subject = "orgs.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        if not event.event.startswith("organization_"):
            return
        data = event.data
        org_id = _uuid(data.get("id") or event.subject_id)
        if org_id is None:
            return
        await service.upsert_org_unit(
            session,
            event.tenant_id,
            org_id,
            parent_id=_uuid(data.get("parent_id")),
            kind=data.get("kind"),
            name=data.get("name"),
        )


class _StockConsumer(IdempotentConsumer):
    schema = SCHEMA
    domain = "stock"


class StockReserved(_StockConsumer):
    name = "orders-stock-reserved"
    filter_subject = "stock.*.reserved"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await service.on_stock_reserved(session, event.data)


class StockReservationFailed(_StockConsumer):
    name = "orders-stock-reservation-failed"
    filter_subject = "stock.*.reservation_failed"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await service.on_stock_reservation_failed(session, event.data)


class StockCommitted(_StockConsumer):
    name = "orders-stock-committed"
    filter_subject = "stock.*.committed"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await service.on_stock_committed(session, event.data)


class StockCommitFailed(_StockConsumer):
    name = "orders-stock-commit-failed"
    filter_subject = "stock.*.commit_failed"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await service.on_stock_commit_failed(session, event.data)


class StockReleased(_StockConsumer):
    name = "orders-stock-released"
    filter_subject = "stock.*.released"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await service.on_stock_released(session, event.data)


class QuoteAccepted(IdempotentConsumer):
    """An accepted quote becomes an order at the quoted prices. SKU facts (seller, code, name,
    category) are asked of catalog as the quote's buyer; if catalog does not answer the order is
    still made, with the quote's seller and no names (the prices are the contract)."""

    name = "orders-quote-accepted"
    schema = SCHEMA
    domain = "pricing"
    filter_subject = "pricing.*.quote_accepted"
    catalog_timeout: ClassVar[float] = 2.0

    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        *,
        stream: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(db, js, stream=stream)
        self.settings = settings or get_settings()

    async def _facts(self, event: EventEnvelope) -> dict[uuid.UUID, checkout.SkuFacts]:
        nc = getattr(self.js, "_nc", None)
        if nc is None or not nc.is_connected:
            return {}
        principal = Principal(
            tenant_id=str(event.tenant_id),
            organization_id=str(event.data.get("buyer_organization_id")),
            scopes=("catalog:read",),
        )
        headers = {HEADER: sign_context(principal, self.settings.gateway_secret_bytes)}

        async def call(domain: str, op: str, arguments: dict[str, Any]) -> dict[str, Any]:
            return await rpc_call(
                nc, domain, op, arguments, headers=headers, reply_within=self.catalog_timeout
            )

        skus = [s for s in (_uuid(li.get("sku_id")) for li in event.data.get("lines") or []) if s]
        try:
            return await checkout.sku_facts(call, skus)
        except (RpcError, checkout.DependencyError, checkout.DependencyUnavailableError) as exc:
            log.warning(
                "quote %s: catalog facts unavailable (%s); ordering without them", event.subject_id, exc
            )
            return {}

    async def process(self, event: EventEnvelope) -> bool:
        # Ask catalog before the transaction opens (no connection held during the request).
        self._pending = await self._facts(event)
        return await super().process(event)

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        await service.place_from_quote(session, event.tenant_id, event.data, self._pending)


def consumer_factories(
    settings: Settings,
) -> list[Callable[[Database, JetStreamContext], IdempotentConsumer]]:
    def quote(db: Database, js: JetStreamContext) -> IdempotentConsumer:
        return QuoteAccepted(db, js, settings=settings)

    return [
        OrgUnitProjection,
        StockReserved,
        StockReservationFailed,
        StockCommitted,
        StockCommitFailed,
        StockReleased,
        quote,
    ]
