"""CORS: which other origins' pages may call the gateway from a browser.

Default: none. Without CORS headers a browser lets only same-origin pages read responses, and CSRF
prevention (csrf.py) makes sure cross-origin pages cannot even trigger a request with side effects.
With ``GATEWAY_CORS_ALLOW_ORIGINS`` set, Starlette's middleware answers preflights (OPTIONS) for
those origins and the headers our clients send, and refuses others (400, no allow-origin header).
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway.config import GatewayConfig

_CLIENT_HEADERS = ("content-type", "authorization", "x-api-key", "x-query-plan",
                   "apollo-query-plan-experimental", "apollo-require-preflight", "x-apollo-operation-name")


def cors_middleware(config: GatewayConfig) -> list[Middleware]:
    """The middleware list for ``Starlette(middleware=...)``: empty when no origin is allowed."""
    if not config.cors_allow_origins:
        return []
    headers = sorted({*_CLIENT_HEADERS, *(name.lower() for name in config.csrf_required_headers)})
    return [Middleware(CORSMiddleware, allow_origins=config.cors_allow_origins,
                       allow_methods=["GET", "POST"], allow_headers=headers,
                       allow_credentials=config.cors_allow_credentials,
                       expose_headers=["Retry-After"], max_age=config.cors_max_age)]
