"""Password reset and e-mail verification end to end: the orgs app mails through a real SMTP server on
loopback (aiosmtpd), the test reads the mail, follows the link's token, and checks single use, expiry,
hashing at rest and that a reset ends the user's sessions (session version in Redis)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import redis.asyncio as aioredis
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from shared.db import Database, utcnow
from shared.settings import Settings
from subgraphs.orgs.app import create_app
from subgraphs.orgs.config import get_orgs_settings
from subgraphs.orgs.identity import recovery
from subgraphs.orgs.identity.config import IdentitySettings
from subgraphs.orgs.identity.models import IdentityToken
from tests.conftest import ServiceUrls, free_port
from tests.subgraphs.orgs.helpers import PASSWORD, World, gql, login


class Inbox:
    """aiosmtpd handler: every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    async def wait(self, count: int) -> list[Message]:
        deadline = asyncio.get_running_loop().time() + 15.0
        while len(self.messages) < count:
            assert asyncio.get_running_loop().time() < deadline, f"{len(self.messages)} of {count} mails"
            await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def mailing_orgs(
    seeded: str, app_db: Database, serve_app: Callable[[Any], Awaitable[str]], smtp: tuple[Inbox, int]
) -> AsyncIterator[str]:
    app = create_app(Settings(), database=app_db)
    app.state.identity_settings = IdentitySettings(
        login_throttle_prefix=f"test:{uuid.uuid4().hex}:",
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        mail_from="identity@b2b.test",
        reset_url="https://portal.test/reset",
        verify_url="https://portal.test/verify",
        mail_interval=1,
    )
    yield await serve_app(app)
    await recovery.drain()


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def token_in(message: Message, base: str) -> tuple[str, str]:
    link = re.search(re.escape(base) + r"\?\S+", body_of(message))
    assert link, body_of(message)
    query = parse_qs(urlparse(link.group(0)).query)
    return query["tenant"][0], query["token"][0]


RESET_REQUEST = """mutation($input: PasswordResetRequestInput!) {
  passwordResetRequest(input: $input) { ok userErrors { code } } }"""
RESET = """mutation($input: PasswordResetInput!) {
  passwordReset(input: $input) { ok userErrors { field code } } }"""
VERIFY_REQUEST = "mutation { emailVerificationRequest { ok userErrors { code } } }"
VERIFY = """mutation($input: EmailVerifyInput!) { emailVerify(input: $input) { ok userErrors { code } } }"""


async def anonymous(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await gql(url, None, query, variables)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def test_password_reset_by_mail_is_single_use_and_ends_the_sessions(
    mailing_orgs: str, smtp: tuple[Inbox, int], world: World, app_db: Database, service_urls: ServiceUrls
) -> None:
    inbox, _ = smtp
    url = mailing_orgs
    before = await login(url, world.admin_email, PASSWORD, world.slug)
    assert jwt.decode(before["token"], options={"verify_signature": False})["sv"] == 1

    # Unknown e-mail first: the same answer, and no mail.
    unknown = {"input": {"tenant": world.slug, "email": f"nobody@{world.slug}.example"}}
    assert await anonymous(url, RESET_REQUEST, unknown) == {"ok": True, "userErrors": []}
    known = {"input": {"tenant": world.slug, "email": world.admin_email.upper()}}
    assert await anonymous(url, RESET_REQUEST, known) == {"ok": True, "userErrors": []}
    [mail] = await inbox.wait(1)
    await asyncio.sleep(0.3)
    assert len(inbox.messages) == 1  # nothing went to the unknown address
    assert mail["To"] == world.admin_email and mail["X-Envelope-To"] == world.admin_email
    assert mail["From"] == "identity@b2b.test" and mail["Subject"] == "Reset your password"
    assert "within 60 minutes" in body_of(mail) and world.admin_email in body_of(mail)
    tenant, token = token_in(mail, "https://portal.test/reset")
    assert tenant == world.slug and len(token) >= 40

    # Only the hash is stored.
    async with app_db.tenant_session(world.tenant) as session:
        rows = list(
            await session.scalars(select(IdentityToken).where(IdentityToken.user_id == world.admin_id))
        )
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in (r.token_hash, r.email) for r in rows)

    weak = await anonymous(url, RESET, {"input": {"tenant": tenant, "token": token, "password": "short"}})
    assert weak == {"ok": False, "userErrors": [{"field": ["password"], "code": "WEAK_PASSWORD"}]}
    new_password = "a brand new passphrase"
    reset = {"input": {"tenant": tenant, "token": token, "password": new_password}}
    assert await anonymous(url, RESET, reset) == {"ok": True, "userErrors": []}
    replay = await anonymous(url, RESET, {"input": {**reset["input"], "password": "another new passphrase"}})
    assert replay == {"ok": False, "userErrors": [{"field": ["token"], "code": "INVALID_TOKEN"}]}

    # Old password out, new one in; the session version went up, so tokens issued before are refused.
    assert (await login(url, world.admin_email, PASSWORD, world.slug))["userErrors"][0]["code"] == (
        "INVALID_CREDENTIALS"
    )
    after = await login(url, world.admin_email, new_password, world.slug)
    assert jwt.decode(after["token"], options={"verify_signature": False})["sv"] == 2
    redis = aioredis.from_url(service_urls.redis_url)
    try:
        published = await redis.hget(get_orgs_settings().session_versions_key, str(world.admin_id))
    finally:
        await redis.aclose()
    assert published is not None and int(published) == 2  # the gateway's rule: sv 1 < 2, refused

    # An expired link (after the 1 s mail interval of these settings: a second mail within it is dropped).
    await asyncio.sleep(1.2)
    await anonymous(url, RESET_REQUEST, known)
    await inbox.wait(2)
    _, late = token_in(inbox.messages[1], "https://portal.test/reset")
    async with app_db.tenant_session(world.tenant) as session:
        await session.execute(
            update(IdentityToken)
            .where(IdentityToken.token_hash == recovery.token_hash(late))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await anonymous(
        url, RESET, {"input": {"tenant": tenant, "token": late, "password": new_password}}
    )
    assert expired["userErrors"] == [{"field": ["token"], "code": "TOKEN_EXPIRED"}]
    forged = await anonymous(
        url, RESET, {"input": {"tenant": tenant, "token": "x" * 43, "password": new_password}}
    )
    assert forged["userErrors"] == [{"field": ["token"], "code": "INVALID_TOKEN"}]


async def test_email_verification_by_mail(mailing_orgs: str, smtp: tuple[Inbox, int], world: World) -> None:
    inbox, _ = smtp
    url = mailing_orgs
    me = "{ me { email emailVerified } }"
    assert (await gql(url, world.tenant, me, **world.admin()))["data"]["me"]["emailVerified"] is False
    sent = await gql(url, world.tenant, VERIFY_REQUEST, **world.admin())
    assert sent["data"]["emailVerificationRequest"] == {"ok": True, "userErrors": []}
    [mail] = await inbox.wait(1)
    assert mail["To"] == world.admin_email and mail["Subject"] == "Confirm your e-mail address"
    tenant, token = token_in(mail, "https://portal.test/verify")
    assert await anonymous(url, VERIFY, {"input": {"tenant": tenant, "token": token}}) == {
        "ok": True,
        "userErrors": [],
    }
    assert (await gql(url, world.tenant, me, **world.admin()))["data"]["me"]["emailVerified"] is True
    again = await anonymous(url, VERIFY, {"input": {"tenant": tenant, "token": token}})
    assert again["userErrors"] == [{"code": "INVALID_TOKEN"}]
    # A reset token is no verification token, and a verified user gets no second mail.
    assert (await gql(url, world.tenant, VERIFY_REQUEST, **world.admin()))["data"][
        "emailVerificationRequest"
    ]["userErrors"] == [{"code": "ALREADY_VERIFIED"}]
