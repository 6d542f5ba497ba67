"""The signed gateway context: round trip, expiry, forgery, tampering, malformed headers."""

from __future__ import annotations

import base64
import json

import pytest

from shared.gateway_context import GatewayContextError, Principal, sign_context, verify_context

SECRET = b"test-secret"
PRINCIPAL = Principal(
    tenant_id="6b0f7d4e-4c63-4f0c-9a55-1f1b4a6f0c01",
    organization_id="org-1",
    user_id="user-1",
    roles=("buyer", "approver"),
    scopes=("orders:write", "catalog:read"),
)


def test_round_trip() -> None:
    header = sign_context(PRINCIPAL, SECRET, ttl=30, now=1000.0, nonce="n1")
    ctx = verify_context(header, SECRET, now=1010.0)
    assert ctx.principal == PRINCIPAL
    assert ctx.issued_at == 1000 and ctx.expires_at == 1030
    assert ctx.nonce == "n1"
    assert ctx.tenant_id == PRINCIPAL.tenant_id


def test_anonymous_principal_round_trips() -> None:
    ctx = verify_context(sign_context(Principal(), SECRET), SECRET)
    assert ctx.principal == Principal()


def test_nonce_makes_every_header_unique() -> None:
    assert sign_context(PRINCIPAL, SECRET, now=1.0) != sign_context(PRINCIPAL, SECRET, now=1.0)


def test_expired() -> None:
    header = sign_context(PRINCIPAL, SECRET, ttl=30, now=1000.0)
    verify_context(header, SECRET, now=1034.0)  # inside the leeway
    with pytest.raises(GatewayContextError, match="expired"):
        verify_context(header, SECRET, now=1036.0)


def test_issued_in_the_future() -> None:
    header = sign_context(PRINCIPAL, SECRET, ttl=30, now=2000.0)
    with pytest.raises(GatewayContextError, match="future"):
        verify_context(header, SECRET, now=1000.0)


def test_forged_with_another_secret() -> None:
    header = sign_context(PRINCIPAL, b"attacker-secret")
    with pytest.raises(GatewayContextError, match="signature"):
        verify_context(header, SECRET)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_tampered_payload_keeps_old_signature() -> None:
    version, payload, signature = sign_context(PRINCIPAL, SECRET).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tid"] = "00000000-0000-0000-0000-000000000000"  # try to switch tenant
    tampered = f"{version}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(GatewayContextError, match="signature"):
        verify_context(tampered, SECRET)
    claims["scp"] = ["*"]
    with pytest.raises(GatewayContextError, match="signature"):
        verify_context(f"{version}.{_b64(json.dumps(claims).encode())}.{signature}", SECRET)


def test_tampered_signature() -> None:
    version, payload, signature = sign_context(PRINCIPAL, SECRET).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(GatewayContextError, match="signature"):
        verify_context(f"{version}.{payload}.{flipped}", SECRET)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "v1.only-two", "v2.abc.def", "v1.a.b.c", "v1.!!!.***", "v1..", "v1.e30.%%%"],
)
def test_malformed(header: str) -> None:
    with pytest.raises(GatewayContextError):
        verify_context(header, SECRET)


def test_signed_but_malformed_claims_are_rejected() -> None:
    import hashlib
    import hmac

    for claims in (
        [1, 2],
        {"iat": 1},
        {"iat": 1, "exp": 10**12, "rol": "admin"},
        {"iat": 1, "exp": 10**12, "tid": 5},
    ):
        payload = _b64(json.dumps(claims).encode())
        sig = _b64(hmac.new(SECRET, f"v1.{payload}".encode(), hashlib.sha256).digest())
        with pytest.raises(GatewayContextError, match="malformed"):
            verify_context(f"v1.{payload}.{sig}", SECRET)
