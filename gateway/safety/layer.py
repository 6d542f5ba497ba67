"""The safety layer as the HTTP endpoint uses it: one object built from ``GatewayConfig``.

Request path (gateway/http/app.py): CSRF -> read parameters -> authenticate -> rate limit ->
persisted query -> token limit (before parsing, on parse-cache misses) -> parse -> validate ->
operation limits -> register the persisted query -> authorize, plan, execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import graphql
from graphql import language as ast

from gateway.auth.principal import Principal
from gateway.config import GatewayConfig
from gateway.http.errors import GraphQLRequestError, HTTPRequestError
from gateway.http.params import GraphQLParams
from gateway.observability.counters import mirror
from gateway.safety.csrf import CsrfPrevention
from gateway.safety.flow_control import FlowControl, FlowSettings
from gateway.safety.limits import OperationLimiter, OperationLimits
from gateway.safety.metrics import SafetyMetrics
from gateway.safety.persisted import ApqStore, PersistedQueries, PersistedQuery, load_manifest
from gateway.safety.proxies import TrustedProxies
from gateway.safety.rate_limit import RATE_LIMITED, RateLimiter, caller_key
from gateway.safety.tokens import token_limit_error


def _redis_url(config: GatewayConfig) -> str:
    from shared.settings import get_settings

    return config.redis_url or get_settings().redis_url


class SafetyLayer:
    def __init__(self, config: GatewayConfig, schema: graphql.GraphQLSchema) -> None:
        self.metrics = mirror(SafetyMetrics())  # also on /metrics (Prometheus counters)
        limits = OperationLimits(
            max_depth=config.max_depth, max_introspection_depth=config.max_introspection_depth,
            max_aliases=config.max_aliases, max_root_fields=config.max_root_fields,
            max_directives=config.max_directives, max_cost=config.max_cost,
            default_list_size=config.default_list_size)
        self.limiter = OperationLimiter(schema, limits, cache_size=max(config.validation_cache_size, 100),
                                         max_bytes=int(config.limits_cache_mib * (1 << 20)))
        self.max_tokens = config.max_query_tokens
        self.csrf = CsrfPrevention(config.csrf_required_headers) if config.csrf_prevention else None
        self.persisted: PersistedQueries | None = None
        if config.persisted_only or config.apq:
            manifest = load_manifest(config.persisted_manifest) if config.persisted_manifest else None
            store = (ApqStore(_redis_url(config), self.metrics, cache_size=config.apq_cache_size,
                              max_bytes=int(config.apq_cache_mib * (1 << 20)),
                              ttl=config.apq_ttl) if config.apq and not config.persisted_only else None)
            self.persisted = PersistedQueries(store, self.metrics, manifest=manifest,
                                              only=config.persisted_only)
        self.rate_limiter = (RateLimiter(_redis_url(config), config.rate_limit_per_minute, self.metrics,
                                         fail_open=config.rate_limit_fail_open)
                             if config.rate_limit_per_minute else None)
        self._persisted_only = config.persisted_only
        self.proxies = TrustedProxies(config.trusted_proxies)
        self._api_keys_free = config.persisted_only_api_keys_free
        self.flow = FlowControl(FlowSettings(tenant_concurrency=config.tenant_concurrency,
                                             operation_concurrency=config.operation_concurrency,
                                             shed_loop_lag=config.shed_loop_lag_ms / 1000))

    def client_address(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """The end client's address: the TCP peer, or what a trusted proxy says it forwarded for."""
        return self.proxies.client_address(peer, headers)

    def check_csrf(self, headers: Mapping[str, str]) -> None:
        if self.csrf is not None and not self.csrf.preflighted(headers):
            self.metrics.csrf_refused += 1
            self.csrf.check(headers)

    async def check_rate(self, principal: Principal | None, client_ip: str | None) -> None:
        if self.rate_limiter is None:
            return
        decision = await self.rate_limiter.check(caller_key(principal, client_ip))
        if decision.allowed:
            return
        headers = {"Retry-After": decision.retry_after_header}
        if decision.unavailable:
            raise HTTPRequestError(503, "The rate limit cannot be checked right now; retry later.",
                                   RATE_LIMITED, headers=headers)
        raise HTTPRequestError(429, f"Too many requests: the limit is {self.rate_limiter.per_minute} per "
                                    "minute.", RATE_LIMITED, headers=headers)

    async def resolve_persisted(self, params: GraphQLParams, *,
                                api_key: bool = False) -> tuple[GraphQLParams, PersistedQuery | None]:
        """The parameters with the query text a persisted-query hash stands for (unchanged otherwise).
        ``api_key``: the caller authenticated with an API key, which trusted-documents mode lets send
        its own documents (``persisted_only_api_keys_free``)."""
        if self.persisted is None or (not params.extensions and not self._persisted_only):
            return params, None
        if api_key and self._persisted_only and self._api_keys_free and params.query:
            return params, None
        persisted = await self.persisted.resolve(params.query, params.extensions)
        if persisted.query is not params.query:
            params = replace(params, query=persisted.query)
        return params, persisted

    def precheck(self, query: str) -> graphql.GraphQLError | None:
        """Before parsing a document not in the parse cache: the token limit."""
        error = token_limit_error(query, self.max_tokens)
        if error is not None:
            self.metrics.limits_refused += 1
        return error

    def check_limits(self, query: str, document: ast.DocumentNode, operation: ast.OperationDefinitionNode,
                     variables: Mapping[str, Any] | None) -> None:
        try:
            self.limiter.check(query, document, operation, variables)
        except GraphQLRequestError:
            self.metrics.limits_refused += 1
            raise

    async def register_persisted(self, persisted: PersistedQuery | None) -> None:
        if persisted is not None and persisted.register_hash is not None and self.persisted is not None:
            await self.persisted.register(persisted)

    async def close(self) -> None:
        await self.flow.close()
        if self.persisted is not None:
            await self.persisted.close()
        if self.rate_limiter is not None:
            await self.rate_limiter.close()
