"""Optimistic concurrency for contended records: a `version` column that every update bumps.

    class Quote(VersionedMixin, TenantMixin, Base): ...
    quote = await session.get(Quote, quote_id)
    expect_version(quote, input.version)     # ConflictError (code CONFLICT) when stale
    quote.status = "ACCEPTED"
    await flush_versioned(session)            # ConflictError if someone else won in between

SQLAlchemy's `version_id_col` makes the UPDATE itself conditional (`WHERE version = :seen`), so a
concurrent writer between the read and the flush is caught too, not only a stale client.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from shared.errors import ConflictError


class VersionedMixin:
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def expect_version(row: VersionedMixin, expected: int | None) -> None:
    """Refuse an update based on an out-of-date read (None: the caller did not send a version)."""
    if expected is not None and row.version != expected:
        raise ConflictError(
            f"version {expected} is out of date (current {row.version})",
            extensions={"currentVersion": row.version},
        )


async def flush_versioned(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise ConflictError("the record was changed concurrently; read it again") from exc
