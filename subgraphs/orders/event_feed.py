"""The ORDERS stream as partner ERPs read it (`Subscription.orderEvents`, docs/integration.md).

Data scope: the orders rule (access.py) over the event's order: the principal sees an event when its
data scope covers the order's buyer or seller organization. `placed` carries both; the other events
name the order (`subject_id`), whose organizations are read once per subscription and kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select

from shared.context import RequestContext
from shared.events.envelope import EventEnvelope
from shared.events.follow import DataScope
from shared.graphql.streams import EventStream
from subgraphs.orders.access import parse_uuid, viewer_of
from subgraphs.orders.models import Order

_ORGS_KEY = "orders.event_feed.orgs"  # per-subscription memo on the connection's context
_MEMO_LIMIT = 10_000


async def order_scope(ctx: RequestContext) -> DataScope:
    async with ctx.session() as session:
        viewer = await viewer_of(session, ctx.require_tenant(), ctx.principal)
    return DataScope(all=viewer.all, org_ids=viewer.org_ids)


async def order_orgs(ctx: RequestContext, envelope: EventEnvelope) -> Collection[uuid.UUID]:
    data = envelope.data
    buyer, seller = (
        parse_uuid(data.get("buyer_organization_id")),
        parse_uuid(data.get("seller_organization_id")),
    )
    if buyer is not None and seller is not None:
        return (buyer, seller)
    order_id = parse_uuid(data.get("order_id") or envelope.subject_id)
    if order_id is None:
        return ()
    memo: dict[uuid.UUID, tuple[uuid.UUID, ...]] = ctx.__dict__.setdefault(_ORGS_KEY, {})
    if order_id not in memo:
        async with ctx.session() as session:
            row = (
                await session.execute(
                    select(Order.buyer_organization_id, Order.seller_organization_id).where(
                        Order.id == order_id
                    )
                )
            ).one_or_none()
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[order_id] = tuple(row) if row is not None else ()
    return memo[order_id]


ORDER_STREAM = EventStream(domain="orders", scope=order_scope, orgs_of=order_orgs)
