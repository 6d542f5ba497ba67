"""The Federation Gateway Audit (46 suites, 199 tests) against our gateway: 199/199 or fail."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.gateway.differential.conftest import REPO

pytestmark = [pytest.mark.audit, pytest.mark.timeout(900)]


def test_federation_audit_passes_every_test(audit_workdir: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [str(REPO / "tools" / "audit" / "run.sh"), "--workdir", str(audit_workdir), "--json", str(summary)],
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert summary.is_file(), f"no summary:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result = json.loads(summary.read_text())
    assert (result["passed"], result["total"]) == (199, 199), (
        f"audit {result['passed']}/{result['total']}, failed: {result['failed']}\n{proc.stdout[-3000:]}"
    )
