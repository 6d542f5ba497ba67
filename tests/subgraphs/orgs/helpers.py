"""Helpers of the orgs tests (imported by the tests and by conftest's fixtures)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shared.testing import gateway_headers, graphql
from subgraphs.orgs.passwords import hash_password

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)


@dataclass(frozen=True)
class World:
    """A fresh tenant: buyer `org` with unit `unit`, sibling buyer `other`, admin `admin_id`."""

    tenant: uuid.UUID
    slug: str
    org: uuid.UUID
    unit: uuid.UUID
    other: uuid.UUID
    admin_id: uuid.UUID
    admin_email: str

    def admin(self, *scopes: str) -> dict[str, Any]:
        """Signed-context kwargs for the buyer admin."""
        return {
            "user_id": self.admin_id,
            "organization_id": self.org,
            "roles": ["buyer_admin"],
            "scopes": list(scopes) or ["orgs:admin", "orgs:write", "catalog:read", "orders:place"],
        }


async def gql(
    url: str, tenant: uuid.UUID | None, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> Any:
    status, body = await graphql(url, query, variables, headers=gateway_headers(tenant, **kw))
    assert status == 200, body
    return body


LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  token tokenType expiresAt organizationId roles scopes userErrors { field code message } } }"""


async def login(url: str, email: str, password: str, tenant: str, **extra: Any) -> dict[str, Any]:
    """Login as the gateway sends it for an anonymous client (signed context, no tenant)."""
    body = await gql(
        url, None, LOGIN, {"input": {"email": email, "password": password, "tenant": tenant, **extra}}
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["login"]
    return payload
