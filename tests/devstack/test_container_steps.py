"""The one-shot steps compose.yaml runs: `provision` (migrate + seed once) and `supergraph`."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
async def scratch_database(service_urls: Any) -> AsyncIterator[str]:
    """A database of its own (the demo data must not land in the shared test database)."""
    from sqlalchemy.engine import make_url

    name = f"test_provision_{secrets.token_hex(4)}"
    admin = make_url(service_urls.admin_url).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def test_provision_migrates_and_seeds_once(scratch_database: str) -> None:
    env = {**os.environ, "DATABASE_URL": scratch_database}
    first = _run("provision", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "loading demo data" in first.stdout
    second = _run("provision", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "demo data already loaded (kept)" in second.stdout


async def test_supergraph_composes_running_subgraphs(
    service_urls: Any, serve_app: Any, tmp_path: Path
) -> None:
    from subgraphs.orgs.app import create_app

    base_url = await serve_app(create_app())
    out = tmp_path / "supergraph.graphql"
    # In a thread: the subgraph is served by this test's event loop, which must keep running.
    args = ("supergraph", "--out", str(out), "--timeout", "30", f"orgs={base_url}/graphql")
    result = await asyncio.to_thread(_run, *args, env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    sdl = out.read_text()
    assert "join__Graph" in sdl and f"{base_url}/graphql" in sdl


def test_supergraph_rejects_a_malformed_subgraph_argument(tmp_path: Path) -> None:
    result = _run("supergraph", "--out", str(tmp_path / "s.graphql"), "orgs", env=dict(os.environ))
    assert result.returncode == 1
    assert "expected NAME=URL" in result.stdout and "Traceback" not in result.stdout + result.stderr
