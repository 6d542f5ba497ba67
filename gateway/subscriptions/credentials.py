"""Days-long connections re-check their credentials: an expired token, a revoked API key or credentials
that now stand for another principal end the connection (the client reconnects and resumes)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.auth.principal import ANONYMOUS, AuthenticationError, AuthUnavailableError, Principal
from gateway.engine import Gateway


class CredentialsExpired(Exception):
    """An open connection's credentials stopped verifying (token expired, key revoked) or changed."""

    def __init__(self, error: AuthenticationError | None) -> None:
        super().__init__(
            str(error) if error is not None else "The credentials now stand for another principal."
        )
        self.status = error.status if error is not None else 401
        self.code = error.code if error is not None else "UNAUTHENTICATED"


async def recheck_credentials(
    gateway: Gateway, headers: Mapping[str, str], principal: Principal | None
) -> None:
    """Raise CredentialsExpired unless ``headers`` still authenticate as ``principal``. A key store or key
    set that cannot be reached keeps the connection (a blip must not drop every partner's stream)."""
    auth = gateway.auth
    if auth is None:
        return
    try:
        current = await auth.authenticate(headers)
    except AuthUnavailableError:
        return
    except AuthenticationError as exc:
        raise CredentialsExpired(exc) from None
    if current != (principal or ANONYMOUS):
        raise CredentialsExpired(None)
