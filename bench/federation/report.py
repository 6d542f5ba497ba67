"""Measurements of one gateway in one pass, and the single table that compares them with ours."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# (column title, Measurement attribute, format) for each figure that gets a ratio-to-ours column
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("RPS", "rps", "{:.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("sg req/q", "subgraph_requests_per_query", "{:.2f}"),
    ("CPU s", "cpu_s", "{:.1f}"),
)


@dataclass
class Measurement:
    pass_name: str  # "single", "dedup" or "workers"
    gateway: str
    status: str  # "ok", "skipped" or "failed"
    reason: str | None = None
    is_ours: bool = False
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    subgraph_requests_per_query: float | None = None  # under load (in-flight dedup lowers it)
    sequential_subgraph_requests_per_query: float | None = None  # one query at a time: the plan's fetches
    cpu_s: float | None = None  # the gateway process tree, user+sys, over the measured run
    requests: int = 0
    duration_s: float = 0.0
    non2xx: int = 0
    socket_errors: int = 0
    checked: int = 0
    mismatches: int = 0
    first_mismatch: str | None = None
    load_tool: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def reference_for(measurements: list[Measurement], row: Measurement) -> Measurement | None:
    """Ours in the same pass; the workers pass compares with ours in the single-process pass."""
    pass_name = "single" if row.pass_name == "workers" else row.pass_name
    return ours_in(measurements, pass_name)


def ours_in(measurements: list[Measurement], pass_name: str) -> Measurement | None:
    return next((m for m in measurements if m.pass_name == pass_name and m.is_ours and m.status == "ok"),
                None)


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or reference is None or reference == 0 or math.isnan(value) or math.isnan(reference):
        return None
    return value / reference


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None or math.isnan(value) else fmt.format(value)


HEADERS: list[str] = ["pass", "gateway"] + [h for title, _, _ in FIGURES for h in (title, "x ours")] + [
    "sg req/q seq", "checks (bad/all)", "status"]


def table_rows(measurements: list[Measurement]) -> list[list[str]]:
    """The table's cells: each figure with its ratio to ours (peer / ours; for RPS above 1.0 the peer is
    faster, for latency, subgraph requests and CPU above 1.0 the peer spends more). "sg req/q" is measured
    under load (in-flight deduplication lowers it); "sg req/q seq" one query at a time (the plan)."""
    rows: list[list[str]] = []
    for m in measurements:
        reference = reference_for(measurements, m)
        row = [m.pass_name, m.gateway]
        for _, attr, fmt in FIGURES:
            value = getattr(m, attr)
            row += [_fmt(value, fmt), _fmt(ratio(value, getattr(reference, attr, None)), "{:.2f}")]
        row.append(_fmt(m.sequential_subgraph_requests_per_query, "{:.2f}"))
        row.append(f"{m.mismatches}/{m.checked}" if m.checked else "-")
        row.append(m.status if not m.reason else " ".join(f"{m.status}: {m.reason}".split())[:90])
        rows.append(row)
    return rows


def render_table(measurements: list[Measurement]) -> str:
    rows = table_rows(measurements)
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
    numeric = set(range(2, len(HEADERS) - 1))

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(HEADERS), line(["-" * w for w in widths]), *(line(r) for r in rows)])
