"""Gateway settings, read from the environment (prefix ``GATEWAY_``) and overridden by the CLI."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewayConfig(BaseSettings):
    """Everything the gateway process needs besides the supergraph itself.

    ``GATEWAY_SUBGRAPH_TIMEOUT=5`` sets ``subgraph_timeout``; dict fields take JSON
    (``GATEWAY_SUBGRAPH_HEADERS='{"x-gateway": "1"}'``).
    """

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    supergraph: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"

    # Subgraph calls (handed to gateway.engine.Gateway).
    subgraph_timeout: float = Field(default=30.0, gt=0)
    subgraph_headers: dict[str, str] = Field(default_factory=dict)

    # Request limits enforced by the HTTP layer before any parsing work.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_query_tokens: int = Field(default=15_000, ge=100)
    max_variables_errors: int = Field(default=50, ge=1)

    # Caches keyed by query text (the schema never changes during a process's life).
    parse_cache_size: int = Field(default=1_000, ge=0)
    validation_cache_size: int = Field(default=1_000, ge=0)

    # Developer features.
    graphiql: bool = True
    allow_explain: bool = True  # honour the x-query-plan request header
