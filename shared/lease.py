"""Leases in PostgreSQL, so that one replica of a subgraph runs each tick of a background job.

    await run_leased(db, "stock-expiry", lambda: sweeper.sweep_once(db), every=5.0)

A lease is a session-level advisory lock (`pg_try_advisory_lock`) held on one connection of the
replica that won it, for as long as that replica lives: the holder runs every tick, the others try
again at each of theirs and skip. The lock lives in the server, not in a table, so nothing needs a
migration and nothing is left behind: when the holder dies its connection closes and PostgreSQL
drops the lock at once; the next replica to try becomes the holder within one interval.

What it does not promise: a holder cut off from the database by a network partition keeps
believing it holds the lease until its next check fails, while the server may already have handed
the lock to another replica (after TCP keepalive notices). Every job run under a lease is still
safe to run twice at once (they take their rows `FOR UPDATE SKIP LOCKED`); the lease makes one run
per tick the normal case, not a correctness requirement. Advisory locks need a session-pooling
connection to the server (no PgBouncer in transaction mode between the replica and PostgreSQL).

`transaction_lock(session, name)` is the transaction-scoped form (`pg_advisory_xact_lock`): it
waits for the current holder and is released by the commit; the outbox relay uses it so that
replicas publish one batch at a time, in outbox order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.db import Database

log = logging.getLogger(__name__)

LEASE_HELD = Gauge(
    "lease_held", "1 while this process holds the named lease.", ["lease"], multiprocess_mode="max"
)
LEASED_TICKS = Counter("leased_ticks_total", "Ticks of a leased job this process ran.", ["lease"])
LEASE_TAKEOVERS = Counter("lease_acquired_total", "Times this process acquired the named lease.", ["lease"])


def lease_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name` (the same in every process)."""
    digest = hashlib.blake2b(f"b2b-lease:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Lease:
    """One named lease. `acquire()` is cheap to call at every tick: holding, it checks that its
    connection is still alive; not holding, it tries to take the lock once (never waits)."""

    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.key = lease_key(name)
        self._conn: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    async def acquire(self) -> bool:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                await self._conn.commit()
                return True
            except Exception:
                log.warning("lease %s: lost its connection; trying to take it again", self.name)
                await self._drop()
        conn = await self.db.engine.connect()
        try:
            got = bool(
                (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
            )
            await conn.commit()  # the session-level lock outlives the transaction; no idle-in-transaction
        except BaseException:
            await _discard(conn)
            raise
        if not got:
            await conn.close()
            LEASE_HELD.labels(self.name).set(0)
            return False
        self._conn = conn
        LEASE_HELD.labels(self.name).set(1)
        LEASE_TAKEOVERS.labels(self.name).inc()
        log.info("lease %s: acquired", self.name)
        return True

    async def release(self) -> None:
        """Give the lease up (at shutdown): unlock, or drop the connection when that fails."""
        conn, self._conn = self._conn, None
        LEASE_HELD.labels(self.name).set(0)
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await conn.commit()
            await conn.close()
        except Exception:
            await _discard(conn)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        LEASE_HELD.labels(self.name).set(0)
        if conn is not None:
            await _discard(conn)


async def _discard(conn: AsyncConnection) -> None:
    """Close the connection for good (never back to the pool while it may still hold the lock)."""
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()


async def run_leased(
    db: Database,
    name: str,
    tick: Callable[[], Awaitable[object]],
    *,
    every: float,
    stop: asyncio.Event | None = None,
) -> None:
    """Run `tick` every `every` seconds while this process holds the lease `name`; until cancelled
    (or `stop` is set). Failures of a tick are logged; the lease is kept and the next tick runs."""
    lease = Lease(db, name)
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            try:
                if await lease.acquire():
                    await tick()
                    LEASED_TICKS.labels(name).inc()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("leased job %s failed; retrying at the next tick", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
    finally:
        await asyncio.shield(lease.release())


async def transaction_lock(session: AsyncSession, name: str, *, timeout_ms: int = 10_000) -> None:
    """Wait (at most `timeout_ms`, then fail the transaction) for the transaction-scoped lock
    `name`; it is released when the transaction ends, commit or rollback."""
    await session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": f"{timeout_ms}ms"})
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lease_key(name)})
