"""Request credentials -> Principal: a bearer JWT verified against the JWKS, an API key, or anonymous.

Claims contract of the JWTs (issued by the orgs subgraph): ``sub`` (user id), ``tenant_id`` (or
``tid``), ``org_id`` (or ``organization_id``), ``roles`` (list), ``scope`` (space-separated, OAuth 2)
or ``scopes`` (list), ``exp`` (required), ``iat``/``nbf`` (optional), ``iss``/``aud`` (checked when
configured), ``sv`` (session version: refused when below the version stored for its user, who was
deactivated since; see session_versions.py). Only asymmetric algorithms of the allow-list are
accepted: ``alg: none`` and HMAC (``HS*``, which a public JWKS key could be abused to "sign") never are.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from gateway.auth.api_keys import ApiKeyResolver, principal_for_key
from gateway.auth.jwks import JWKSCache, JWKSUnavailableError
from gateway.auth.principal import (
    ANONYMOUS,
    AuthenticationError,
    AuthUnavailableError,
    ForbiddenHeaderError,
    Principal,
)
from gateway.auth.session_versions import (
    MalformedSessionVersionError,
    SessionVersions,
    token_session_version,
)
from gateway.http.lru import LRUCache
from shared.gateway_context import HEADER as CONTEXT_HEADER

SUPPORTED_ALGORITHMS = frozenset({"RS256", "EdDSA"})
_TOKEN_CACHE_SECONDS = 60.0  # a verified token is re-verified at least this often


def _str_claim(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _str_set(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    scopes = _str_set(claims.get("scope")) | _str_set(claims.get("scopes")) | _str_set(claims.get("scp"))
    return Principal(
        tenant_id=_str_claim(claims, "tenant_id", "tid"),
        organization_id=_str_claim(claims, "org_id", "organization_id", "oid"),
        user_id=_str_claim(claims, "sub"),
        roles=_str_set(claims.get("roles")),
        scopes=scopes,
        method="jwt",
        credential_id=_str_claim(claims, "jti"),
        claims=dict(claims),
    )


class Authenticator:
    def __init__(
        self,
        *,
        jwks: JWKSCache | None = None,
        api_keys: ApiKeyResolver | None = None,
        algorithms: Iterable[str] = SUPPORTED_ALGORITHMS,
        issuer: str | None = None,
        audience: str | None = None,
        clock_skew: float = 30.0,
        require_authentication: bool = False,
        token_cache_size: int = 4096,
        session_versions: SessionVersions | None = None,
    ) -> None:
        self.jwks = jwks
        self.api_keys = api_keys
        # Deactivated users (docs/auth-contract.md): None (no Redis configured) skips the check.
        self.session_versions = session_versions
        # Whatever is configured, only the asymmetric algorithms we support can be allowed.
        self.algorithms = frozenset(algorithms) & SUPPORTED_ALGORITHMS
        self.issuer = issuer
        self.audience = audience
        self.clock_skew = clock_skew
        self.require_authentication = require_authentication
        self._verified: LRUCache[str, tuple[Principal, float]] = LRUCache(token_cache_size)

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The principal of a request (lower-case header names); raises AuthenticationError."""
        if CONTEXT_HEADER in headers:
            # Only the gateway signs this header; a client sending one is forging or misconfigured.
            raise ForbiddenHeaderError(f"The {CONTEXT_HEADER} header is reserved for the gateway.")
        authorization = headers.get("authorization")
        api_key = headers.get("x-api-key")
        if authorization is not None and api_key is not None:
            raise AuthenticationError("Send either a bearer token or an API key, not both.")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("The Authorization header must be 'Bearer <token>'.")
            return await self.verify_token(token.strip())
        if api_key is not None:
            if self.api_keys is None:
                raise AuthenticationError("API keys are not accepted by this gateway.")
            return await principal_for_key(self.api_keys, api_key.strip())
        if self.require_authentication:
            raise AuthenticationError("Authentication required.")
        return ANONYMOUS

    async def verify_token(self, token: str) -> Principal:
        principal = await self._verify_signature(token)
        if self.session_versions is not None:
            # On every request, also for tokens from the verified-token cache: a deactivation must not
            # wait for that cache (up to 60 s); the session versions have their own <= 1 s cache.
            await self._check_session(self.session_versions, principal)
        return principal

    @staticmethod
    async def _check_session(versions: SessionVersions, principal: Principal) -> None:
        """Refuse a token issued before its user was deactivated (its ``sv`` below the stored one)."""
        if principal.user_id is None:
            return  # no user, nothing a deactivation could name
        try:
            stored = await versions.stored(principal.user_id)
        except MalformedSessionVersionError:
            raise AuthenticationError("Session revoked.") from None
        if stored is not None and token_session_version(principal.claims) < stored:
            raise AuthenticationError("Session revoked.")

    async def _verify_signature(self, token: str) -> Principal:
        cached = self._verified.get(token)
        now = time.time()
        if cached is not None and now < cached[1]:
            return cached[0]
        if self.jwks is None:
            raise AuthenticationError("Bearer tokens are not accepted by this gateway (no JWKS configured).")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("Malformed token.") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise AuthenticationError(f"Token algorithm {alg!r} is not allowed.")
        kid = header.get("kid")
        try:
            key = await self.jwks.key(kid if isinstance(kid, str) else None)
        except JWKSUnavailableError:
            raise AuthUnavailableError("Tokens cannot be verified right now (key set unavailable).") from None
        if key is None:
            raise AuthenticationError("Token signed with an unknown key.")
        if key.algorithm_name != alg:
            raise AuthenticationError("Token algorithm does not match its key.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.clock_skew,
                options={"require": ["exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("Token expired.") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"Invalid token: {exc}.") from None
        principal = principal_from_claims(claims)
        expires = float(claims["exp"]) + self.clock_skew
        self._verified.put(token, (principal, min(expires, now + _TOKEN_CACHE_SECONDS)))
        return principal

    async def close(self) -> None:
        if self.jwks is not None:
            await self.jwks.close()
        if self.session_versions is not None:
            await self.session_versions.close()  # before the key resolver: it may share its client
        if self.api_keys is not None:
            await self.api_keys.close()
