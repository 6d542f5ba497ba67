"""TOTP second factor end to end on the orgs app: enrolment, login in two steps, replay guard, recovery
codes (single use), the organization's policy (enrolment during login) and the challenge's limits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pyotp
import pytest

from shared.db import Database
from shared.settings import Settings
from subgraphs.orgs.app import create_app
from subgraphs.orgs.identity.config import IdentitySettings
from tests.subgraphs.orgs.helpers import PASSWORD, World, gql

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  token mfaRequired mfaEnrollmentRequired mfaToken userErrors { code } } }"""
LOGIN_MFA = """mutation($input: LoginMfaInput!) { loginMfa(input: $input) { token userErrors { code } } }"""
ENROLL = """mutation($input: TotpEnrollInput) { totpEnroll(input: $input) {
  secret otpauthUri userErrors { code } } }"""
CONFIRM = """mutation($input: TotpConfirmInput!) { totpConfirm(input: $input) {
  recoveryCodes login { token } userErrors { code } } }"""
DISABLE = """mutation($input: TotpDisableInput!) { totpDisable(input: $input) { ok userErrors { code } } }"""
POLICY = """mutation($input: OrganizationMfaPolicyInput!) {
  organizationMfaPolicySet(input: $input) { ok userErrors { code } } }"""


@pytest.fixture
async def orgs(seeded: str, app_db: Database, serve_app: Callable[[Any], Awaitable[str]]) -> str:
    app = create_app(Settings(), database=app_db)
    app.state.identity_settings = IdentitySettings(
        login_throttle_prefix=f"test:{uuid.uuid4().hex}:", login_pair_free=50, login_pair_lockout=60
    )
    return await serve_app(app)


async def call(url: str, query: str, variables: dict[str, Any] | None, world: World | None = None) -> Any:
    if world is None:
        body = await gql(url, None, query, variables)
    else:
        body = await gql(url, world.tenant, query, variables, **world.admin())
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def password_step(url: str, world: World) -> dict[str, Any]:
    variables = {"input": {"email": world.admin_email, "password": PASSWORD, "tenant": world.slug}}
    payload: dict[str, Any] = await call(url, LOGIN, variables)
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_totp_login_recovery_codes_and_policy(orgs: str, world: World) -> None:
    url = orgs
    # Enrol as a signed-in user.
    enrolled = await call(url, ENROLL, None, world)
    assert enrolled["userErrors"] == [] and world.admin_email.replace("@", "%40") in enrolled["otpauthUri"]
    totp = pyotp.TOTP(enrolled["secret"])
    wrong = await call(
        url, CONFIRM, {"input": {"code": "000000" if totp.now() != "000000" else "111111"}}, world
    )
    assert codes(wrong) == ["INVALID_MFA_CODE"]
    confirmed_at = time.time()
    confirmed = await call(url, CONFIRM, {"input": {"code": totp.at(confirmed_at)}}, world)
    recovery = confirmed["recoveryCodes"]
    assert confirmed["userErrors"] == [] and len(recovery) == 10 and len(set(recovery)) == 10

    # The password alone no longer signs in.
    first = await password_step(url, world)
    assert (
        first["token"] is None
        and first["mfaRequired"]
        and first["mfaToken"]
        and not first["mfaEnrollmentRequired"]
    )
    mfa_token = first["mfaToken"]
    replay = await call(url, LOGIN_MFA, {"input": {"mfaToken": mfa_token, "code": totp.at(confirmed_at)}})
    assert codes(replay) == ["INVALID_MFA_CODE"]  # the confirming code was used up
    next_step = totp.at(confirmed_at + 30)  # one step ahead: within the tolerated drift
    done = await call(url, LOGIN_MFA, {"input": {"mfaToken": mfa_token, "code": next_step}})
    assert done["userErrors"] == [] and done["token"]
    assert jwt.decode(done["token"], options={"verify_signature": False})["amr"] == ["pwd", "otp"]
    again = await call(url, LOGIN_MFA, {"input": {"mfaToken": mfa_token, "code": next_step}})
    assert codes(again) == ["INVALID_MFA_TOKEN"]  # a challenge is single use

    # A recovery code works once.
    with_recovery = await password_step(url, world)
    ok = await call(url, LOGIN_MFA, {"input": {"mfaToken": with_recovery["mfaToken"], "code": recovery[0]}})
    assert ok["token"] and jwt.decode(ok["token"], options={"verify_signature": False})["amr"] == [
        "pwd",
        "mfa",
    ]
    reused = await password_step(url, world)
    refused = await call(url, LOGIN_MFA, {"input": {"mfaToken": reused["mfaToken"], "code": recovery[0]}})
    assert codes(refused) == ["INVALID_MFA_CODE"]

    # Five wrong codes end the challenge.
    guessed = await password_step(url, world)
    for _ in range(5):
        out = await call(url, LOGIN_MFA, {"input": {"mfaToken": guessed["mfaToken"], "code": "12345x"}})
    assert codes(out) == ["INVALID_MFA_CODE"]
    gone = await call(url, LOGIN_MFA, {"input": {"mfaToken": guessed["mfaToken"], "code": recovery[1]}})
    assert codes(gone) == ["INVALID_MFA_TOKEN"]

    # Off again (with a recovery code), then the organization requires it: enrolment during login.
    assert (await call(url, DISABLE, {"input": {"code": recovery[2]}}, world)) == {
        "ok": True,
        "userErrors": [],
    }
    assert (await password_step(url, world))["token"]  # password only, while no policy applies
    policy = {"input": {"organizationId": str(world.org), "required": True}}
    assert (await call(url, POLICY, policy, world)) == {"ok": True, "userErrors": []}
    step = await password_step(url, world)
    assert step["token"] is None and step["mfaEnrollmentRequired"] and not step["mfaRequired"]
    early = await call(url, LOGIN_MFA, {"input": {"mfaToken": step["mfaToken"], "code": "123456"}})
    assert codes(early) == ["MFA_ENROLLMENT_REQUIRED"]
    during = await call(url, ENROLL, {"input": {"mfaToken": step["mfaToken"]}})
    fresh = pyotp.TOTP(during["secret"])
    finished = await call(url, CONFIRM, {"input": {"code": fresh.now(), "mfaToken": step["mfaToken"]}})
    assert (
        finished["userErrors"] == [] and len(finished["recoveryCodes"]) == 10 and finished["login"]["token"]
    )
    keep = await call(url, DISABLE, {"input": {"code": finished["recoveryCodes"][0]}}, world)
    assert codes(keep) == ["MFA_REQUIRED"]
