"""Events orders consumes (durable, idempotent consumers over JetStream, `shared.events`).

- `orgs.*.organization_*` -> `orders.org_units`, the local organization tree (data scope, inherited
  approval rules, max-per-period limits); same rule as pricing's projection.
- The saga (docs/saga.md): `stock.*.reserved`, `stock.*.reservation_failed`, `stock.*.committed`,
  `stock.*.commit_failed`, `stock.*.released` -> service.on_stock_*. Every handler is a no-op for
  an order that has already left the state the step is meant for, so replays change nothing.
- `pricing.*.quote_accepted` -> an order at the quoted prices (one purchase per quote).
- The finance seam: `finance.*.payment_authorized` -> `service.approve_payment` (method = finance's
  method), `finance.*.payment_declined` -> cancelled (PAYMENT_DECLINED; stock then releases). A
  tenant hands the payment decision to finance by turning `approve_payment_on_placement` off
  (`orderSettingsUpdate`); while it is on, the stand-in decides and finance's events are ignored,
  so the two never both decide one order.
- The logistics seam: `logistics.*.*` (one durable consumer, so a parcel's `shipment_shipped` is
  applied before its `shipment_delivered`) -> `partially_shipped` / `shipped` (by
  `all_lines_shipped`) and `delivered` (by `all_shipments_delivered`). The order only moves
  forward: a late or replayed event for an order already past that state changes nothing.
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
from subgraphs.orders import states as st
from subgraphs.orders.models import SCHEMA, Order

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


FINANCE = "finance"
LOGISTICS = "logistics"
PAYMENT_DECLINED = "PAYMENT_DECLINED"


async def _order_of(session: AsyncSession, data: dict[str, Any]) -> Order | None:
    order_id = _uuid(data.get("order_id"))
    return await service.order_for_update(session, order_id) if order_id else None


async def _finance_decides(session: AsyncSession, order: Order) -> bool:
    settings = await service.get_settings(session, order.tenant_id)
    return not settings.approve_payment_on_placement


class FinanceEvents(IdempotentConsumer):
    """Finance's payment decision (docs/saga.md, "The finance seam")."""

    name = "orders-finance"
    schema = SCHEMA
    domain = "finance"
    filter_subject = "finance.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        if event.event == "credit_note_issued":  # where a return ends (finance's credit note)
            try:
                return_id = uuid.UUID(str(event.data.get("return_id")))
            except ValueError:
                return
            await service.return_refunded(session, return_id)
            return
        if event.event not in ("payment_authorized", "payment_declined"):
            return
        order = await _order_of(session, event.data)
        if order is None or not await _finance_decides(session, order):
            return
        if event.event == "payment_authorized":
            method = str(event.data.get("method") or "credit")[:32]
            await service.approve_payment(session, order, approved_by=None, method=method)
        elif st.OrderState(order.state) in (st.OrderState.PLACED, st.OrderState.RESERVED):
            await service.transition(
                session, order, st.OrderState.CANCELLED, actor=FINANCE, reason=PAYMENT_DECLINED
            )


async def _forward(session: AsyncSession, order: Order, targets: list[st.OrderState], reason: str) -> None:
    """Walk the order forward through `targets`, skipping steps it is already past."""
    for target in targets:
        if order.state != target.value and st.allowed(order.state, target):
            await service.transition(session, order, target, actor=LOGISTICS, reason=reason)


class LogisticsEvents(IdempotentConsumer):
    """The order follows its shipments (docs/saga.md, "The logistics seam")."""

    name = "orders-logistics"
    schema = SCHEMA
    domain = "logistics"
    filter_subject = "logistics.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        if event.event not in ("shipment_shipped", "shipment_delivered"):
            return
        data = event.data
        order = await _order_of(session, data)
        if order is None:
            return
        shipment = str(data.get("shipment_id") or event.subject_id)
        all_shipped = bool(data.get("all_lines_shipped"))
        if event.event == "shipment_shipped":
            target = st.OrderState.SHIPPED if all_shipped else st.OrderState.PARTIALLY_SHIPPED
            await _forward(session, order, [target], f"shipment {shipment} shipped")
        elif data.get("all_shipments_delivered") and all_shipped:
            await _forward(
                session,
                order,
                [st.OrderState.SHIPPED, st.OrderState.DELIVERED],
                f"shipment {shipment} delivered",
            )


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
        FinanceEvents,
        LogisticsEvents,
        quote,
    ]
