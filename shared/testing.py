"""Helpers for tests that call a subgraph the way the gateway does (signed context, JSON POST)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from shared.gateway_context import HEADER, Principal, sign_context
from shared.settings import get_settings


def gateway_headers(
    tenant_id: uuid.UUID | str | None,
    *,
    user_id: uuid.UUID | str | None = None,
    organization_id: uuid.UUID | str | None = None,
    roles: tuple[str, ...] | list[str] = (),
    scopes: tuple[str, ...] | list[str] = (),
    secret: bytes | None = None,
    ttl: float = 60.0,
    client_address: str | None = None,
) -> dict[str, str]:
    """Headers carrying a context signed with the configured gateway secret (or `secret`)."""
    principal = Principal(
        tenant_id=str(tenant_id) if tenant_id is not None else None,
        organization_id=str(organization_id) if organization_id is not None else None,
        user_id=str(user_id) if user_id is not None else None,
        roles=tuple(roles),
        scopes=tuple(scopes),
    )
    key = secret if secret is not None else get_settings().gateway_secret_bytes
    return {HEADER: sign_context(principal, key, ttl=ttl, client_address=client_address)}


async def graphql(
    base_url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    path: str = "/graphql",
) -> tuple[int, dict[str, Any]]:
    """POST a GraphQL request; returns (HTTP status, decoded JSON body)."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{base_url}{path}", json=payload, headers=headers or {}) as response,
    ):
        body: dict[str, Any] = await response.json(content_type=None)
        return response.status, body
