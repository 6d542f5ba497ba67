"""The signed context the gateway sends to every subgraph request (`x-gateway-context`).

Format: `v1.<base64url(compact JSON)>.<base64url(HMAC-SHA256(secret, "v1." + payload))>`.
The JSON holds the principal (tenant, organization, user, roles, scopes), `iat`/`exp` (unix
seconds) and a random `nonce`. Subgraphs accept a request only with a context that verifies, so the
gateway's authentication and authorization cannot be bypassed by calling a subgraph directly.
Contexts are short-lived (seconds); there is no nonce store, so a stolen header is replayable until
it expires: keep subgraphs on a private network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

HEADER = "x-gateway-context"
VERSION = "v1"
# Clock skew tolerated between the gateway and a subgraph, in seconds.
LEEWAY = 5.0


class GatewayContextError(Exception):
    """The context is missing, malformed, forged or expired; the message says which."""


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str | None = None
    organization_id: str | None = None
    user_id: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class GatewayContext:
    principal: Principal
    issued_at: float
    expires_at: float
    nonce: str = field(default="")
    # The end client's address as the gateway determined it (trusted proxies, docs/identity.md);
    # None when the gateway did not say. For login throttling and audit entries.
    client_address: str | None = None

    @property
    def tenant_id(self) -> str | None:
        return self.principal.tenant_id


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, signed: str) -> bytes:
    return hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest()


def sign_context(
    principal: Principal,
    secret: bytes,
    *,
    ttl: float = 60.0,
    now: float | None = None,
    nonce: str | None = None,
    client_address: str | None = None,
) -> str:
    """The header value for `principal`, valid for `ttl` seconds from `now`."""
    issued = time.time() if now is None else now
    claims: dict[str, Any] = {
        "tid": principal.tenant_id,
        "oid": principal.organization_id,
        "uid": principal.user_id,
        "rol": list(principal.roles),
        "scp": list(principal.scopes),
        "iat": int(issued),
        "exp": int(issued + ttl),
        "non": nonce or secrets.token_urlsafe(12),
    }
    if client_address:
        claims["cip"] = client_address
    payload = _b64encode(orjson.dumps(claims))
    signed = f"{VERSION}.{payload}"
    return f"{signed}.{_b64encode(_mac(secret, signed))}"


def _str_or_none(claims: dict[str, Any], key: str) -> str | None:
    value = claims.get(key)
    if value is None or isinstance(value, str):
        return value
    raise GatewayContextError(f"malformed gateway context: {key} is not a string")


def _str_tuple(claims: dict[str, Any], key: str) -> tuple[str, ...]:
    value = claims.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GatewayContextError(f"malformed gateway context: {key} is not a list of strings")
    return tuple(value)


def verify_context(header: str, secret: bytes, now: float | None = None) -> GatewayContext:
    """Check signature first (constant time), then expiry; return the context or raise."""
    if not header:
        raise GatewayContextError("missing gateway context")
    parts = header.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise GatewayContextError("malformed gateway context")
    version, payload, signature = parts
    try:
        given = _b64decode(signature)
    except (binascii.Error, ValueError) as exc:
        raise GatewayContextError("malformed gateway context signature") from exc
    if not hmac.compare_digest(given, _mac(secret, f"{version}.{payload}")):
        raise GatewayContextError("invalid gateway context signature")
    try:
        claims = orjson.loads(_b64decode(payload))
    except (binascii.Error, ValueError) as exc:
        raise GatewayContextError("malformed gateway context payload") from exc
    if not isinstance(claims, dict):
        raise GatewayContextError("malformed gateway context payload")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise GatewayContextError("malformed gateway context: iat/exp missing")
    current = time.time() if now is None else now
    if current > exp + LEEWAY:
        raise GatewayContextError("expired gateway context")
    if iat > current + LEEWAY:
        raise GatewayContextError("gateway context issued in the future")
    principal = Principal(
        tenant_id=_str_or_none(claims, "tid"),
        organization_id=_str_or_none(claims, "oid"),
        user_id=_str_or_none(claims, "uid"),
        roles=_str_tuple(claims, "rol"),
        scopes=_str_tuple(claims, "scp"),
    )
    nonce = claims.get("non")
    return GatewayContext(
        principal=principal,
        issued_at=float(iat),
        expires_at=float(exp),
        nonce=nonce if isinstance(nonce, str) else "",
        client_address=_str_or_none(claims, "cip"),
    )
