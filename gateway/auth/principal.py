"""Who is asking: the Principal built by authentication and read by authorization and the tenant guard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.gateway_context import Principal as ContextPrincipal

ANONYMOUS_METHOD = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated (or anonymous) caller.

    ``method`` says how it was established ("jwt", "api_key", "anonymous"); ``credential_id`` is the
    token's ``jti`` or the API key's id (for logs, never a secret). ``claims`` holds the remaining
    token claims / key attributes: inputs for policy functions.
    """

    tenant_id: str | None = None
    organization_id: str | None = None
    user_id: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    method: str = ANONYMOUS_METHOD
    credential_id: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def authenticated(self) -> bool:
        return self.method != ANONYMOUS_METHOD

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def for_subgraphs(self) -> ContextPrincipal:
        """The part of the principal the signed gateway context carries to subgraphs."""
        return ContextPrincipal(
            tenant_id=self.tenant_id,
            organization_id=self.organization_id,
            user_id=self.user_id,
            roles=tuple(sorted(self.roles)),
            scopes=tuple(sorted(self.scopes)),
        )


ANONYMOUS = Principal()


class AuthenticationError(Exception):
    """The request carries credentials that do not verify (401, ``UNAUTHENTICATED``)."""

    code = "UNAUTHENTICATED"
    status = 401


class AuthUnavailableError(AuthenticationError):
    """Credentials cannot be checked right now (key set or key store down): 503, retry later."""

    status = 503


class ForbiddenHeaderError(AuthenticationError):
    """The client sent a header only the gateway may set (403, ``FORBIDDEN``)."""

    code = "FORBIDDEN"
    status = 403
