"""`python -m gateway`: serves a supergraph file, and fails with one clear line on startup problems."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.ports import free_port
from tests.gateway.http.catalog_subgraph import supergraph_sdl

_ROOT = Path(__file__).resolve().parents[3]


def _gateway(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        cwd=_ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _run_to_end(*args: str) -> tuple[int, str]:
    process = _gateway(*args)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


@pytest.fixture
def supergraph_file(tmp_path: Path) -> Path:
    path = tmp_path / "supergraph.graphql"
    path.write_text(supergraph_sdl(f"http://127.0.0.1:{free_port()}/graphql"))
    return path


@pytest.fixture
def stop_later() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        process.communicate()


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with urllib.request.urlopen(f"{base}/healthcheck", timeout=2) as response:
                assert json.load(response) == {"status": "pass"}
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("the gateway never answered its health check")


def _typename(base: str) -> object:
    request = urllib.request.Request(
        f"{base}/graphql", data=b'{"query": "{ __typename }"}', headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serves_until_sigterm(
    supergraph_file: Path, stop_later: list[subprocess.Popen[str]], workers: str
) -> None:
    port = free_port()
    process = _gateway(
        "--supergraph", str(supergraph_file), "--host", "127.0.0.1", "--port", str(port), "--workers", workers
    )
    stop_later.append(process)
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(base, process)
    assert _typename(base) == {"data": {"__typename": "Query"}}
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then a single process re-raises the signal it caught (exit -15).
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "Traceback" not in stderr


def test_missing_supergraph_file(tmp_path: Path) -> None:
    code, stderr = _run_to_end("--supergraph", str(tmp_path / "nope.graphql"), "--port", str(free_port()))
    assert code == 1
    assert "supergraph file not found" in stderr
    assert "Traceback" not in stderr


def test_invalid_supergraph(tmp_path: Path) -> None:
    path = tmp_path / "broken.graphql"
    path.write_text("type Query {")
    code, stderr = _run_to_end("--supergraph", str(path), "--port", str(free_port()))
    assert code == 1
    assert "is not a valid supergraph" in stderr
    assert "Traceback" not in stderr


def test_port_in_use(supergraph_file: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, stderr = _run_to_end("--supergraph", str(supergraph_file), "--port", str(port))
    assert code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in stderr
    assert "Traceback" not in stderr
