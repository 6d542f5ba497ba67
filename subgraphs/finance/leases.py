"""A lease per periodic job, so that one process runs each tick of it.

Every finance process runs the sweepers; for a job that must run once per tick across all of
them (the daily reconciliation), the process first takes the job's lease: a row in
`finance.job_leases` it may take when it is free or expired, or renew when it already holds it.
A process that dies keeps the lease until it expires, then another takes over. The lease only
decides who tries; the jobs stay safe without it (the scheduled run is unique per tenant, day
and provider in the database).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime

from sqlalchemy import text

from shared.db import Database

# This process, as a lease holder.
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def acquire(db: Database, name: str, ttl_seconds: float, holder: str = HOLDER) -> bool:
    """Take or renew the lease `name` for `ttl_seconds`; False when another holder has it."""
    async with db.session() as session:
        row = (
            await session.execute(
                text(
                    "INSERT INTO finance.job_leases (name, holder, expires_at, last_tick_at) "
                    "VALUES (:n, :h, now() + make_interval(secs => :t), now()) "
                    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                    "expires_at = excluded.expires_at, last_tick_at = excluded.last_tick_at "
                    "WHERE finance.job_leases.expires_at < now() "
                    "OR finance.job_leases.holder = excluded.holder "
                    "RETURNING holder"
                ),
                {"n": name, "h": holder, "t": float(ttl_seconds)},
            )
        ).first()
    return row is not None


async def release(db: Database, name: str, holder: str = HOLDER) -> None:
    """Give the lease up (on shutdown), so another process need not wait for it to expire."""
    async with db.session() as session:
        await session.execute(
            text("UPDATE finance.job_leases SET expires_at = now() WHERE name = :n AND holder = :h"),
            {"n": name, "h": holder},
        )


async def holder_of(db: Database, name: str) -> tuple[str, datetime] | None:
    async with db.session() as session:
        row = (
            await session.execute(
                text("SELECT holder, expires_at FROM finance.job_leases WHERE name = :n"), {"n": name}
            )
        ).first()
    return (row.holder, row.expires_at) if row else None
