"""The per-request context every resolver receives (`info.context`). No GraphQL imports here.

async with info.context.session() as session:   # a transaction scoped to the caller's tenant
    ...
loader = info.context.loaders.get(organization_loader)   # one DataLoader per request
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aiodataloader import DataLoader
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from shared.db import Database
from shared.errors import ForbiddenError, UnauthenticatedError
from shared.gateway_context import HEADER, Principal
from shared.rpc import ServiceUnavailable, rpc_call
from shared.settings import Settings

LoaderT = TypeVar("LoaderT", bound=DataLoader[Any, Any])


class Loaders:
    """Per-request DataLoaders, created on first use from a factory and cached by that factory.

    A factory is a plain function `(RequestContext) -> DataLoader`, so loaders are defined next to
    the code that needs them and cannot leak between requests (or tenants).
    """

    def __init__(self, context: RequestContext) -> None:
        self._context = context
        self._loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = {}

    def get(self, factory: Callable[[RequestContext], LoaderT]) -> LoaderT:
        loader = self._loaders.get(factory)
        if loader is None:
            loader = self._loaders[factory] = factory(self._context)
        return cast(LoaderT, loader)


@dataclass
class RequestContext:
    request: Request | None
    settings: Settings
    db: Database
    principal: Principal | None
    tenant_id: uuid.UUID | None
    subgraph: str
    wake_relay: Callable[[], None] = field(default=lambda: None)
    # The process's NATS connection (None until connected, or when events are off).
    nats: Callable[[], NatsClient | None] = field(default=lambda: None)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)

    @property
    def gateway_headers(self) -> dict[str, str]:
        """The signed context this request came with, to forward on a NATS request to another
        domain (the callee verifies it like a subgraph does). Empty when there was none."""
        header = self.request.headers.get(HEADER) if self.request is not None else None
        return {HEADER: header} if header else {}

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise UnauthenticatedError("authentication required")
        return self.principal

    def require_tenant(self) -> uuid.UUID:
        if self.tenant_id is None:
            raise ForbiddenError("this operation needs a tenant")
        return self.tenant_id

    def require_scope(self, scope: str) -> Principal:
        principal = self.require_principal()
        if not principal.has_scope(scope):
            raise ForbiddenError(f"missing scope {scope}")
        return principal

    async def call(
        self, domain: str, op: str, arguments: Mapping[str, Any] | None = None, *, reply_within: float = 2.0
    ) -> dict[str, Any]:
        """Ask another domain over NATS request-reply (shared.rpc), forwarding this request's
        signed context. Raises `RpcError` (the callee's code) or `ServiceUnavailable`."""
        nc = self.nats()
        if nc is None or not nc.is_connected:
            raise ServiceUnavailable(domain, 0)
        return await rpc_call(
            nc, domain, op, arguments, headers=self.gateway_headers, reply_within=reply_within
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A new transaction bound to the caller's tenant (RLS applies). Each resolver or loader
        opens its own: an AsyncSession must not be shared by concurrently running resolvers."""
        async with self.db.tenant_session(self.require_tenant()) as session:
            yield session
