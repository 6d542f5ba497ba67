"""The STOCK stream as partner ERPs read it (`Subscription.stockLevelChanged`, docs/integration.md).

Data scope: stock's rule (service.may_manage): a seller sees the levels of its own organization's
locations, a platform admin every location of the tenant. An event names its location; the
location's organization is read once per subscription and kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select

from shared.context import RequestContext
from shared.events.envelope import EventEnvelope
from shared.events.follow import NOTHING, DataScope
from shared.graphql.streams import EventStream
from subgraphs.stock import service
from subgraphs.stock.models import Location

LEVEL_EVENTS = ("adjusted", "low")  # the events that are about one stock level
_ORGS_KEY = "stock.event_feed.orgs"
_MEMO_LIMIT = 10_000


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def stock_scope(ctx: RequestContext) -> DataScope:
    principal = ctx.principal
    if service.is_platform_admin(principal):
        return DataScope(all=True)
    org = _uuid(principal.organization_id) if principal is not None else None
    return DataScope(all=False, org_ids=frozenset({org})) if org is not None else NOTHING


async def location_orgs(ctx: RequestContext, envelope: EventEnvelope) -> Collection[uuid.UUID]:
    location_id = _uuid(envelope.data.get("location_id"))
    if location_id is None:
        return ()
    memo: dict[uuid.UUID, tuple[uuid.UUID, ...]] = ctx.__dict__.setdefault(_ORGS_KEY, {})
    if location_id not in memo:
        async with ctx.session() as session:
            org = await session.scalar(select(Location.organization_id).where(Location.id == location_id))
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[location_id] = (org,) if org is not None else ()
    return memo[location_id]


STOCK_STREAM = EventStream(domain="stock", scope=stock_scope, orgs_of=location_orgs)
