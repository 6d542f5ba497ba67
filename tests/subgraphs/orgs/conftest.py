"""Fixtures of the orgs tests: the seeded database, an app-role Database, the orgs app served on a
loopback port, and a fresh tenant with a buyer organization and an admin who can log in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from devstack.seed import seed_all
from shared.db import Database, app_database_url
from shared.settings import Settings
from subgraphs.orgs.app import create_app
from subgraphs.orgs.identity.config import IdentitySettings
from subgraphs.orgs.models import Membership, Organization, Tenant, User
from tests.subgraphs.orgs.helpers import PASSWORD_HASH, World

RUN = uuid.uuid4().hex[:12]


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
    app = create_app(Settings(), database=app_db)
    # Throttle counters of this run only (Redis outlives test runs; demo accounts are shared).
    app.state.identity_settings = IdentitySettings(login_throttle_prefix=f"test:{RUN}:orgs:login:")
    return await serve_app(app)


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
        s.add(
            User(id=admin, tenant_id=tenant, email=email, display_name="Admin", password_hash=PASSWORD_HASH)
        )
        await s.flush()
        s.add(Membership(tenant_id=tenant, user_id=admin, organization_id=org, roles=["buyer_admin"]))
    return World(tenant, slug, org, unit, other, admin, email)
