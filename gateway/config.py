"""Gateway settings, read from the environment (prefix ``GATEWAY_``) and overridden by the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewayConfig(BaseSettings):
    """Everything the gateway process needs besides the supergraph itself.

    ``GATEWAY_SUBGRAPH_TIMEOUT=5`` sets ``subgraph_timeout``; dict fields take JSON
    (``GATEWAY_SUBGRAPH_HEADERS='{"x-gateway": "1"}'``).
    """

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    # production: introspection, GraphiQL, query-plan explain and "Did you mean" suggestions default to
    # off (each can still be set explicitly); docs/safety.md "Production mode".
    env: Literal["development", "production"] = "development"
    supergraph: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: str = "info"
    supergraph_poll_interval: float = Field(default=0.0, ge=0)  # reload the file when it changes; 0: off
    log_requests: bool = False  # one JSON line per GraphQL request (status, duration, operation, tenant)

    # Subgraph calls (handed to gateway.engine.Gateway).
    subgraph_timeout: float = Field(default=30.0, gt=0)
    subgraph_headers: dict[str, str] = Field(default_factory=dict)
    # Resilience (gateway/resilience/, docs/operations.md): by subgraph name, JSON in the environment.
    subgraph_timeouts: dict[str, float] = Field(default_factory=dict)  # overrides subgraph_timeout
    subgraph_connection_limits: dict[str, int] = Field(default_factory=dict)  # concurrent calls at most
    breaker_failure_threshold: int = Field(default=5, ge=0)  # failures in the window that open; 0: off
    breaker_window: float = Field(default=10.0, gt=0)
    breaker_open_seconds: float = Field(default=5.0, gt=0)  # then one half-open probe
    subgraph_retries: int = Field(default=2, ge=0)  # queries only, fast failures only
    subgraph_retry_backoff: float = Field(default=0.05, ge=0)  # full jitter, doubling per attempt
    subgraph_retry_budget: float = Field(default=0.2, ge=0)  # retries per request, on average at most

    # Request limits enforced by the HTTP layer before any parsing work.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_query_tokens: int = Field(default=15_000, ge=100)
    max_variables_errors: int = Field(default=50, ge=1)

    # Caches keyed by query text (the schema never changes during a process's life).
    parse_cache_size: int = Field(default=1_000, ge=0)
    validation_cache_size: int = Field(default=1_000, ge=0)
    # Byte budgets of those caches (estimated bytes of what each entry keeps alive; LRU eviction by bytes).
    # Their sum (128 MiB; the process grows ~1.75-2.2x the estimate) keeps a process under ~400 MiB
    # RSS however many distinct operations arrive (docs/performance.md, "Memory").
    parse_cache_mib: float = Field(default=24, gt=0)  # parsed documents
    validation_cache_mib: float = Field(default=4, gt=0)  # validation errors
    plan_cache_mib: float = Field(default=48, gt=0)  # query plans (+ 1/16 for @skip/@include variables)
    shape_cache_mib: float = Field(default=24, gt=0)  # compiled response shaping
    limits_cache_mib: float = Field(default=4, gt=0)  # operation-limit verdicts and costs
    auth_cache_mib: float = Field(default=16, gt=0)  # documents filtered per set of rights
    apq_cache_mib: float = Field(default=8, gt=0)  # persisted query texts (local copy of Redis)

    # Performance (docs/performance.md).
    inbound_dedup: bool = False  # identical in-flight queries of principals with equal rights share one run
    subgraph_dedup: bool = True  # identical in-flight subgraph queries (same body and rights) share one call
    subgraph_connections: int = Field(default=64, ge=1)  # kept-alive connections per subgraph host
    gc_threshold: int = Field(default=100_000, ge=0)  # gen-0 GC threshold after start-up (0: Python's own)

    # Developer features.
    graphiql: bool = True
    allow_explain: bool = True  # honour the x-query-plan request header

    # Authentication, authorization and the tenant guard (see docs/auth.md).
    auth: bool = True  # off: no principal, no directive enforcement, no signed context (tests only)
    jwks_url: str | None = None  # the orgs subgraph's /.well-known/jwks.json; unset: bearer tokens refused
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "EdDSA"])
    jwt_clock_skew: float = Field(default=30.0, ge=0, le=300)
    jwks_max_age: float = Field(default=300.0, gt=0)  # refetch the key set this often
    jwks_min_refresh_interval: float = Field(default=10.0, ge=0)  # unknown kid: one refetch per interval
    api_key_source: Literal["none", "redis", "http"] = "none"
    api_key_url: str | None = None  # for api_key_source="http"
    api_key_table: str = "gateway:api-keys"  # Redis hash for api_key_source="redis"
    api_key_cache_ttl: float = Field(default=4.0, gt=0, le=5)  # revocation effective within this time
    redis_url: str | None = None  # default: REDIS_URL / B2B_REDIS_URL (shared settings)
    # Deactivated users (docs/auth.md): Redis hash of the session versions orgs publishes; "": no check
    session_versions_key: str = "gateway:session-versions"
    session_version_cache_ttl: float = Field(default=1.0, ge=0, le=1)  # deactivation effective within this
    require_authentication: bool = False  # refuse anonymous requests outright
    reject_unauthorized: bool = False  # refuse the whole operation instead of nulling unauthorized fields
    introspection: bool = True  # false in production: __schema/__type refused
    field_suggestions: bool = True  # "Did you mean ...?" in validation errors; false in production
    context_ttl: float = Field(default=30.0, gt=0, le=300)  # lifetime of the signed x-gateway-context

    # Subscriptions (gateway/subscriptions/, docs/subscriptions.md)
    subscriptions: bool = True  # graphql-transport-ws and GraphQL over SSE on /graphql
    subscription_keepalive: float = Field(default=15.0, ge=0)  # ping/comment every N s when idle; 0: off
    subscription_init_timeout: float = Field(default=3.0, gt=0)  # connection_init deadline (close 4408)
    # Open connections re-check their credentials this often (expired token, revoked key: closed); 0: off
    subscription_reauth_interval: float = Field(default=5.0, ge=0)
    # Identical live subscriptions share one upstream (docs/integration.md, "Sharing"); a subscriber more
    # than `subscription_subscriber_queue` events behind is cut off with SUBSCRIBER_TOO_SLOW and its cursor
    subscription_share_upstreams: bool = True
    subscription_subscriber_queue: int = Field(default=1000, ge=1)
    shutdown_timeout: int = Field(default=10, gt=0)  # SIGTERM: seconds for running requests/streams

    # Safety layer (gateway/safety/, docs/safety.md). Operation limits: 0 disables one.
    max_depth: int = Field(default=15, ge=0)  # field nesting, fragments expanded
    max_introspection_depth: int = Field(default=20, ge=0)  # nesting inside __schema/__type
    max_aliases: int = Field(default=30, ge=0)
    max_root_fields: int = Field(default=20, ge=0)
    max_directives: int = Field(default=50, ge=0)
    max_cost: int = Field(default=250_000, ge=0)  # estimated: fields x list sizes (first/last/limit)
    default_list_size: int = Field(default=10, ge=1)  # list size assumed without first/last/limit
    apq: bool = True  # automatic persisted queries (Apollo APQ v1), stored in Redis behind a local LRU
    apq_cache_size: int = Field(default=1_000, ge=0)
    apq_ttl: int = Field(default=7 * 24 * 3600, ge=0)  # seconds a registered query stays in Redis; 0: forever
    persisted_only: bool = False  # trusted documents only: the manifest's documents, nothing else
    persisted_manifest: FilePath | None = None  # JSON manifest (Apollo format or {"<sha256>": "<query>"})
    # With persisted_only: requests authenticated by an API key (partner ERPs, scripts) may still send
    # any document; browsers (bearer tokens, anonymous) are held to the manifest.
    persisted_only_api_keys_free: bool = True
    app_dir: Path | None = None  # a built front end (web/buyer/dist) served under /app/; None: none
    csrf_prevention: bool = True  # refuse requests a browser would send cross-site without a preflight
    csrf_required_headers: list[str] = Field(
        default_factory=lambda: ["x-apollo-operation-name", "apollo-require-preflight"])
    cors_allow_origins: list[str] = Field(default_factory=list)  # empty: no CORS headers (same origin only)
    cors_allow_credentials: bool = False
    cors_max_age: int = Field(default=600, ge=0)  # seconds browsers may cache a preflight answer
    rate_limit_per_minute: int | None = Field(default=None, ge=1)  # per principal (or IP); unset: off
    # Flow control (gateway/safety/flow_control.py): 503 + Retry-After over a limit; 0 disables each.
    tenant_concurrency: int = Field(default=0, ge=0)  # in-flight GraphQL requests per tenant
    operation_concurrency: int = Field(default=0, ge=0)  # in-flight requests per operation name
    shed_loop_lag_ms: float = Field(default=0.0, ge=0)  # smoothed event-loop lag that starts shedding
    rate_limit_fail_open: bool = True  # Redis down: count per process (logged, counted) or answer 503
    # Load balancers whose Forwarded / X-Forwarded-For we believe (addresses or CIDRs); empty: the TCP
    # peer is the client (gateway/safety/proxies.py). Rate limits, flow control and audit use the result.
    trusted_proxies: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _production_defaults(self) -> GatewayConfig:
        if self.env == "production":
            for name in _OFF_IN_PRODUCTION:
                if name not in self.model_fields_set:
                    setattr(self, name, False)
        return self

    @model_validator(mode="after")
    def _trusted_documents_need_a_manifest(self) -> GatewayConfig:
        if self.persisted_only and self.persisted_manifest is None:
            raise ValueError("GATEWAY_PERSISTED_ONLY needs GATEWAY_PERSISTED_MANIFEST (trusted documents)")
        return self


# Developer conveniences that leak the schema; GATEWAY_ENV=production turns them off by default.
_OFF_IN_PRODUCTION = ("introspection", "graphiql", "allow_explain", "field_suggestions")
