"""Signing keys and tokens for the auth tests, and a JWKS server serving the public halves."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ISSUER = "https://orgs.test"
AUDIENCE = "b2b-gateway"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        algo = RSAAlgorithm if self.alg == "RS256" else OKPAlgorithm
        data: dict[str, Any] = algo.to_jwk(public, as_dict=True)  # type: ignore[attr-defined]
        return {**data, "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **header})


def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ed_key(kid: str) -> SigningKey:
    return SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())


def claims(
    *,
    tenant: str | None = "ta",
    scopes: str = "",
    roles: list[str] | None = None,
    sub: str = "ua",
    org: str | None = "oa1",
    ttl: float = 300,
    **extra: Any,
) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {
        "sub": sub,
        "tenant_id": tenant,
        "org_id": org,
        "roles": roles or [],
        "scope": scopes,
        "iat": now,
        "exp": int(now + ttl),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    out.update(extra)
    return out


def unsigned_token(payload: dict[str, Any], kid: str) -> str:
    """An ``alg: none`` token (what PyJWT refuses to produce for us)."""

    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(payload)}."


@dataclass
class JWKSServer:
    keys: list[SigningKey] = field(default_factory=list)
    fetches: int = 0

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/.well-known/jwks.json", self._jwks)])

    async def _jwks(self, request: Request) -> JSONResponse:
        self.fetches += 1
        return JSONResponse({"keys": [k.jwk() for k in self.keys]})
