"""The arrows of docs/architecture.md: `lint-imports` keeps the contracts in pyproject.toml.

Floors, top down: `bench` > `devstack` > `gateway` | `subgraphs` (side by side, never importing
each other) > `shared`; `tests` stand above all. No subgraph imports another, except a seed reading
another seed's demo constants. The same contracts run on a copy of the packages with one arrow
reversed on purpose, so a contract that quietly stopped checking would fail here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "devstack", "gateway", "subgraphs", "shared")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH=cwd: the copy's packages shadow the editable install (its finder comes last).
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_house_keeps_its_arrows() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def house_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The five packages' Python files in a temporary folder, to break on purpose."""
    copy = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            copy / package,
            ignore=lambda _dir, names: [n for n in names if not (n.endswith(".py") or "." not in n)],
        )
        for cache in (copy / package).rglob("__pycache__"):
            shutil.rmtree(cache)
    yield copy


REVERSED = {
    "shared imports the gateway": ("shared/_reversed.py", "import gateway.engine\n", "floors"),
    "shared imports the subgraph registry, lazily": (
        "shared/_reversed.py",
        "def later() -> None:\n    from subgraphs import SUBGRAPHS  # noqa: F401\n",
        "floors",
    ),
    "a subgraph imports the gateway's composer": (
        "subgraphs/catalog/_reversed.py",
        "from gateway.supergraph.compose import compose_supergraph\n",
        "floors",
    ),
    "the gateway imports a subgraph": ("gateway/_reversed.py", "import subgraphs.orgs.auth\n", "floors"),
    "the gateway imports the launcher": ("gateway/_reversed.py", "import devstack.launcher\n", "floors"),
    "the launcher imports the benchmarks": ("devstack/_reversed.py", "import bench.runlock\n", "floors"),
    "a subgraph imports another's models": (
        "subgraphs/catalog/_reversed.py",
        "from subgraphs.pricing import models\n",
        "subgraphs-apart",
    ),
}


@pytest.mark.parametrize("case", list(REVERSED), ids=list(REVERSED))
def test_a_reversed_arrow_breaks_a_contract(house_copy: Path, case: str) -> None:
    where, source, contract = REVERSED[case]
    kept = _lint(house_copy)
    assert kept.returncode == 0, "the unaltered copy must pass:\n" + kept.stdout + kept.stderr
    probe = house_copy / where
    probe.write_text(source)
    try:
        broken = _lint(house_copy)
    finally:
        probe.unlink()
    assert broken.returncode != 0, f"{case}: not caught\n{broken.stdout}"
    assert "1 broken" in broken.stdout, broken.stdout
    names = {"floors": "floors:", "subgraphs-apart": "no subgraph imports another"}
    broken_line = next(line for line in broken.stdout.splitlines() if " BROKEN" in line)
    assert broken_line.startswith(names[contract]), broken.stdout


def test_a_seed_may_read_another_seeds_demo_constants(house_copy: Path) -> None:
    probe = house_copy / "subgraphs/pricing/seed.py"
    original = probe.read_text()
    probe.write_text(original + "\nfrom subgraphs.catalog.demo_ids import category_id  # noqa: E402,F401\n")
    try:
        result = _lint(house_copy)
    finally:
        probe.write_text(original)
    assert result.returncode == 0, result.stdout
