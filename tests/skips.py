"""What a test run may skip: under CI nothing, locally a list of what was skipped and what brings it.

- `CI` set (and not "false"/"0"): a test that cannot run fails with the reason instead of
  skipping (xfail is left alone). No allow-list: everything the suite needs is installable.
- `@pytest.mark.needs_shared("federation-audit")` / `("bench-scenario")`: the test reads another
  project's suite that stays out of the repository, from `../shared/<name>` (CI has it there);
  `pytest -m needs_shared` runs just those, `-m "not needs_shared"` leaves them out.
- Locally, the end of the run lists the skipped tests by reason with the command that brings each.

The hooks are imported by tests/conftest.py.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_HINT = "docs/running.md, 'Data from ../shared'"


def _bench_scenario() -> bool:
    from bench.federation import scenario

    return scenario.available()  # ../shared/bench-scenario, or BENCH_SCENARIO_DIR


SHARED_DATA: dict[str, Callable[[], bool]] = {
    "federation-audit": lambda: (SHARED / "federation-audit" / "cases.json").is_file(),
    "bench-scenario": _bench_scenario,
}

_SUDO = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
# (what a skip reason mentions, the command that brings it)
BRINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"chromium", re.I), f"{_SUDO}apt-get update && {_SUDO}apt-get install -y chromium"),
    (re.compile(r"\bnode\b|\bnpm\b|graphql-http|graphql-ws|graphql-sse", re.I), "make install"),
    (re.compile(r"\.\./shared|federation.audit|bench.scenario", re.I), f"see {SHARED_HINT}"),
)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def command_for(reason: str) -> str | None:
    return next((command for pattern, command in BRINGS if pattern.search(reason)), None)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs_shared"):
        for name in mark.args:
            if name not in SHARED_DATA:
                raise pytest.UsageError(f"needs_shared: unknown data {name!r} (known: {sorted(SHARED_DATA)})")
            if not SHARED_DATA[name]():
                pytest.skip(f"../shared/{name} is missing ({SHARED_HINT})")


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = _reason(report)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every test must run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    _fail_skip(outcome.get_result())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = Counter(_reason(report) for report in skipped)
    terminalreporter.section("skipped, and what brings each", sep="-")
    for reason, count in reasons.most_common():
        command = command_for(reason)
        terminalreporter.write_line(f"{count:4d}  {reason}")
        terminalreporter.write_line(f"      -> {command or 'read the reason above'}")
