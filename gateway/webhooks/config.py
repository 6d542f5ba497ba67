"""Settings of the webhook dispatcher (environment prefix `GATEWAY_WEBHOOK_`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_WEBHOOK_", extra="ignore")

    # Retries: the n-th failure waits min(retry_base * 2**(n-1), retry_max_delay) times a random factor
    # in [0.5, 1] (jitter), until retry_window seconds after the delivery was queued: then it is dead.
    retry_base: float = 30.0
    retry_max_delay: float = 3600.0
    retry_window: float = 24 * 3600.0
    request_timeout: float = 10.0  # seconds for one POST (connect + answer)
    concurrency: int = 32  # POSTs in flight per dispatcher process
    batch_size: int = 100  # due deliveries claimed per round
    poll_interval: float = 1.0  # seconds between rounds when idle (new events wake it at once)
    # An endpoint's subscription is owned by one dispatcher process at a time (a lease in Postgres).
    lease_seconds: float = 30.0
    resubscribe_delay: float = 2.0  # after the subgraph stream ended or failed
    refused_retry_delay: float = 60.0  # after the gateway refused the endpoint's document
    allow_loopback: bool = False  # dev and tests: loopback receivers (private networks never)
    max_body_bytes: int = 1_000_000  # larger payloads are dead letters at once
