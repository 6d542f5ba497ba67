# mypy: disable-error-code="untyped-decorator"
"""GraphQL surface of the webhook registry (`webhooks.py`): types, and the query and mutation
fields that `schema.py`'s Query and Mutation inherit. Everything needs `orgs:admin`; an endpoint is
visible to the admins whose data scope holds its organization."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import orjson
import strawberry

from shared.errors import FieldError, UserInputError
from shared.graphql import Connection, Info, PageArgs, UserError, user_errors
from subgraphs.orgs import access, models, webhooks
from subgraphs.orgs.access import Actor, Scope

ADMIN = [["orgs:admin"]]
TENANT_ID_DOC = "The tenant this belongs to."


async def _scope(info: Info) -> Scope:
    async with info.context.session() as session:
        return await access.scope_of(session, info.context.principal)


def _admin(info: Info) -> tuple[uuid.UUID, Actor]:
    info.context.require_scope("orgs:admin")
    return info.context.require_tenant(), Actor.of(info.context.principal)


def _variables(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise UserInputError([FieldError(("variables",), "a JSON object", "INVALID")])
    return value


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@strawberry.type(description="An HTTPS endpoint of an organization that receives signed events.")
class WebhookEndpoint:
    id: strawberry.ID
    tenant_id: strawberry.ID = strawberry.federation.field(shareable=True, description=TENANT_ID_DOC)
    organization_id: strawberry.ID
    url: str
    description: str
    event_types: list[str] = strawberry.field(description="Event `type`s delivered; empty: every event.")
    subscription: str = strawberry.field(description="The GraphQL subscription whose events are sent.")
    variables: str = strawberry.field(description="Its variables, as a JSON object.")
    scopes: list[str] = strawberry.field(description="The rights the selection is resolved with.")
    enabled: bool
    cursor: str | None = strawberry.field(description="The last event the dispatcher took (stream position).")
    last_error: str | None = strawberry.field(description="Why the subscription could not run, if it cannot.")
    last_error_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.WebhookEndpoint) -> WebhookEndpoint:
        return cls(
            id=strawberry.ID(str(row.id)),
            tenant_id=strawberry.ID(str(row.tenant_id)),
            organization_id=strawberry.ID(str(row.organization_id)),
            url=row.url,
            description=row.description,
            event_types=list(row.event_types),
            subscription=row.subscription,
            variables=orjson.dumps(row.variables or {}).decode(),
            scopes=sorted(row.principal_scopes),
            enabled=row.enabled,
            cursor=row.cursor,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def from_model(cls, row: models.WebhookAttempt) -> WebhookAttempt:
        return cls(
            attempted_at=row.attempted_at,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
        )


@strawberry.type(description="One event for one endpoint; its `id` is the `Webhook-Id` header.")
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_type: str | None
    event_key: str = strawberry.field(description="The event's cursor (stream position).")
    status: WebhookDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    replays: int
    created_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    body: str = strawberry.field(description="The JSON body as sent.")
    log: list[WebhookAttempt] = strawberry.field(description="Every attempt, oldest first.")

    @classmethod
    def from_model(
        cls, row: models.WebhookDelivery, attempts: list[models.WebhookAttempt]
    ) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(row.id)),
            endpoint_id=strawberry.ID(str(row.endpoint_id)),
            event_type=row.event_type,
            event_key=row.event_key,
            status=WebhookDeliveryStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            last_status=row.last_status,
            last_error=row.last_error,
            replays=row.replays,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            dead_at=row.dead_at,
            body=orjson.dumps(row.payload).decode(),
            log=[WebhookAttempt.from_model(a) for a in attempts],
        )


@strawberry.input
class WebhookEndpointCreateInput:
    url: str
    subscription: str = strawberry.field(description="One subscription operation with one root field.")
    scopes: list[str] = strawberry.field(description="Rights for resolving the selection (at most yours).")
    organization_id: strawberry.ID | None = strawberry.field(default=None, description="Default: yours.")
    description: str = ""
    event_types: list[str] = strawberry.field(default_factory=list)
    variables: str | None = strawberry.field(default=None, description="A JSON object.")
    enabled: bool = True


@strawberry.input
class WebhookEndpointUpdateInput:
    id: strawberry.ID
    url: str | None = None
    subscription: str | None = None
    description: str | None = None
    event_types: list[str] | None = None
    variables: str | None = None
    enabled: bool | None = None
    rotate_secret: bool = strawberry.field(default=False, description="A new secret (shown in the payload).")


@strawberry.input
class WebhookEndpointDeleteInput:
    id: strawberry.ID


@strawberry.input
class WebhookDeliveryReplayInput:
    delivery_id: strawberry.ID


@strawberry.input
class WebhookDeadLettersReplayInput:
    endpoint_id: strawberry.ID


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None
    secret: str | None = strawberry.field(
        description="The signing secret: shown once, at creation and on rotation. Keep it safe."
    )
    user_errors: list[UserError]


@strawberry.type
class WebhookEndpointDeletePayload:
    deleted_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.type
class WebhookDeliveryReplayPayload:
    delivery: WebhookDelivery | None
    user_errors: list[UserError]


@strawberry.type
class WebhookDeadLettersReplayPayload:
    replayed: int
    user_errors: list[UserError]


@strawberry.type
class WebhookQuery:
    @strawberry.federation.field(requires_scopes=ADMIN, description="Webhook endpoints in your data scope.")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        _admin(info)
        scope = await _scope(info)
        async with info.context.session() as session:
            rows = await webhooks.list_endpoints(session, scope)
        return [WebhookEndpoint.from_model(r) for r in rows]

    @strawberry.federation.field(requires_scopes=ADMIN)
    async def webhook_endpoint(self, info: Info, id: strawberry.ID) -> WebhookEndpoint | None:
        _admin(info)
        scope = await _scope(info)
        try:
            async with info.context.session() as session:
                row = await webhooks.get_endpoint(session, scope, str(id))
        except UserInputError:
            return None
        return WebhookEndpoint.from_model(row)

    @strawberry.federation.field(
        requires_scopes=ADMIN,
        description="The delivery log of an endpoint, newest first (DEAD: the dead letters).",
    )
    async def webhook_deliveries(
        self,
        info: Info,
        endpoint_id: strawberry.ID,
        status: WebhookDeliveryStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        return await _deliveries(info, endpoint_id, status, first, after)

    @strawberry.federation.field(
        requires_scopes=ADMIN, description="Deliveries that gave up (24 h of retries)."
    )
    async def webhook_dead_letters(
        self, info: Info, endpoint_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        return await _deliveries(info, endpoint_id, WebhookDeliveryStatus.DEAD, first, after)


async def _deliveries(
    info: Info,
    endpoint_id: strawberry.ID,
    status: WebhookDeliveryStatus | None,
    first: int | None,
    after: str | None,
) -> Connection[WebhookDelivery]:
    _admin(info)
    page = PageArgs.of_request(info, first, after)
    scope = await _scope(info)
    try:
        async with info.context.session() as session:
            rows, total = await webhooks.list_deliveries(
                session,
                scope,
                str(endpoint_id),
                status=status.value if status else None,
                limit=page.limit,
                after=page.after,
            )
            attempts = await webhooks.attempts_of(session, [d.id for d, _ in rows])
    except UserInputError:
        return Connection.build([], limit=page.limit, total_count=0, has_previous=False)
    return Connection.build(
        [(WebhookDelivery.from_model(d, attempts[d.id]), key) for d, key in rows],
        limit=page.limit,
        total_count=total,
        has_previous=page.after is not None,
    )


@strawberry.type
class WebhookMutation:
    @strawberry.federation.mutation(requires_scopes=ADMIN, description="Register a webhook endpoint.")
    async def webhook_endpoint_create(
        self, info: Info, input: WebhookEndpointCreateInput
    ) -> WebhookEndpointPayload:
        tenant_id, actor = _admin(info)
        principal = info.context.require_principal()
        try:
            data = webhooks.EndpointInput(
                url=input.url,
                subscription=input.subscription,
                scopes=input.scopes,
                organization_id=str(input.organization_id) if input.organization_id is not None else None,
                description=input.description,
                event_types=input.event_types,
                variables=_variables(input.variables),
                enabled=input.enabled,
            )
            async with info.context.session() as session:
                scope = await access.scope_of(session, principal)
                row, secret = await webhooks.create_endpoint(
                    session,
                    tenant_id,
                    actor,
                    scope,
                    frozenset(principal.scopes),
                    frozenset(principal.roles),
                    data,
                )
                endpoint = WebhookEndpoint.from_model(row)
        except UserInputError as exc:
            return WebhookEndpointPayload(endpoint=None, secret=None, user_errors=user_errors(exc))
        return WebhookEndpointPayload(endpoint=endpoint, secret=secret, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=ADMIN, description="Change, pause or rotate an endpoint.")
    async def webhook_endpoint_update(
        self, info: Info, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpointPayload:
        tenant_id, actor = _admin(info)
        try:
            changes = webhooks.EndpointChanges(
                url=input.url,
                subscription=input.subscription,
                description=input.description,
                event_types=input.event_types,
                variables=_variables(input.variables),
                enabled=input.enabled,
                rotate_secret=input.rotate_secret,
            )
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                row, secret = await webhooks.update_endpoint(
                    session, tenant_id, actor, scope, str(input.id), changes
                )
                endpoint = WebhookEndpoint.from_model(row)
        except UserInputError as exc:
            return WebhookEndpointPayload(endpoint=None, secret=None, user_errors=user_errors(exc))
        return WebhookEndpointPayload(endpoint=endpoint, secret=secret, user_errors=[])

    @strawberry.federation.mutation(requires_scopes=ADMIN, description="Delete an endpoint and its log.")
    async def webhook_endpoint_delete(
        self, info: Info, input: WebhookEndpointDeleteInput
    ) -> WebhookEndpointDeletePayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                deleted = await webhooks.delete_endpoint(session, tenant_id, actor, scope, str(input.id))
        except UserInputError as exc:
            return WebhookEndpointDeletePayload(deleted_id=None, user_errors=user_errors(exc))
        return WebhookEndpointDeletePayload(deleted_id=strawberry.ID(str(deleted)), user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=ADMIN,
        description="Send a dead (or delivered) delivery again, with a new retry window.",
    )
    async def webhook_delivery_replay(
        self, info: Info, input: WebhookDeliveryReplayInput
    ) -> WebhookDeliveryReplayPayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                row = await webhooks.replay_delivery(session, tenant_id, actor, scope, str(input.delivery_id))
                attempts = await webhooks.attempts_of(session, [row.id])
                delivery = WebhookDelivery.from_model(row, attempts[row.id])
        except UserInputError as exc:
            return WebhookDeliveryReplayPayload(delivery=None, user_errors=user_errors(exc))
        return WebhookDeliveryReplayPayload(delivery=delivery, user_errors=[])

    @strawberry.federation.mutation(
        requires_scopes=ADMIN, description="Send every dead letter of an endpoint again."
    )
    async def webhook_dead_letters_replay(
        self, info: Info, input: WebhookDeadLettersReplayInput
    ) -> WebhookDeadLettersReplayPayload:
        tenant_id, actor = _admin(info)
        try:
            async with info.context.session() as session:
                scope = await access.scope_of(session, info.context.principal)
                count = await webhooks.replay_dead_letters(
                    session, tenant_id, actor, scope, str(input.endpoint_id)
                )
        except UserInputError as exc:
            return WebhookDeadLettersReplayPayload(replayed=0, user_errors=user_errors(exc))
        return WebhookDeadLettersReplayPayload(replayed=count, user_errors=[])
