"""GraphQL of the identity features (thin): inputs, payloads and resolvers that `schema.py` mounts on
its `Mutation`. The rules live in recovery.py, mfa.py, signin.py."""

from __future__ import annotations

import uuid

import strawberry

from shared.errors import FieldError, UserInputError
from shared.graphql import Info, UserError, user_errors
from subgraphs.orgs.identity import recovery
from subgraphs.orgs.identity.client import client_address
from subgraphs.orgs.identity.config import identity_settings


@strawberry.type
class IdentityPayload:
    ok: bool
    user_errors: list[UserError]


OK = IdentityPayload(ok=True, user_errors=[])


def _failed(exc: UserInputError) -> IdentityPayload:
    return IdentityPayload(ok=False, user_errors=user_errors(exc))


@strawberry.input
class PasswordResetRequestInput:
    tenant: str = strawberry.field(description="The tenant's slug (or id).")
    email: str


@strawberry.input
class PasswordResetInput:
    tenant: str
    token: str = strawberry.field(description="From the link in the mail.")
    password: str


@strawberry.input
class EmailVerifyInput:
    tenant: str
    token: str


async def password_reset_request(info: Info, input: PasswordResetRequestInput) -> IdentityPayload:
    """Always `ok`: whether the e-mail has an account is not told (the mail says it)."""
    ctx = info.context
    await recovery.request_reset(
        ctx.db,
        ctx.settings.redis_url,
        identity_settings(ctx),
        tenant=input.tenant,
        email=input.email,
        client_address=client_address(ctx),
    )
    return OK


async def password_reset(info: Info, input: PasswordResetInput) -> IdentityPayload:
    ctx = info.context
    try:
        await recovery.reset_password(
            ctx.db,
            ctx.settings.redis_url,
            tenant=input.tenant,
            token=input.token,
            password=input.password,
            client_address=client_address(ctx),
        )
    except UserInputError as exc:
        return _failed(exc)
    return OK


async def email_verification_request(info: Info) -> IdentityPayload:
    ctx = info.context
    principal = ctx.require_principal()
    if principal.user_id is None:
        return _failed(UserInputError([FieldError((), "only a signed-in user has an e-mail", "NO_USER")]))
    try:
        sent = await recovery.request_verification(
            ctx.db,
            ctx.settings.redis_url,
            identity_settings(ctx),
            ctx.require_tenant(),
            uuid.UUID(principal.user_id),
        )
    except UserInputError as exc:
        return _failed(exc)
    if not sent:
        return _failed(
            UserInputError([FieldError((), "this address is verified already", "ALREADY_VERIFIED")])
        )
    return OK


async def email_verify(info: Info, input: EmailVerifyInput) -> IdentityPayload:
    try:
        await recovery.verify_email(info.context.db, tenant=input.tenant, token=input.token)
    except UserInputError as exc:
        return _failed(exc)
    return OK
