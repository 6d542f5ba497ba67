"""The federation audit's source and live subgraphs, prepared once per run for the audit and the
differential tests.

The audit is another project's suite: it is read from ``../shared/federation-audit/source.bundle`` and
prepared by ``tools/audit/setup.sh`` (Node >= 22 and its npm dependencies from the registry) into a work
dir outside the repository.  Under ``CI=true`` a missing bundle or npm fails the tests; locally they skip
with the command that brings what is missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BUNDLE = REPO.parent / "shared" / "federation-audit" / "source.bundle"
SETUP = REPO / "tools" / "audit" / "setup.sh"


def unavailable(reason: str, command: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run the federation audit tests)")
    pytest.skip(f"{reason}; to run these tests: {command}")


def _stamp(bundle: Path) -> str:
    return hashlib.sha256(bundle.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def audit_workdir() -> Path:
    """A prepared ``tools/audit`` work dir (reused while the bundle is unchanged)."""
    if not BUNDLE.is_file():
        unavailable(
            f"{BUNDLE} is missing",
            "git clone https://github.com/graphql-hive/federation-gateway-audit and "
            "`git bundle create ../shared/federation-audit/source.bundle --all` in it",
        )
    if shutil.which("npm") is None:
        unavailable("npm is not on PATH", "apt-get install npm (Node >= 22 itself comes from the registry)")
    workdir = (
        Path(tempfile.gettempdir()) / f"federation-audit-{hashlib.sha1(str(REPO).encode()).hexdigest()[:8]}"
    )
    stamp = workdir / "prepared-from"
    wanted = _stamp(BUNDLE)
    if not (stamp.is_file() and stamp.read_text() == wanted and (workdir / "repo" / "node_modules").is_dir()):
        proc = subprocess.run(
            [str(SETUP), str(BUNDLE), "--workdir", str(workdir)], capture_output=True, text=True, timeout=900
        )
        if proc.returncode != 0:
            pytest.fail(f"tools/audit/setup.sh failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        stamp.write_text(wanted)
    return workdir
