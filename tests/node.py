"""Node and the npm tools of package-lock.json for tests: installed when stale, else skipped with why.

`make install` installs them (`python -m devstack.node_tools`); a test run started without it
installs them here once. Under CI a skip is a failure (tests/conftest.py).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from devstack import node_tools


@functools.cache
def _install() -> str | None:
    return node_tools.install()


def node_and_modules() -> tuple[str, Path]:
    """The node executable and the project's node_modules/ folder."""
    problem = _install()
    node = node_tools.node()
    if problem is not None or node is None:
        pytest.skip(f"{problem or node_tools.NODE_MISSING} (make install)")
    return node, node_tools.MODULES
