"""Password guessing against the orgs login, on the real database and Redis: delays and lockouts per
account + address, per address and per account, the audit trail, and no hint of which e-mails exist.
Delays are shortened by the app's settings (the defaults are seconds to minutes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, text

from shared.db import Database
from shared.settings import Settings
from shared.testing import gateway_headers
from subgraphs.orgs.app import create_app
from subgraphs.orgs.identity.config import IdentitySettings
from subgraphs.orgs.models import AuditEntry
from tests.subgraphs.orgs.helpers import LOGIN, PASSWORD, World

LOGIN_RETRY = LOGIN.replace("userErrors {", "retryAfter userErrors {")


def throttle_settings(**overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {
        "login_throttle_prefix": f"test:{uuid.uuid4().hex}:",
        "login_delay_base": 0.05,
        "login_delay_max": 0.2,
        "login_lockout": 120.0,
        "login_window": 120.0,
        "login_pair_free": 3,
        "login_pair_lockout": 10,
        "login_address_lockout": 100_000,
        "login_account_free": 20,
        "login_account_lockout": 50,
    }
    return IdentitySettings(**{**values, **overrides})


# The attacker waits out each short delay (never the lockout), so how many passwords get checked does
# not depend on how fast this machine answers: the counts below are exact, not a race with the clock.
SHORT_DELAY = 5.0


async def wait_out_delays(outcomes: list[dict[str, Any]]) -> None:
    delays = [o["retryAfter"] for o in outcomes
              if code(o) == "TOO_MANY_ATTEMPTS" and (o.get("retryAfter") or 0) < SHORT_DELAY]
    if delays:
        await asyncio.sleep(max(delays) + 0.05)


async def patiently(attempt: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    outcome = await attempt
    await wait_out_delays([outcome])
    return outcome


@pytest.fixture
def orgs_with(
    seeded: str, app_db: Database, serve_app: Callable[[Any], Awaitable[str]]
) -> Callable[[IdentitySettings], Awaitable[str]]:
    async def start(settings: IdentitySettings) -> str:
        app = create_app(Settings(), database=app_db)
        app.state.identity_settings = settings
        return await serve_app(app)

    return start


class Client:
    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url, self.http = url, http

    async def login(self, email: str, password: str, tenant: str, address: str) -> dict[str, Any]:
        variables = {"input": {"email": email, "password": password, "tenant": tenant}}
        body = {"query": LOGIN_RETRY, "variables": variables}
        headers = gateway_headers(None, client_address=address)
        async with self.http.post(f"{self.url}/graphql", json=body, headers=headers) as resp:
            assert resp.status == 200
            out = await resp.json()
        assert "errors" not in out, out
        payload: dict[str, Any] = out["data"]["login"]
        return payload


def code(payload: dict[str, Any]) -> str:
    return payload["userErrors"][0]["code"] if payload["userErrors"] else "OK"


async def audit_counts(db: Database, world: World) -> Counter[str]:
    async with db.tenant_session(world.tenant) as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.data["reason"].astext, func.count())
            .where(AuditEntry.subject_type == "login")
            .group_by(text("1"), text("2"))
        )
        return Counter({f"{action}:{reason}": n for action, reason, n in rows})


@pytest.mark.slow
async def test_one_address_guessing_1000_times_gets_ten_checks_then_a_lockout_of_that_address_only(
    orgs_with: Callable[[IdentitySettings], Awaitable[str]], world: World, app_db: Database
) -> None:
    url = await orgs_with(throttle_settings())
    attacker, ghost_attacker, home = "203.0.113.7", "203.0.113.8", "198.51.100.20"
    ghost = f"nobody@{world.slug}.example"
    async with aiohttp.ClientSession() as http:
        client = Client(url, http)
        started = time.monotonic()
        outcomes = [
            await patiently(client.login(world.admin_email, f"guess-{i}", world.slug, attacker))
            for i in range(1000)
        ]
        elapsed = time.monotonic() - started
        codes = [code(o) for o in outcomes]
        counts = Counter(codes)
        # Ten passwords checked in all: 3 free, 6 after growing delays, the 10th locks the address out.
        assert counts == {"INVALID_CREDENTIALS": 10, "TOO_MANY_ATTEMPTS": 990}, counts
        refused = [o for o in outcomes if code(o) == "TOO_MANY_ATTEMPTS"]
        assert all(o["token"] is None and o["retryAfter"] > 0 for o in refused)
        first_delay = next(o for o in outcomes[3:] if code(o) == "TOO_MANY_ATTEMPTS")
        assert first_delay["retryAfter"] <= 0.2 + 0.05  # a delay, not yet the lockout
        assert refused[-1]["retryAfter"] > 60  # locked out for the lockout time
        # The right password from the attacker's address is not even checked...
        retry = await client.login(world.admin_email, PASSWORD, world.slug, attacker)
        assert code(retry) == "TOO_MANY_ATTEMPTS"
        # ...but the real user, from an address that is not locked out, signs in.
        ok = await client.login(world.admin_email, PASSWORD, world.slug, home)
        assert ok["token"] and ok["userErrors"] == []

        # An e-mail nobody has gets exactly the same answers in the same order.
        ghost_codes, mine = [], []
        for i in range(40):  # in lockstep: both are refused (and waited for) at the same steps
            pair = [await client.login(ghost, f"g{i}", world.slug, ghost_attacker),
                    await client.login(world.admin_email, f"g{i}", world.slug, "203.0.113.9")]
            ghost_codes.append(code(pair[0]))
            mine.append(code(pair[1]))
            await wait_out_delays(pair)
        assert ghost_codes == mine and Counter(mine) == {"INVALID_CREDENTIALS": 10, "TOO_MANY_ATTEMPTS": 30}
    assert elapsed < 120, elapsed

    audited = await audit_counts(app_db, world)
    assert audited["login_failed:invalid_credentials"] == 10 + 10 + 10
    assert audited["login_failed:throttled"] == 990 + 1 + 30 + 30
    assert audited["login_succeeded:None"] == 1
    async with app_db.tenant_session(world.tenant) as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "login_succeeded").limit(1)
        )
        assert entry is not None and entry.data["client_address"] == home
        assert entry.subject_id == world.admin_id
        ghosts = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.data["email"].astext == ghost)
        )
        assert ghosts == 40


@pytest.mark.slow
async def test_many_addresses_lock_out_unknown_addresses_but_not_where_the_user_signs_in(
    orgs_with: Callable[[IdentitySettings], Awaitable[str]], world: World, app_db: Database
) -> None:
    url = await orgs_with(throttle_settings())
    office = "198.51.100.5"
    async with aiohttp.ClientSession() as http:
        client = Client(url, http)
        assert code(await client.login(world.admin_email, PASSWORD, world.slug, office)) == "OK"
        outcomes = [
            await patiently(
                client.login(world.admin_email, f"guess-{i}", world.slug, f"10.77.{i // 250}.{i % 250 + 1}")
            )
            for i in range(1000)
        ]
        counts = Counter(code(o) for o in outcomes)
        # 20 free failures account-wide, delays, and the 50th locks the account for unknown addresses.
        assert counts["INVALID_CREDENTIALS"] == 50, counts
        assert counts["TOO_MANY_ATTEMPTS"] == 950, counts
        # A fresh address is refused (even with the right password) while the lockout lasts...
        fresh = await client.login(world.admin_email, PASSWORD, world.slug, "10.78.0.1")
        assert code(fresh) == "TOO_MANY_ATTEMPTS"
        # ...the office, where the user signed in before, is not.
        again = await client.login(world.admin_email, PASSWORD, world.slug, office)
        assert again["token"] and again["userErrors"] == []
    audited = await audit_counts(app_db, world)
    assert audited["login_failed:invalid_credentials"] == 50
    assert audited["login_failed:throttled"] == 951
    assert audited["login_succeeded:None"] == 2


async def test_spraying_many_accounts_from_one_address_locks_the_address(
    orgs_with: Callable[[IdentitySettings], Awaitable[str]], world: World
) -> None:
    url = await orgs_with(throttle_settings(login_address_lockout=15))
    async with aiohttp.ClientSession() as http:
        client = Client(url, http)
        codes = [
            code(await client.login(f"user{i}@{world.slug}.example", "Winter2026!", world.slug, "192.0.2.99"))
            for i in range(30)
        ]
        assert codes == ["INVALID_CREDENTIALS"] * 15 + ["TOO_MANY_ATTEMPTS"] * 15
        locked = await client.login(world.admin_email, PASSWORD, world.slug, "192.0.2.99")
        assert code(locked) == "TOO_MANY_ATTEMPTS"
        assert code(await client.login(world.admin_email, PASSWORD, world.slug, "192.0.2.100")) == "OK"


async def test_a_success_clears_the_delay_and_throttling_is_on_by_default() -> None:
    defaults = IdentitySettings()
    assert defaults.login_throttle and defaults.login_pair_lockout <= 10 and defaults.login_lockout >= 300
