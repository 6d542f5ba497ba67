"""Settings of the identity features (environment prefix `B2B_ORGS_`, like the rest of orgs)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.context import RequestContext


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="B2B_ORGS_", extra="ignore")

    # Login throttling (throttle.py). On by default; counts live in Redis (`REDIS_URL`).
    login_throttle: bool = True
    login_throttle_prefix: str = "orgs:login:"
    login_window: float = Field(default=900.0, gt=0)  # seconds failures are remembered after the last one
    login_lockout: float = Field(default=900.0, gt=0)  # seconds a lockout lasts
    login_delay_base: float = Field(default=1.0, gt=0)  # first delay; doubles with every further failure
    login_delay_max: float = Field(default=300.0, gt=0)
    # One account from one address: free failures, then delays, then that address is locked out.
    login_pair_free: int = Field(default=3, ge=0)
    login_pair_lockout: int = Field(default=10, ge=1)
    # One address, any account (password spraying): locked out after this many failures.
    login_address_lockout: int = Field(default=100, ge=1)
    # One account, any address (a distributed guesser): delays, then a lockout, both only for
    # addresses the user has not signed in from before (so the real user keeps getting in).
    login_account_free: int = Field(default=20, ge=0)
    login_account_lockout: int = Field(default=100, ge=1)
    login_known_address_ttl: float = Field(default=30 * 24 * 3600.0, gt=0)
    login_pending_ttl: float = Field(default=10.0, gt=0)  # one password check at a time per account+address

    # Mail (mail.py): plain SMTP, optionally STARTTLS and login.
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 10.0
    mail_from: str = "no-reply@b2b.example"
    # Links in mails: `<base>?token=...&tenant=...`.
    reset_url: str = "https://portal.b2b.example/reset-password"
    verify_url: str = "https://portal.b2b.example/verify-email"
    reset_token_ttl: int = Field(default=3600, gt=0)
    verify_token_ttl: int = Field(default=3 * 24 * 3600, gt=0)
    mail_interval: int = Field(default=60, ge=1)  # at most one reset / verification mail per account

    # TOTP (mfa.py)
    totp_issuer: str = "B2B Marketplace"
    mfa_challenge_ttl: int = Field(default=300, gt=0)  # seconds between password and code
    recovery_codes: int = Field(default=10, ge=1, le=50)


@lru_cache(maxsize=1)
def get_identity_settings() -> IdentitySettings:
    return IdentitySettings()


def identity_settings(context: RequestContext) -> IdentitySettings:
    """The app's own settings when it was given some (`app.state.identity_settings`, tests), else the
    environment's."""
    request = context.request
    given = getattr(request.app.state, "identity_settings", None) if request is not None else None
    return given if isinstance(given, IdentitySettings) else get_identity_settings()
