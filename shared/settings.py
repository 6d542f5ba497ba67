"""Process-wide settings, read once from the environment.

Every knob has a default that works for local development; production sets the secrets.
Environment variables use the `B2B_` prefix (`B2B_GATEWAY_SECRET`, `B2B_APP_DB_ROLE`, ...); the
three service URLs are also read un-prefixed (`DATABASE_URL`, `NATS_URL`, `REDIS_URL`), the names
every tool and container platform uses.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_GATEWAY_SECRET = "dev-only-gateway-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="B2B_", extra="ignore", populate_by_name=True)

    # Service URLs. DATABASE_URL is the *owner* (migration) URL; subgraphs connect as the
    # application role derived from it (see shared.db.app_database_url).
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/b2b",
        validation_alias=AliasChoices("B2B_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("B2B_NATS_URL", "NATS_URL", "nats_url"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("B2B_REDIS_URL", "REDIS_URL", "redis_url"),
    )

    # The non-superuser, non-BYPASSRLS role the subgraphs use; created by the migrations.
    app_db_role: str = "b2b_app"
    app_db_password: str = "b2b_app"
    # Per process: 7 subgraphs x (pool + overflow) must stay under PostgreSQL's max_connections (100).
    db_pool_size: int = 5
    db_echo: bool = False
    # Checking each pooled connection before use costs a round trip per transaction; off by default
    # (connections are recycled every 30 minutes, and a dead one fails one request).
    db_pool_pre_ping: bool = False
    db_statement_timeout_ms: int = 30_000

    # HMAC secret shared by the gateway and the subgraphs for the signed `x-gateway-context`.
    gateway_secret: str = DEV_GATEWAY_SECRET
    # How long a signed context stays valid (seconds); the gateway signs one per subgraph request.
    gateway_context_ttl: float = 60.0
    # Subgraphs refuse requests without a valid gateway context; turn off only for local debugging
    # (then an `x-tenant-id` header selects the tenant).
    require_gateway_context: bool = True

    # Outbox relay: runs inside every subgraph process that has an outbox.
    outbox_relay_enabled: bool = True
    # Events committed in this process wake the relay at once; the poll catches the rest (other
    # processes, seeds).
    outbox_poll_interval: float = 1.0
    outbox_batch_size: int = 100
    # JetStream duplicate window: a re-published event id inside it is dropped by the server.
    event_duplicate_window: float = 120.0
    # Copies of each stream in a JetStream cluster (3 on a 3-node cluster: a node may die); 1 alone.
    event_stream_replicas: int = Field(default=1, ge=1, le=5)

    # Relay connections: default and maximum page sizes.
    page_size_default: int = 20
    page_size_max: int = 100

    @property
    def nats_servers(self) -> list[str]:
        """`NATS_URL` may list several servers of one cluster, comma-separated; clients try each
        (and learn the rest of the cluster from the first one that answers)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def gateway_secret_bytes(self) -> bytes:
        return self.gateway_secret.encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
