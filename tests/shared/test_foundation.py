"""Settings, URLs, migrations runner, cursors: the small contracts other services rely on."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest
import strawberry
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from devstack.migrate import alembic_config, present_subgraphs, upgrade_all
from shared.db import app_database_url, async_url
from shared.errors import BadUserInputError
from shared.graphql import Money, PageArgs, decode_cursor, encode_cursor
from shared.migrations_helpers import app_role_sql, tenant_rls_sql
from shared.settings import DEV_GATEWAY_SECRET, Settings


def test_settings_read_unprefixed_urls_and_prefixed_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/x")
    monkeypatch.setenv("NATS_URL", "nats://n:4222")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/1")
    monkeypatch.setenv("B2B_GATEWAY_SECRET", "s3cret")
    monkeypatch.setenv("B2B_REQUIRE_GATEWAY_CONTEXT", "false")
    s = Settings()
    assert (s.database_url, s.nats_url, s.redis_url) == (
        "postgresql://u:p@db:5432/x",
        "nats://n:4222",
        "redis://r:6379/1",
    )
    assert s.gateway_secret_bytes == b"s3cret" and s.require_gateway_context is False
    monkeypatch.setenv("B2B_DATABASE_URL", "postgresql://other/y")
    assert Settings().database_url == "postgresql://other/y"  # the prefixed name wins


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "B2B_DATABASE_URL", "B2B_GATEWAY_SECRET", "B2B_APP_DB_ROLE"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.gateway_secret == DEV_GATEWAY_SECRET
    assert s.app_db_role == "b2b_app" and s.require_gateway_context is True
    assert s.page_size_max == 100


def test_urls() -> None:
    assert async_url("postgres://a@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+asyncpg://a@h/db").drivername == "postgresql+asyncpg"
    app = app_database_url(
        "postgresql://postgres:pw@h:5433/db?sslmode=disable", Settings(app_db_password="x")
    )
    assert (app.username, app.password, app.host, app.port, app.database) == ("b2b_app", "x", "h", 5433, "db")
    assert app.query == {"sslmode": "disable"}


def test_sql_helpers_refuse_odd_identifiers() -> None:
    with pytest.raises(ValueError):
        tenant_rls_sql("orders; drop table x")
    with pytest.raises(ValueError):
        app_role_sql("Bad-Role", "pw")
    assert "'it''s'" in app_role_sql("r", "it's")


def test_cursors_and_page_args() -> None:
    key = ["Acme", "6b0f7d4e-4c63-4f0c-9a55-1f1b4a6f0c01"]
    assert decode_cursor(encode_cursor(key)) == key
    assert PageArgs.parse(None, None) == PageArgs(limit=20, after=None)
    assert PageArgs.parse(5, encode_cursor(key)).after == key
    not_a_list = "eyJhIjoxfQ"  # base64url of {"a":1}: valid JSON, not a sort key
    for first, after in ((-1, None), (101, None), (1, "%%%"), (1, not_a_list)):
        with pytest.raises(BadUserInputError):
            PageArgs.parse(first, after)


async def test_upgrade_all_is_repeatable_and_versions_live_in_each_schema(service_urls) -> None:  # type: ignore[no-untyped-def]
    assert "orgs" in present_subgraphs()
    upgrade_all(service_urls.database_url)  # second run: nothing to do, no error
    upgrade_all(service_urls.database_url, ["orgs"])
    conn = await asyncpg.connect(
        make_url(service_urls.database_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        version = await conn.fetchval("SELECT version_num FROM orgs.alembic_version")
        public = await conn.fetchval("SELECT to_regclass('public.alembic_version')")
    finally:
        await conn.close()
    # The schema's own version table is at the newest orgs revision, whichever that is.
    assert version == ScriptDirectory.from_config(alembic_config("orgs")).get_current_head()
    assert public is None


@strawberry.type
class MoneyQuery:
    @strawberry.field
    def price(self) -> Money:
        return Money.of(Decimal("0.10"), "EUR")


def test_shared_money_type() -> None:
    assert Money.of(Decimal("1E+3"), "EUR") == Money(amount="1000", currency="EUR")
    assert Money.of(Decimal("12.3400"), "USD").amount == "12.3400"
    sdl = strawberry.federation.Schema(query=MoneyQuery).as_str()
    assert (
        'type Money @shareable {\n  """Decimal amount as a string (never a float)."""\n  amount: String!'
        in sdl
    )
