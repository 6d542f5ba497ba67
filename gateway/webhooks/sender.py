"""Sending one claimed delivery: the address check, the signed POST, and what happens next.

A 2xx answer delivers it. Anything else (another status, a timeout, a refused connection, an address
that is no longer allowed) is a failed attempt: it is retried with exponential backoff and jitter
until the retry window (24 h by default) since it was queued has passed, then it is dead (the dead
letters, replayable through the API). Every attempt is logged.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult

from gateway.webhooks.config import WebhookSettings
from gateway.webhooks.signing import signed_headers
from gateway.webhooks.store import Due, WebhookStore
from shared.webhook_urls import WebhookUrlError, address_allowed, parse_url


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then refuses names that resolve to an address a
    webhook may not reach: checked at every connection, so a name re-pointed at a private address
    after registration (DNS rebinding) gets nothing."""

    def __init__(self, allow_loopback: bool) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if any(not address_allowed(r["host"], allow_loopback=self._allow_loopback) for r in results):
            raise OSError(f"{host} resolves to an address webhooks may not reach")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_literal_address(url: str, allow_loopback: bool) -> None:
    """aiohttp does not ask the resolver for IP literals: check those here."""
    _, host, _ = parse_url(url)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_allowed(host, allow_loopback=allow_loopback):
        raise WebhookUrlError(f"{host} is a private or loopback address")


def retry_delay(settings: WebhookSettings, failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `failures`-th failure: exponential, capped, jittered in [50 %, 100 %]."""
    base = min(settings.retry_base * 2 ** max(failures - 1, 0), settings.retry_max_delay)
    jitter: float = (rng or random).random()
    return float(base * (0.5 + 0.5 * jitter))


def connector(settings: WebhookSettings) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(
        resolver=GuardedResolver(settings.allow_loopback), limit=settings.concurrency, ttl_dns_cache=0
    )


async def send(http: aiohttp.ClientSession, store: WebhookStore, settings: WebhookSettings, due: Due) -> str:
    """One attempt; returns the delivery's new status."""
    body = orjson.dumps(due.payload)
    status_code: int | None = None
    error: str | None = None
    started = time.monotonic()
    try:
        if len(body) > settings.max_body_bytes:
            raise WebhookUrlError(f"the payload is {len(body)} bytes, more than {settings.max_body_bytes}")
        check_literal_address(due.url, settings.allow_loopback)
        headers = signed_headers(due.secret, str(due.id), body, event_type=due.event_type)
        async with http.post(
            due.url,
            data=body,
            headers=headers,
            allow_redirects=False,  # a redirect could lead anywhere; the tenant registered this URL
            timeout=aiohttp.ClientTimeout(total=settings.request_timeout),
        ) as response:
            status_code = response.status
            await response.content.read(4096)  # a little of the body, then drop the connection's rest
            if not 200 <= response.status < 300:
                error = f"HTTP {response.status}"
    except WebhookUrlError as exc:
        error = str(exc)
    except TimeoutError:
        error = f"no answer within {settings.request_timeout:g} s"
    except (aiohttp.ClientError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    now = datetime.now(UTC)
    if error is None:
        await store.finish(
            due,
            status="delivered",
            next_attempt_at=None,
            status_code=status_code,
            error=None,
            duration_ms=duration_ms,
        )
        return "delivered"
    too_big = status_code is None and error.startswith("the payload is")
    delay = retry_delay(settings, due.attempts + 1)
    deadline = due.window_started_at + timedelta(seconds=settings.retry_window)
    next_at = now + timedelta(seconds=delay)
    status = "dead" if too_big or next_at > deadline else "pending"
    await store.finish(
        due,
        status=status,
        next_attempt_at=next_at if status == "pending" else None,
        status_code=status_code,
        error=error,
        duration_ms=duration_ms,
    )
    return status


def describe(errors: Any) -> str:
    """A short text of GraphQL errors for the endpoint's `lastError`."""
    try:
        return "; ".join(
            f"{(e.get('extensions') or {}).get('code', 'ERROR')}: {e.get('message', '')}" for e in errors
        )[:2000]
    except (AttributeError, TypeError):
        return str(errors)[:2000]
