"""Login throttling in Redis: exponential delays and temporary lockouts per account and per address.

Three counters of failed password checks, each forgotten `login_window` seconds after its last failure:

- account + address (the usual guesser): `login_pair_free` free failures, then a delay that doubles
  with each failure (`login_delay_base` .. `login_delay_max`), and at `login_pair_lockout` failures
  that address is locked out of that account for `login_lockout` seconds. The lockout is per address
  first: the real user signing in from anywhere else is not affected.
- address, any account (password spraying): locked out at `login_address_lockout` failures.
- account, any address (a guesser with many addresses): delays after `login_account_free` failures and
  a lockout at `login_account_lockout`, both applied only to addresses the user has not signed in from
  successfully before (a set per account, kept `login_known_address_ttl`). So a botnet cannot lock the
  user out of the places they actually sign in from, and a fresh address cannot keep guessing.

While an attempt is refused, no password is checked, so the refusal is cheap and tells nothing about
the password; it depends on the e-mail *string* only, never on whether such a user exists. One password
check at a time per account + address (a short "pending" mark), so parallel requests cannot overshoot
the counters. The clock is Redis' (`TIME`), shared by all orgs processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from subgraphs.orgs.identity.config import IdentitySettings

UNKNOWN_ADDRESS = "unknown"

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: pair, address, account, known-addresses set, pending. ARGV: address, pending ttl (ms).
# Returns {0, ''} (go ahead: the pending mark is set) or {milliseconds to wait, reason}.
_CHECK = _NOW + """
local function num(key, field) return tonumber(redis.call('HGET', key, field) or '0') or 0 end
local wait, reason = 0, ''
local function consider(until_ms, why)
  if until_ms - now > wait then wait = until_ms - now; reason = why end
end
consider(num(KEYS[1], 'locked'), 'address_locked')
consider(num(KEYS[1], 'next'), 'delay')
consider(num(KEYS[2], 'locked'), 'address_locked')
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 0 then
  consider(num(KEYS[3], 'locked'), 'account_locked')
  consider(num(KEYS[3], 'next'), 'account_delay')
end
if wait > 0 then return {wait, reason} end
if not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[2]) then
  return {math.max(1, redis.call('PTTL', KEYS[5])), 'pending'}
end
return {0, ''}
"""

# KEYS: pair, address, account, pending. ARGV: pair free, pair lockout, address lockout, account free,
# account lockout, delay base (ms), delay max (ms), lockout (ms), window (ms).
# Returns the three failure counts.
_FAILURE = _NOW + """
local base, maxd, lockout, window = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local function bump(key, free, lock)
  local n = redis.call('HINCRBY', key, 'n', 1)
  if free >= 0 and n > free then
    local delay = math.min(base * math.pow(2, math.min(n - free - 1, 40)), maxd)
    redis.call('HSET', key, 'next', math.floor(now + delay))
  end
  if n >= lock then redis.call('HSET', key, 'locked', math.floor(now + lockout)) end
  redis.call('PEXPIRE', key, math.floor(math.max(window, lockout)))
  return n
end
local pair = bump(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
local address = bump(KEYS[2], -1, tonumber(ARGV[3]))
local account = bump(KEYS[3], tonumber(ARGV[4]), tonumber(ARGV[5]))
redis.call('DEL', KEYS[4])
return {pair, address, account}
"""

# KEYS: pair, known-addresses set, pending. ARGV: address, known ttl (ms).
_SUCCESS = """
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: float = 0.0  # seconds
    reason: str = ""  # for the audit log: delay, address_locked, account_delay, account_locked, pending


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is guessing what: the account (tenant + e-mail, hashed) and the client address."""

    account: str
    address: str

    @classmethod
    def of(cls, tenant: uuid.UUID | str, email: str, address: str | None) -> Attempt:
        digest = hashlib.sha256(f"{tenant}\x00{email.strip().lower()}".encode()).hexdigest()[:32]
        return cls(digest, address or UNKNOWN_ADDRESS)


_clients: dict[tuple[str, int], aioredis.Redis[bytes]] = {}


def redis_client(url: str) -> aioredis.Redis[bytes]:
    """One client per URL and event loop (test runs and servers each have their own loop)."""
    key = (url, id(asyncio.get_running_loop()))
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = aioredis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    return client


class LoginThrottle:
    def __init__(self, redis_url: str, settings: IdentitySettings) -> None:
        self.redis = redis_client(redis_url)
        self.settings = settings
        self.prefix = settings.login_throttle_prefix

    def _keys(self, attempt: Attempt) -> tuple[str, str, str, str, str]:
        p = self.prefix
        return (
            f"{p}pair:{attempt.account}:{attempt.address}",
            f"{p}addr:{attempt.address}",
            f"{p}acct:{attempt.account}",
            f"{p}known:{attempt.account}",
            f"{p}pending:{attempt.account}:{attempt.address}",
        )

    async def check(self, attempt: Attempt) -> Verdict:
        """Go ahead (and hold the pending mark until `failed`/`succeeded`) or wait."""
        pair, address, account, known, pending = self._keys(attempt)
        ttl = int(self.settings.login_pending_ttl * 1000)
        wait_ms, reason = await self.redis.eval(  # type: ignore[no-untyped-call]
            _CHECK, 5, pair, address, account, known, pending, attempt.address, ttl
        )
        if int(wait_ms) <= 0:
            return Verdict(True)
        why = reason.decode() if isinstance(reason, bytes) else str(reason)
        return Verdict(False, math.ceil(int(wait_ms) / 10) / 100, why)

    async def failed(self, attempt: Attempt) -> tuple[int, int, int]:
        s = self.settings
        pair, address, account, _, pending = self._keys(attempt)
        counts = await self.redis.eval(  # type: ignore[no-untyped-call]
            _FAILURE, 4, pair, address, account, pending,
            s.login_pair_free, s.login_pair_lockout, s.login_address_lockout,
            s.login_account_free, s.login_account_lockout,
            int(s.login_delay_base * 1000), int(s.login_delay_max * 1000),
            int(s.login_lockout * 1000), int(s.login_window * 1000),
        )
        return int(counts[0]), int(counts[1]), int(counts[2])

    async def succeeded(self, attempt: Attempt) -> None:
        pair, _, _, known, pending = self._keys(attempt)
        ttl = int(self.settings.login_known_address_ttl * 1000)
        await self.redis.eval(_SUCCESS, 3, pair, known, pending, attempt.address, ttl)  # type: ignore[no-untyped-call]

    async def release(self, attempt: Attempt) -> None:
        """Neither a failure nor a success (e.g. the password was right but the user is deactivated)."""
        await self.redis.delete(self._keys(attempt)[4])


async def close() -> None:
    for client in list(_clients.values()):
        await client.aclose()  # type: ignore[attr-defined]
    _clients.clear()
