"""Settings of the orgs subgraph's auth features (environment prefix `B2B_ORGS_`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY_ENCRYPTION_KEY = "dev-only-orgs-key-encryption-key-change-me"


class OrgsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="B2B_ORGS_", extra="ignore")

    # Seals the private signing keys at rest (AES-256-GCM, key = SHA-256 of this). Set it in production.
    key_encryption_key: str = DEV_KEY_ENCRYPTION_KEY
    jwt_issuer: str = "b2b-orgs"
    jwt_audience: str = "b2b-gateway"
    token_ttl: int = 900  # seconds an access token is valid
    # A retired key stays in the JWKS this long after the last token it signed can expire (clock skew,
    # gateways' cached key sets).
    jwks_grace: int = 300
    api_key_touch_interval: int = 60  # lastUsedAt is written at most this often per key
    invitation_ttl: int = 7 * 24 * 3600
    # Redis keys the gateway reads (docs/auth-contract.md).
    session_versions_key: str = "gateway:session-versions"
    api_key_cache_prefix: str = "gateway:api-key-cache:"
    # Webhook URLs on loopback (127.0.0.1, ::1, localhost) are refused unless this is set (dev, tests);
    # private networks always are (shared/webhook_urls.py).
    webhook_allow_loopback: bool = False


@lru_cache(maxsize=1)
def get_orgs_settings() -> OrgsSettings:
    return OrgsSettings()
