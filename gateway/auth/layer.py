"""The auth layer the HTTP layer and the engine call: authenticate, authorize (cached per document and
rights), sign the context for subgraphs, guard tenants in results, filter introspection.

    auth = GatewayAuth.from_config(gateway, config)      # attached as gateway.auth by create_app
    principal = await auth.authenticate(headers)         # AuthenticationError -> 401 / 403
    prepared = auth.prepare(document, op_name, variables, principal)   # None: nothing to enforce
    ...plan prepared.document under prepared.plan_key, execute with auth.subgraph_headers(principal)...
    fields = auth.finish(prepared, plan.root_fields, data, errors, principal)  # guard; shape with fields
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import graphql
import redis.asyncio as aioredis
from graphql import language as ast

from gateway.auth.api_keys import ApiKeyResolver, HttpKeyResolver, RedisKeyTable
from gateway.auth.authenticate import Authenticator
from gateway.auth.authorize import (
    TENANT_ALIAS,
    UNAUTHORIZED,
    AccessDecider,
    filter_document,
    shaping_fields,
)
from gateway.auth.directives import AccessRules, Rights
from gateway.auth.introspection import IntrospectionSchemas
from gateway.auth.jwks import JWKSCache
from gateway.auth.metrics import AuthMetrics
from gateway.auth.policies import PolicyFunction, PolicyRegistry
from gateway.auth.principal import AuthenticationError, Principal
from gateway.auth.redact import strip_denied
from gateway.auth.session_versions import SessionVersions
from gateway.auth.tenant_guard import TenantGuard
from gateway.config import GatewayConfig
from gateway.document_keys import condition_variables, document_key
from gateway.http.lru import LRUCache
from gateway.planning.operation import NField
from gateway.planning.planner import with_variable_defaults
from gateway.sizing import estimate_bytes
from shared.gateway_context import HEADER as CONTEXT_HEADER
from shared.gateway_context import sign_context

INTROSPECTION_DISABLED = "GraphQL introspection is not allowed by this gateway."

logger = logging.getLogger("gateway.auth")


def _session_versions(
    config: GatewayConfig, api_keys: ApiKeyResolver | None, redis_url: str, redis_url_set: bool
) -> SessionVersions | None:
    """The deactivation check's store: the API-key store's Redis client when there is one (no second
    pool), else a client of its own when a Redis URL is configured; None (check skipped) otherwise."""
    if not config.session_versions_key:
        return None
    redis: aioredis.Redis[Any]
    if isinstance(api_keys, RedisKeyTable | HttpKeyResolver):
        redis, owns = api_keys.redis, False
    elif redis_url_set:
        redis, owns = aioredis.from_url(redis_url), True
    else:
        logger.warning(
            "no Redis configured (GATEWAY_REDIS_URL / REDIS_URL, or an API-key source): tokens of "
            "deactivated users are not refused"
        )
        return None
    return SessionVersions(
        redis, config.session_versions_key, cache_ttl=config.session_version_cache_ttl, owns_client=owns
    )


@dataclass(frozen=True, slots=True)
class PreparedOperation:
    """An operation as authorization leaves it, cached per (document, operation, rights, @skip/@include)."""

    document: ast.DocumentNode  # what the planner gets
    plan_key: str | None  # plan cache key (None: the document's own key, shared by everyone)
    errors: tuple[dict[str, Any], ...]  # UNAUTHORIZED_FIELD_OR_TYPE, one per removed field
    shaping: tuple[NField, ...] | None  # the client's selection with denied fields; None: the plan's
    tenant_guard: bool
    rejection: dict[str, Any] | None = None  # a whole response: the operation is refused






def _selected_operation(document: ast.DocumentNode, name: str | None) -> ast.OperationDefinitionNode | None:
    for d in document.definitions:
        if isinstance(d, ast.OperationDefinitionNode) and (name is None or (d.name and d.name.value == name)):
            return d
    return None


def uses_schema_introspection(document: ast.DocumentNode, operation_name: str | None) -> bool:
    """``__schema``/``__type`` among the root selections (the only place they can appear)."""
    op = _selected_operation(document, operation_name)
    if op is None:
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, ast.FragmentDefinitionNode)}
    stack = [op.selection_set]
    seen: set[str] = set()
    while stack:
        for s in stack.pop().selections:
            if isinstance(s, ast.FieldNode):
                if s.name.value in ("__schema", "__type"):
                    return True
            elif isinstance(s, ast.InlineFragmentNode):
                stack.append(s.selection_set)
            elif isinstance(s, ast.FragmentSpreadNode) and s.name.value not in seen:
                seen.add(s.name.value)
                frag = fragments.get(s.name.value)
                if frag is not None:
                    stack.append(frag.selection_set)
    return False


class GatewayAuth:
    def __init__(
        self,
        api_schema: graphql.GraphQLSchema,
        supergraph_schema: graphql.GraphQLSchema,
        *,
        authenticator: Authenticator,
        secret: bytes,
        policies: Mapping[str, PolicyFunction] | None = None,
        context_ttl: float = 30.0,
        reject_unauthorized: bool = False,
        introspection: bool = True,
        cache_size: int = 2048,
        cache_bytes: int = 24 << 20,
    ) -> None:
        self.api_schema = api_schema
        self.supergraph_schema = supergraph_schema
        self.authenticator = authenticator
        self.secret = secret
        self.policies = PolicyRegistry(policies)
        self.context_ttl = context_ttl
        self.reject_unauthorized = reject_unauthorized
        self.introspection = introspection
        self.metrics = AuthMetrics()
        self.rules = AccessRules(supergraph_schema)
        self.decider = AccessDecider(api_schema, self.rules)
        # Tenant-scoped types: every object type with a tenantId field (in the supergraph: also when
        # the field is @inaccessible to clients).
        self.tenant_types = frozenset(
            name
            for name, t in supergraph_schema.type_map.items()
            if isinstance(t, graphql.GraphQLObjectType)
            and "tenantId" in t.fields
            and not name.startswith("__")
        )
        # keyed by documents: bounded by estimated bytes too (docs/performance.md, "Memory")
        self._prepared: LRUCache[tuple[Any, ...], PreparedOperation] = LRUCache(
            cache_size, max_bytes=cache_bytes, sizer=_entry_bytes)
        self._conditions: LRUCache[str, tuple[str, ...]] = LRUCache(
            cache_size, max_bytes=max(1, cache_bytes // 16), sizer=_entry_bytes)
        self._introspection = IntrospectionSchemas(api_schema, self.decider)

    def caches(self) -> dict[str, LRUCache[Any, Any]]:
        return {"prepared": self._prepared, "conditions": self._conditions}

    @classmethod
    def from_config(
        cls,
        api_schema: graphql.GraphQLSchema,
        supergraph_schema: graphql.GraphQLSchema,
        config: GatewayConfig,
        *,
        secret: bytes | None = None,
        policies: Mapping[str, PolicyFunction] | None = None,
    ) -> GatewayAuth:
        from shared.settings import get_settings

        settings = get_settings()
        secret = secret if secret is not None else settings.gateway_secret_bytes
        redis_url = config.redis_url or settings.redis_url
        jwks = (
            JWKSCache(
                config.jwks_url,
                max_age=config.jwks_max_age,
                min_refresh_interval=config.jwks_min_refresh_interval,
            )
            if config.jwks_url
            else None
        )
        api_keys: ApiKeyResolver | None = None
        if config.api_key_source == "redis":
            api_keys = RedisKeyTable(redis_url, config.api_key_table)
        elif config.api_key_source == "http":
            if not config.api_key_url:
                raise ValueError("GATEWAY_API_KEY_URL is required with GATEWAY_API_KEY_SOURCE=http")
            api_keys = HttpKeyResolver(
                config.api_key_url, redis_url, secret, cache_ttl=config.api_key_cache_ttl
            )
        redis_url_set = config.redis_url is not None or "redis_url" in settings.model_fields_set
        session_versions = (
            _session_versions(config, api_keys, redis_url, redis_url_set) if jwks is not None else None
        )
        authenticator = Authenticator(
            jwks=jwks,
            api_keys=api_keys,
            session_versions=session_versions,
            algorithms=config.jwt_algorithms,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            clock_skew=config.jwt_clock_skew,
            require_authentication=config.require_authentication,
        )
        return cls(
            api_schema,
            supergraph_schema,
            authenticator=authenticator,
            secret=secret,
            policies=policies,
            context_ttl=config.context_ttl,
            reject_unauthorized=config.reject_unauthorized,
            introspection=config.introspection,
            cache_bytes=int(config.auth_cache_mib * (1 << 20)),
        )

    # ---- authentication --------------------------------------------------------------------------

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        try:
            return await self.authenticator.authenticate(headers)
        except AuthenticationError:
            self.metrics.authentication_failures += 1
            raise

    def rights(self, principal: Principal) -> Rights:
        return self.rules.rights(principal, self.policies)

    @staticmethod
    def subgraph_identity(principal: Principal) -> tuple[Any, ...]:
        """Everything a subgraph's answer may depend on (what the signed context carries): the only safe
        key for sharing one in-flight subgraph call between requests. Rights alone are not enough:
        subgraphs scope rows by tenant, organization and user."""
        return (
            principal.tenant_id,
            principal.organization_id,
            principal.user_id,
            tuple(sorted(principal.roles)),
            tuple(sorted(principal.scopes)),
        )

    def subgraph_headers(
        self,
        principal: Principal,
        extra: Mapping[str, str] | None = None,
        *,
        client_address: str | None = None,
    ) -> dict[str, str]:
        """Headers for every subgraph request of one operation: the signed context wins over anything.
        `client_address` (after trusted proxies) lets orgs throttle logins and audit per address."""
        signed = sign_context(
            principal.for_subgraphs(), self.secret, ttl=self.context_ttl, client_address=client_address
        )
        return {**(extra or {}), CONTEXT_HEADER: signed}

    # ---- authorization ---------------------------------------------------------------------------

    def prepare(
        self,
        document: ast.DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any],
        principal: Principal,
    ) -> PreparedOperation | None:
        """What to plan for this principal; None when nothing is protected (the document as is)."""
        if not self.introspection and uses_schema_introspection(document, operation_name):
            return self._reject(document, "GRAPHQL_VALIDATION_FAILED", INTROSPECTION_DISABLED)
        if self.rules.empty and not self.tenant_types:
            return None
        rights = self.rights(principal)
        op = _selected_operation(document, operation_name)
        if op is not None and op.variable_definitions:
            variables = with_variable_defaults(op, dict(variables))  # as the planner sees them
        dkey = document_key(document)
        conditions = self._conditions.get(dkey)
        if conditions is None:
            conditions = condition_variables(document)
            self._conditions.put(dkey, conditions)
        key = (dkey, operation_name, rights.key, tuple(variables.get(v) is True for v in conditions))
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepare(document, operation_name, dict(variables), rights, dkey)
            self._prepared.put(key, prepared)
        if prepared.errors:
            if prepared.rejection is not None:
                self.metrics.rejected_operations += 1
            else:
                self.metrics.unauthorized_fields += len(prepared.errors)
        return prepared

    def _prepare(
        self,
        document: ast.DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any],
        rights: Rights,
        dkey: str,
    ) -> PreparedOperation:
        filtered = filter_document(
            self.api_schema, self.decider, rights, document, operation_name, variables, self.tenant_types
        )
        if filtered.reserved_alias:
            message = f"The response key {TENANT_ALIAS!r} is reserved by the gateway."
            return self._reject(document, "GRAPHQL_VALIDATION_FAILED", message)
        if filtered.errors and self.reject_unauthorized:
            return PreparedOperation(
                document, None, filtered.errors, None, False, rejection={"errors": list(filtered.errors)}
            )
        if not filtered.removed and not filtered.tenant_guard:
            return PreparedOperation(document, None, (), None, False)
        # The client's own selection: without removed fields' data and without the tenant guard's alias.
        shaping = shaping_fields(
            self.supergraph_schema, document, operation_name, variables, filtered.removed
        )
        plan_key = f"{dkey}|{rights.key if filtered.removed else 'tenant-guard'}"
        return PreparedOperation(filtered.document, plan_key, filtered.errors, shaping, filtered.tenant_guard)

    def _reject(self, document: ast.DocumentNode, code: str, message: str) -> PreparedOperation:
        error = {"message": message, "extensions": {"code": code}}
        return PreparedOperation(document, None, (error,), None, False, rejection={"errors": [error]})

    # ---- results -----------------------------------------------------------------------------------

    def finish(
        self,
        prepared: PreparedOperation,
        plan_fields: tuple[NField, ...],
        data: dict[str, Any],
        errors: list[dict[str, Any]],
        principal: Principal,
    ) -> tuple[NField, ...]:
        """Tenant guard on the merged result (in place), authorization errors first; the fields to shape."""
        if prepared.tenant_guard:
            blocked = TenantGuard(principal.tenant_id, self.tenant_types, errors).check(data, plan_fields)
            self.metrics.tenant_guard_blocked += blocked
        if prepared.errors:
            errors[:0] = [dict(e) for e in prepared.errors]
        if prepared.shaping is None:
            return plan_fields
        if prepared.errors:
            strip_denied(data, prepared.shaping)
        return prepared.shaping

    # ---- introspection -----------------------------------------------------------------------------

    def introspection_schema(self, principal: Principal) -> graphql.GraphQLSchema | None:
        """The API schema as this principal may see it; None when introspection is off."""
        if not self.introspection:
            return None
        if self.rules.empty:
            return self.api_schema
        return self._introspection.for_rights(self.rights(principal))

    async def close(self) -> None:
        await self.authenticator.close()


__all__ = ["UNAUTHORIZED", "GatewayAuth", "PreparedOperation"]


def _entry_bytes(key: Any, value: Any) -> int:
    return estimate_bytes(key) + estimate_bytes(value)
