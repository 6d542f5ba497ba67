"""tests/skips.py: under CI a skip fails with its reason; locally the run ends with what brings it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CONFTEST = """
from tests.skips import pytest_make_collect_report, pytest_runtest_makereport, pytest_runtest_setup
from tests.skips import pytest_terminal_summary
"""
TESTS = """
import pytest

@pytest.mark.skipif(True, reason="chromium is not installed")
def test_browser():
    pass

@pytest.mark.needs_shared("no-such-data")
def test_unknown_data():
    pass

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False

def test_runs():
    pass
"""


def _pytest(folder: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-k", "not unknown", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _suite(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_sample.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    needs_shared(name): data\n")
    return tmp_path


def test_locally_a_skip_is_listed_with_the_command_that_brings_it(tmp_path: Path) -> None:
    result = _pytest(_suite(tmp_path), ci=None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped, 1 deselected, 1 xfailed" in result.stdout
    assert "skipped, and what brings each" in result.stdout
    assert "apt-get install -y chromium" in result.stdout


def test_under_ci_a_skip_fails_with_its_reason(tmp_path: Path) -> None:
    result = _pytest(_suite(tmp_path), ci="true")
    assert result.returncode == 1, result.stdout
    # A skip in setup (skipif, needs_shared) becomes a setup error, one in the test body a failure.
    assert "1 passed, 1 deselected, 1 xfailed, 1 error" in result.stdout
    assert "skipped under CI, where every test must run: chromium is not installed" in result.stdout


def test_ci_false_is_not_ci(tmp_path: Path) -> None:
    assert _pytest(_suite(tmp_path), ci="false").returncode == 0


def test_an_unknown_needs_shared_name_is_a_usage_error(tmp_path: Path) -> None:
    folder = _suite(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-k", "unknown", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "needs_shared: unknown data 'no-such-data'" in result.stdout + result.stderr
