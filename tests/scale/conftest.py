"""Scale-out tests: several gateway processes, several replicas of a subgraph, a JetStream
cluster, and the chaos run (processes killed under load). Real processes on loopback.

The chaos test is `slow` (a stack of twenty processes): it runs under CI, with `B2B_SLOW_TESTS=1`,
or when this folder is named on the command line; otherwise it is skipped with that hint.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _slow_allowed(config: pytest.Config) -> bool:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        return True
    if os.environ.get("B2B_SLOW_TESTS", "") not in ("", "0"):
        return True
    return any(str(HERE) in str(Path(arg.split("::")[0]).resolve()) for arg in config.args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _slow_allowed(config):
        return
    skip = pytest.mark.skip(reason="slow (tests/scale): run with B2B_SLOW_TESTS=1 or `pytest tests/scale`")
    for item in items:
        if item.get_closest_marker("slow") is not None and str(HERE) in str(item.path):
            item.add_marker(skip)
