"""Through the gateway: the client address a trusted proxy forwards reaches the orgs login throttle and
its audit entries (the e2e gateway trusts 127.0.0.1, where the tests connect from)."""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from tests.e2e.conftest import Stack

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  token retryAfter userErrors { code } } }"""
AUDIT = "{ auditLog(first: 50) { edges { node { action subjectType data } } } }"


async def failed_login(e2e: Stack, email: str, headers: dict[str, str]) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": "wrong password", "tenant": "acme-mro"}}
    reply = await e2e.query(LOGIN, variables, headers=headers)
    assert reply.status == 200 and not reply.errors, reply.body
    payload: dict[str, Any] = reply.data["login"]
    return payload


async def audited_addresses(e2e: Stack, email: str) -> list[str | None]:
    admin = await e2e.login("admin@acme-mro.example")
    reply = await e2e.query(AUDIT, token=admin)
    assert reply.status == 200 and not reply.errors, reply.body
    entries = [orjson.loads(edge["node"]["data"]) for edge in reply.data["auditLog"]["edges"]]
    return [d.get("client_address") for d in entries if d.get("email") == email]


async def test_the_forwarded_client_address_is_throttled_and_audited(e2e: Stack) -> None:
    email = f"nobody-{secrets.token_hex(4)}@northwind.example"
    out = await failed_login(e2e, email, {"x-forwarded-for": "203.0.113.50"})
    assert out["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    # Left of the first untrusted hop is whatever the client wrote: not believed.
    await failed_login(e2e, email, {"x-forwarded-for": "6.6.6.6, 203.0.113.51"})
    await failed_login(e2e, email, {"forwarded": 'for="[2001:db8::7]:4711";proto=https'})
    assert sorted(await audited_addresses(e2e, email)) == ["2001:db8::7", "203.0.113.50", "203.0.113.51"]
