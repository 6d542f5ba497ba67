"""Events pricing consumes: the orgs domain's organization events feed `pricing.org_units`, the
local projection of the organization tree that price resolution walks up (a buyer's ancestors)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, IdempotentConsumer
from subgraphs.pricing import service
from subgraphs.pricing.models import SCHEMA


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


class OrgUnitProjection(IdempotentConsumer):
    name = "pricing-org-units"
    schema = SCHEMA
    domain = "orgs"
    filter_subject = "orgs.*.*"

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        # organization_created today; any later organization_* event with the same shape (moves,
        # renames, settings) updates the node too. Other orgs events are not about the tree.
        if not event.event.startswith("organization_"):
            return
        data = event.data
        org_id = _uuid(data.get("id") or event.subject_id)
        if org_id is None:
            return
        settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
        currency = data.get("currency") or (settings or {}).get("currency")
        await service.upsert_org_unit(
            session,
            event.tenant_id,
            org_id,
            parent_id=_uuid(data.get("parent_id")),
            kind=data.get("kind"),
            name=data.get("name"),
            currency=str(currency).upper()[:3] if currency else None,
        )
