"""The end client's address as the gateway signed it into the request's context (`cip`; the gateway
takes it from trusted proxies only, gateway/safety/proxies.py). Never from a client header."""

from __future__ import annotations

from shared.context import RequestContext
from shared.gateway_context import HEADER, GatewayContextError, verify_context


def client_address(context: RequestContext) -> str | None:
    request = context.request
    if request is None:
        return None
    try:
        signed = verify_context(request.headers.get(HEADER, ""), context.settings.gateway_secret_bytes)
    except GatewayContextError:
        return None
    return signed.client_address
