"""Fixtures of the orgs tests: the seeded database, an app-role Database, the orgs app served on a
loopback port, and a fresh tenant with a buyer organization and an admin who can log in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from shared.db import Database, app_database_url
from shared.seed import seed_all
from shared.settings import Settings
from shared.testing import gateway_headers, graphql
from subgraphs.orgs.app import create_app
from subgraphs.orgs.models import Membership, Organization, Tenant, User
from subgraphs.orgs.passwords import hash_password

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


@pytest.fixture(scope="module")
async def seeded(service_urls) -> str:  # type: ignore[no-untyped-def]
    await seed_all(service_urls.database_url)
    return str(service_urls.database_url)


@pytest.fixture
async def app_db(service_urls) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=3)
    yield db
    await db.dispose()


@pytest.fixture
async def orgs_url(seeded: str, app_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    return await serve_app(create_app(Settings(), database=app_db))


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


@pytest.fixture
async def world(app_db: Database) -> World:
    tenant = uuid.uuid4()
    slug = f"t-{tenant.hex[:12]}"
    org, unit, other, admin = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    email = f"admin@{slug}.example"
    async with app_db.tenant_session(tenant) as s:
        s.add(Tenant(id=tenant, slug=slug, name="Test tenant"))
        await s.flush()
        s.add_all(
            [
                Organization(id=org, tenant_id=tenant, kind="BUYER", name="Buyer Co"),
                Organization(id=other, tenant_id=tenant, kind="BUYER", name="Sibling Co"),
            ]
        )
        await s.flush()
        s.add(Organization(id=unit, tenant_id=tenant, kind="BUYER", name="Buyer Co - Unit", parent_id=org))
        s.add(User(id=admin, tenant_id=tenant, email=email, display_name="Admin", password_hash=_HASH))
        await s.flush()
        s.add(Membership(tenant_id=tenant, user_id=admin, organization_id=org, roles=["buyer_admin"]))
    return World(tenant, slug, org, unit, other, admin, email)


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
