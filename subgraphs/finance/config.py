"""Settings of the finance process (environment, `B2B_FINANCE_` prefix)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class FinanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="B2B_FINANCE_", extra="ignore")

    # HMAC secret of the built-in sandbox provider's webhooks (set it outside development).
    sandbox_webhook_secret: str = "dev-only-sandbox-webhook-secret"
    # Seconds a webhook's signed timestamp may differ from our clock.
    webhook_tolerance: float = 300.0
    # How often the sweepers (overdue invoices, due settlements) run, seconds.
    sweep_interval: float = 60.0


@lru_cache(maxsize=1)
def get_finance_settings() -> FinanceSettings:
    return FinanceSettings()
