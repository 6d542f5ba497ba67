"""Outbound webhook endpoints: the registry (a tenant setting of an organization), its delivery
log and dead letters, replays. No GraphQL here. The gateway's dispatcher (gateway/webhooks/) reads
the endpoints, runs their subscription documents and writes deliveries and attempts into these
tables (docs/webhooks.md is the contract).

An endpoint acts as its own service principal: the tenant, its organization, the scopes asked for
at creation (never more than the creator holds, as for API keys) and `platform_admin` only when
the creator is one. Its events are those the subscription document selects, filtered by
`event_types` (the `type` field of the event, which the document must then select).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import graphql
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import BadUserInputError, FieldError, UserInputError
from shared.webhook_urls import WebhookUrlError, check_url
from subgraphs.orgs import audit
from subgraphs.orgs.access import Actor, Scope
from subgraphs.orgs.config import get_orgs_settings
from subgraphs.orgs.models import Organization, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from subgraphs.orgs.roles import KNOWN_SCOPES, PLATFORM_ADMIN

SECRET_PREFIX = "whsec_"
MAX_DOCUMENT_LENGTH = 20_000
MAX_EVENT_TYPES = 100
MAX_ENDPOINTS_PER_ORGANIZATION = 20
DELIVERY_STATUSES = ("pending", "delivered", "dead")


@dataclass(frozen=True, slots=True)
class EndpointInput:
    url: str
    subscription: str
    scopes: Sequence[str]
    organization_id: str | None = None
    description: str = ""
    event_types: Sequence[str] = ()
    variables: dict[str, Any] | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    url: str | None = None
    subscription: str | None = None
    description: str | None = None
    event_types: Sequence[str] | None = None
    variables: dict[str, Any] | None = None
    enabled: bool | None = None
    rotate_secret: bool = False


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_document(document: str, event_types: Sequence[str], errors: list[FieldError]) -> None:
    """One subscription operation with one root field; `type` selected on it when filtering."""
    if not document.strip() or len(document) > MAX_DOCUMENT_LENGTH:
        errors.append(FieldError(("subscription",), f"1 to {MAX_DOCUMENT_LENGTH} characters", "INVALID"))
        return
    try:
        parsed = graphql.parse(document)
    except graphql.GraphQLError as exc:
        errors.append(FieldError(("subscription",), f"does not parse: {exc.message}", "INVALID"))
        return
    operations = [d for d in parsed.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != graphql.OperationType.SUBSCRIPTION:
        errors.append(FieldError(("subscription",), "exactly one subscription operation", "INVALID"))
        return
    roots = [s for s in operations[0].selection_set.selections if isinstance(s, graphql.FieldNode)]
    if len(roots) != 1 or len(operations[0].selection_set.selections) != 1:
        errors.append(FieldError(("subscription",), "exactly one root field", "INVALID"))
        return
    if event_types:
        selected = roots[0].selection_set.selections if roots[0].selection_set else ()
        names = {s.name.value for s in selected if isinstance(s, graphql.FieldNode) and s.alias is None}
        if "type" not in names:
            errors.append(
                FieldError(
                    ("eventTypes",),
                    "the filter matches the event's `type`: select it (unaliased) in the subscription",
                    "EVENT_TYPE_NOT_SELECTED",
                )
            )


def _event_types(values: Sequence[str], errors: list[FieldError]) -> list[str]:
    cleaned = sorted({v.strip() for v in values if v.strip()})
    if len(cleaned) > MAX_EVENT_TYPES or any(len(v) > 100 for v in cleaned):
        errors.append(
            FieldError(("eventTypes",), f"at most {MAX_EVENT_TYPES} types of 100 characters", "INVALID")
        )
    return cleaned


async def _check_url(url: str, errors: list[FieldError]) -> str:
    url = url.strip()
    try:
        await check_url(url, allow_loopback=get_orgs_settings().webhook_allow_loopback)
    except WebhookUrlError as exc:
        errors.append(FieldError(("url",), str(exc), "URL_NOT_ALLOWED"))
    return url


async def create_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    scope: Scope,
    granted_scopes: frozenset[str],
    granted_roles: frozenset[str],
    data: EndpointInput,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret (returned this once)."""
    errors: list[FieldError] = []
    org_id = actor.organization_id
    if data.organization_id is not None:
        try:
            org_id = uuid.UUID(data.organization_id)
        except ValueError:
            org_id = None
            errors.append(FieldError(("organizationId",), "not a valid id", "INVALID"))
    if org_id is None and data.organization_id is None:
        errors.append(
            FieldError(("organizationId",), "name the organization the endpoint belongs to", "BLANK")
        )
    elif org_id is not None and (not scope.allows(org_id) or await session.get(Organization, org_id) is None):
        errors.append(FieldError(("organizationId",), "no such organization", "NOT_FOUND"))
    url = await _check_url(data.url, errors)
    event_types = _event_types(data.event_types, errors)
    check_document(data.subscription, event_types, errors)
    wanted = sorted({s.strip() for s in data.scopes})
    if not wanted:
        errors.append(FieldError(("scopes",), "the endpoint needs the scopes its selection reads", "BLANK"))
    for s in wanted:
        if s not in KNOWN_SCOPES:
            errors.append(FieldError(("scopes",), f"unknown scope {s!r}", "INVALID"))
        elif s not in granted_scopes:
            errors.append(FieldError(("scopes",), f"you do not hold {s!r}", "FORBIDDEN_SCOPE"))
    if len(data.description) > 500:
        errors.append(FieldError(("description",), "at most 500 characters", "INVALID"))
    if org_id is not None and not errors:
        count = await session.scalar(
            select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.organization_id == org_id)
        )
        if (count or 0) >= MAX_ENDPOINTS_PER_ORGANIZATION:
            errors.append(
                FieldError(
                    ("organizationId",),
                    f"at most {MAX_ENDPOINTS_PER_ORGANIZATION} endpoints",
                    "LIMIT_REACHED",
                )
            )
    if errors:
        raise UserInputError(errors)
    assert org_id is not None
    secret = new_secret()
    now = utcnow()
    row = WebhookEndpoint(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        organization_id=org_id,
        created_by=actor.user_id,
        url=url,
        description=data.description.strip(),
        event_types=event_types,
        subscription=data.subscription,
        variables=dict(data.variables or {}),
        secret=secret,
        enabled=data.enabled,
        principal_roles=[PLATFORM_ADMIN] if PLATFORM_ADMIN in granted_roles else [],
        principal_scopes=wanted,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session, tenant_id, actor, "webhook_endpoint.created", "webhook_endpoint", row.id, {"url": url}
    )
    return row, secret


async def get_endpoint(
    session: AsyncSession, scope: Scope, endpoint_id: str, field: str = "id"
) -> WebhookEndpoint:
    try:
        eid = uuid.UUID(endpoint_id)
    except ValueError:
        raise UserInputError([FieldError((field,), "not a valid id", "INVALID")]) from None
    row = await session.get(WebhookEndpoint, eid)
    if row is None or not scope.allows(row.organization_id):
        raise UserInputError([FieldError((field,), "no such webhook endpoint", "NOT_FOUND")])
    return row


async def update_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    actor: Actor,
    scope: Scope,
    endpoint_id: str,
    changes: EndpointChanges,
) -> tuple[WebhookEndpoint, str | None]:
    row = await get_endpoint(session, scope, endpoint_id)
    errors: list[FieldError] = []
    url = await _check_url(changes.url, errors) if changes.url is not None else row.url
    event_types = (
        _event_types(changes.event_types, errors) if changes.event_types is not None else row.event_types
    )
    if changes.subscription is not None or changes.event_types is not None:
        check_document(
            changes.subscription if changes.subscription is not None else row.subscription,
            event_types,
            errors,
        )
    if changes.description is not None and len(changes.description) > 500:
        errors.append(FieldError(("description",), "at most 500 characters", "INVALID"))
    if errors:
        raise UserInputError(errors)
    row.url = url
    row.event_types = list(event_types)
    if changes.subscription is not None:
        row.subscription = changes.subscription
    if changes.variables is not None:
        row.variables = dict(changes.variables)
    if changes.description is not None:
        row.description = changes.description.strip()
    if changes.enabled is not None:
        row.enabled = changes.enabled
    secret = None
    if changes.rotate_secret:
        secret = new_secret()
        row.secret = secret
    row.version += 1  # the dispatcher restarts the endpoint's subscription on a new version
    row.updated_at = utcnow()
    await session.flush()
    await audit.record(session, tenant_id, actor, "webhook_endpoint.updated", "webhook_endpoint", row.id, {})
    return row, secret


async def delete_endpoint(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, scope: Scope, endpoint_id: str
) -> uuid.UUID:
    row = await get_endpoint(session, scope, endpoint_id)
    await session.delete(row)  # deliveries and attempts go with it (ON DELETE CASCADE)
    await session.flush()
    await audit.record(session, tenant_id, actor, "webhook_endpoint.deleted", "webhook_endpoint", row.id, {})
    return row.id


async def list_endpoints(session: AsyncSession, scope: Scope) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    if not scope.all:
        query = query.where(WebhookEndpoint.organization_id.in_(scope.ids))
    return list((await session.scalars(query)).all())


async def list_deliveries(
    session: AsyncSession,
    scope: Scope,
    endpoint_id: str,
    *,
    status: str | None,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[tuple[WebhookDelivery, list[Any]]], int]:
    """Newest first, keyset on (created_at, id) descending."""
    endpoint = await get_endpoint(session, scope, endpoint_id, "endpointId")
    filters = [WebhookDelivery.endpoint_id == endpoint.id]
    if status is not None:
        filters.append(WebhookDelivery.status == status)
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(*filters)) or 0
    query = select(WebhookDelivery).where(*filters)
    if after is not None:
        try:
            at, did = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        except (IndexError, ValueError) as exc:
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from exc
        query = query.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(at, did))
    rows = await session.scalars(
        query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit + 1)
    )
    return [(d, [d.created_at.isoformat(), str(d.id)]) for d in rows], int(total)


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt]]:
    out: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.seq)
    )
    for row in rows:
        out[row.delivery_id].append(row)
    return out


async def replay_delivery(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, scope: Scope, delivery_id: str
) -> WebhookDelivery:
    """Queue a dead (or delivered) delivery again: a new 24 h retry window, the same `Webhook-Id`
    (receivers dedupe on it), a fresh timestamp and signature when sent."""
    try:
        did = uuid.UUID(delivery_id)
    except ValueError:
        raise UserInputError([FieldError(("deliveryId",), "not a valid id", "INVALID")]) from None
    row = (
        await session.scalars(select(WebhookDelivery).where(WebhookDelivery.id == did).with_for_update())
    ).first()
    endpoint = await session.get(WebhookEndpoint, row.endpoint_id) if row is not None else None
    if row is None or endpoint is None or not scope.allows(endpoint.organization_id):
        raise UserInputError([FieldError(("deliveryId",), "no such delivery", "NOT_FOUND")])
    if row.status == "pending":
        raise UserInputError([FieldError(("deliveryId",), "the delivery is still being retried", "PENDING")])
    _requeue(row)
    await session.flush()
    await audit.record(session, tenant_id, actor, "webhook_delivery.replayed", "webhook_delivery", row.id, {})
    return row


async def replay_dead_letters(
    session: AsyncSession, tenant_id: uuid.UUID, actor: Actor, scope: Scope, endpoint_id: str
) -> int:
    endpoint = await get_endpoint(session, scope, endpoint_id, "endpointId")
    now = utcnow()
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "dead")
        .values(
            status="pending",
            next_attempt_at=now,
            window_started_at=now,
            attempts=0,
            dead_at=None,
            replays=WebhookDelivery.replays + 1,
        )
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    await audit.record(
        session,
        tenant_id,
        actor,
        "webhook_dead_letters.replayed",
        "webhook_endpoint",
        endpoint.id,
        {"count": count},
    )
    return count


def _requeue(row: WebhookDelivery) -> None:
    now = utcnow()
    row.status = "pending"
    row.next_attempt_at = now
    row.window_started_at = now
    row.attempts = 0
    row.dead_at = None
    row.delivered_at = None
    row.replays += 1
