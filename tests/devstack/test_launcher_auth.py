"""`make up` points the gateway's authentication at the running orgs subgraph (launcher.py)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.asgi import serve_asgi
from devstack.launcher import RunningSubgraph, gateway_auth_env, login_hint


async def _jwks(request: Request) -> JSONResponse:
    return JSONResponse({"keys": []})


async def _api_keys(request: Request) -> JSONResponse:
    return JSONResponse({"errors": [{"message": "missing gateway context"}]}, status_code=401)


def _running(name: str, base: str) -> RunningSubgraph:
    return RunningSubgraph(name, f"{base}/graphql", cast(Any, None))


async def test_the_gateway_gets_the_orgs_jwks_issuer_audience_and_api_key_lookup() -> None:
    orgs = Starlette(routes=[Route("/.well-known/jwks.json", _jwks), Route("/internal/api-keys", _api_keys)])
    async with serve_asgi(orgs) as base:
        env = await asyncio.to_thread(gateway_auth_env, [_running("orgs", base)], {})
        kept = await asyncio.to_thread(
            gateway_auth_env, [_running("orgs", base)], {"GATEWAY_JWKS_URL": "https://idp.example/jwks"}
        )
    assert env["GATEWAY_JWKS_URL"] == f"{base}/.well-known/jwks.json"
    assert env["GATEWAY_API_KEY_SOURCE"] == "http"
    assert env["GATEWAY_API_KEY_URL"] == f"{base}/internal/api-keys"
    assert env["GATEWAY_JWT_ISSUER"] and env["GATEWAY_JWT_AUDIENCE"]
    assert "GATEWAY_JWKS_URL" not in kept and kept["GATEWAY_API_KEY_SOURCE"] == "http"  # the env wins


async def test_nothing_is_configured_for_what_orgs_does_not_serve() -> None:
    async with serve_asgi(Starlette(routes=[])) as base:
        env = await asyncio.to_thread(gateway_auth_env, [_running("orgs", base)], {})
    assert env == {}
    assert gateway_auth_env([], {}) == {}


def test_the_login_hint_names_a_demo_user_and_the_mutation() -> None:
    from subgraphs.orgs.seed import DEMO_PASSWORD

    text = "\n".join(login_hint())
    assert "login(input:" in text and "bea@northwind.example" in text and DEMO_PASSWORD in text
    assert "Authorization: Bearer" in text
