"""Calendar periods of the max-per-period quantity limits. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("month", "week")


def period_start(now: datetime, period: str) -> datetime:
    """Start (UTC midnight) of the calendar month, or of the ISO week (Monday), containing `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return day.replace(day=1)
    if period == "week":
        return day - timedelta(days=day.weekday())
    raise ValueError(f"unknown period {period!r}")
