"""Random operations through our gateway, Hive Gateway (Rust planner) and Apollo Gateway.

An operation fails when both references return the same data and ours differs (see
``tools.differential.compare``; docs/correctness.md lists the reference bugs recorded instead).  A fixed
seed with 100 operations per suite over all 46 suites and the benchmark's supergraph (bench/'s own
subgraphs), and 20 per suite on a seed that changes daily.  The full report (every disagreement with
the three answers) goes to ``$DIFFERENTIAL_REPORT_DIR/differential-<seed>.json`` (default: tmp_path).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.federation import gateways
from tests.gateway.differential.conftest import unavailable
from tools.differential import runner

pytestmark = [pytest.mark.differential, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def references() -> None:
    """The pinned reference gateways, installed with npm into bench/.cache/peers (the bench's installer)."""
    install = gateways.install_peers()
    if install.error:
        command = "python -c 'from bench.federation.gateways import install_peers; print(install_peers())'"
        unavailable(f"reference gateways unavailable: {install.error}", command)


def _check(seed: int, ops: int, workdir: Path, tmp_path: Path) -> None:
    results = runner.run(runner.all_suites(bench=True), seed=seed, ops_per_suite=ops, workdir=workdir)
    rep = runner.report(results, seed, sum(r.run_s + r.startup_s for r in results))
    out = Path(os.environ.get("DIFFERENTIAL_REPORT_DIR") or tmp_path) / f"differential-{seed}.json"
    out.write_text(json.dumps(rep, indent=1))
    print(f"seed {seed}: {rep['operations']} operations, {rep['kinds']} (report: {out})")
    assert len(results) >= 46  # and the benchmark's supergraph when ../shared/bench-scenario is here
    assert all(r.operations >= ops for r in results), {r.suite: r.operations for r in results}
    failures = [(r.suite, o.query, o.variables) for r in results for o, _ in r.failures()]
    assert not failures, "\n".join(f"{s}: {q} {json.dumps(v)}" for s, q, v in failures)


def test_fixed_seed_agrees_with_the_references(references: None, audit_workdir: Path, tmp_path: Path) -> None:
    _check(runner.FIXED_SEED, 100, audit_workdir, tmp_path)


def test_daily_seed_agrees_with_the_references(references: None, audit_workdir: Path, tmp_path: Path) -> None:
    _check(runner.daily_seed(), 20, audit_workdir, tmp_path)
