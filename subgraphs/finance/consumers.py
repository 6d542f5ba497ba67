"""Event consumers of finance: the orders saga seam and the organization tree projection."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, IdempotentConsumer
from subgraphs.finance import orgtree, returns, seam
from subgraphs.finance.models import SCHEMA


class OrderEvents(IdempotentConsumer):
    name = "finance-orders"
    schema = SCHEMA
    domain = "orders"
    filter_subject = "orders.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        if event.event == "placed":
            await seam.on_placed(session, event.tenant_id, event.data)
        elif event.event == "return_refund_requested":
            await returns.on_refund_requested(session, event.tenant_id, event.data)
        elif event.event.startswith("return_"):
            return  # the other return steps move no money
        else:
            await seam.on_transition(session, event.event, event.data)


class OrgUnitProjection(IdempotentConsumer):
    name = "finance-org-units"
    schema = SCHEMA
    domain = "orgs"
    filter_subject = "orgs.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        if not event.event.startswith("organization_"):
            return
        data = event.data
        org_id = seam._uuid(data.get("id") or event.subject_id)
        if org_id is None:
            return
        await orgtree.upsert_org_unit(
            session,
            event.tenant_id,
            org_id,
            parent_id=seam._uuid(data.get("parent_id")),
            kind=str(data["kind"])[:16] if data.get("kind") else None,
            name=str(data["name"])[:200] if data.get("name") else None,
        )
