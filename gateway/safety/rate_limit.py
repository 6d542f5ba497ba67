"""Rate limits per principal in Redis: GCRA (a token bucket without a refill timer), one round trip.

Each caller has one Redis key holding its "theoretical arrival time" (TAT). A request is allowed when
``TAT - period <= now``: a caller can spend ``limit`` requests at once, then one every ``period/limit``.
The check and the update happen in one Lua script (atomic, one EVALSHA per request), on Redis' clock
so gateway processes with skewed clocks share one budget. The key expires when the bucket is full.

Callers: a user (tenant + user id), an API key (its id), anonymous requests by client IP.

Redis down (docs/operations.md "Degraded modes"): failing open counts in this process instead
(``LocalGcra``), failing closed answers 503. After a failure Redis is not asked again for
``retry_interval`` seconds, so an outage costs no connect timeout per request.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.auth.principal import Principal
from gateway.safety.local_rate import LocalGcra
from gateway.safety.metrics import SafetyMetrics

RATE_LIMITED = "RATE_LIMITED"
_log = logging.getLogger("gateway.safety.rate_limit")

# KEYS[1]: the caller's key. ARGV[1]: emission interval (ms), ARGV[2]: period (ms).
# Returns 0 when allowed, else the milliseconds until the next request would be allowed.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
return 0
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: float = 0.0  # seconds, when refused
    unavailable: bool = False  # refused because Redis could not be asked (fail-closed mode)

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = RateDecision(True)


def caller_key(principal: Principal | None, client_ip: str | None) -> str:
    """Who a request is counted against: a user, an API key, or the client IP when anonymous."""
    if principal is not None and principal.authenticated:
        if principal.method == "api_key":
            return f"key:{principal.credential_id or principal.organization_id}"
        return f"user:{principal.tenant_id}:{principal.user_id or principal.credential_id}"
    return f"ip:{client_ip or 'unknown'}"


class RateLimiter:
    def __init__(self, redis_url: str, per_minute: int, metrics: SafetyMetrics, *, fail_open: bool = True,
                 prefix: str = "gateway:rl:", timeout: float = 0.25, period: float = 60.0,
                 retry_interval: float = 1.0) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.redis = aioredis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._script = self.redis.register_script(_GCRA)
        self.period_ms = int(period * 1000)
        self.interval_ms = max(1, self.period_ms // per_minute)
        self.per_minute = per_minute
        self.metrics = metrics
        self.fail_open = fail_open
        self.prefix = prefix
        self._last_warning = 0.0
        self.local = LocalGcra(per_minute, period=period)
        self.retry_interval = retry_interval
        self._redis_down_until = 0.0

    async def check(self, key: str) -> RateDecision:
        if time.monotonic() < self._redis_down_until:
            return self._degraded(key)
        try:
            wait_ms = await self._script(keys=[self.prefix + key], args=[self.interval_ms, self.period_ms])
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            return self._degraded(key)
        self._redis_down_until = 0.0
        if not wait_ms:
            return ALLOWED
        self.metrics.rate_limited += 1
        return RateDecision(False, int(wait_ms) / 1000)

    def _redis_failed(self, exc: BaseException) -> None:
        self.metrics.rate_limit_redis_errors += 1
        now = time.monotonic()
        self._redis_down_until = now + self.retry_interval
        if now - self._last_warning > 10:  # one line per 10 s, not one per request
            self._last_warning = now
            _log.warning("rate limit: Redis unavailable (%s); %s", exc,
                         "counting in this process" if self.fail_open else "failing closed")

    def _degraded(self, key: str) -> RateDecision:
        if not self.fail_open:
            return RateDecision(False, self.retry_interval, unavailable=True)
        wait = self.local.wait(key)
        if not wait:
            return ALLOWED
        self.metrics.rate_limited += 1
        return RateDecision(False, wait)

    async def close(self) -> None:
        await self.redis.aclose()  # type: ignore[attr-defined]  # redis>=5; stubs lag
