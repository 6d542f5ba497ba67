"""`python -m devstack up` as a user runs it: a subprocess that prints the gateway URL,
answers `{ __typename }`, keeps its data across runs and leaves no process after SIGINT/SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devstack.launcher import present_subgraphs
from devstack.ports import LOOPBACK
from tests.devstack.pids import still_running

ROOT = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/graphql$")
# The URL, or the launcher's word that it will not print one.
URL_OR_GIVING_UP = re.compile(URL_LINE.pattern + r"|^\[devstack\] (error:|running without a gateway)")


def _env_without_service_urls() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL", "REDIS_URL")}
    env.pop("B2B_GATEWAY_SECRET", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Launcher:
    """The launcher as a child process (own process group, so only we signal it)."""

    def __init__(self, *args: str) -> None:
        argv = [sys.executable, "-m", "devstack", *args]
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=_env_without_service_urls(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            process_group=0,
        )
        self.lines: list[str] = []
        self._eof = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                self._eof = True
                return None
            self.lines.append(line)
            if match := pattern.search(line):
                return match
        return None

    def output(self) -> str:
        return "\n".join(self.lines)

    def descendants(self) -> set[int]:
        try:
            return {p.pid for p in psutil.Process(self.popen.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def finish(self, timeout: float = 90.0) -> int:
        """Wait for the exit, draining the output; SIGKILL the group if it hangs (a test failure)."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            pytest.fail("the launcher did not stop in time:\n" + self.output())
        while not self._eof:
            line = self._queue.get(timeout=5)
            if line is None:
                self._eof = True
            else:
                self.lines.append(line)
        return code

    def kill_leftovers(self, pids: set[int]) -> None:
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("command", ["up --gateway-port", "services --pg-port"])
def test_a_taken_port_stops_the_launcher_with_one_clear_line(
    tmp_path: Path, taken_port: int, command: str
) -> None:
    launcher = Launcher(*command.split(), str(taken_port), "--data-dir", str(tmp_path))
    launcher.wait_for_line(re.compile(r"(?!)"), timeout=60)  # read until the end of the output
    code = launcher.finish()
    out = launcher.output()
    assert code == 1, out
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if "error:" in line]
    assert len(errors) == 1 and f"port {taken_port}" in errors[0] and "already in use" in errors[0], out


def _gateway_ready() -> str | None:
    """Why the end-to-end test cannot run yet, or None when it can."""
    if not (ROOT / "gateway" / "__main__.py").is_file():
        return "the gateway (python -m gateway) does not exist yet"
    if not present_subgraphs():
        return "no subgraph has an app.py yet"
    return None


def _post_json(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload: dict[str, object] = json.loads(response.read())
        return payload


def _check_gateway(url: str) -> None:
    """`{ __typename }` answers and a browser gets GraphiQL."""
    payload = _post_json(url, {"query": "{ __typename }"})
    assert payload.get("data") == {"__typename": "Query"}, payload
    browser = urllib.request.Request(url, headers={"accept": "text/html"})
    with urllib.request.urlopen(browser, timeout=30) as response:
        assert "graphiql" in response.read().decode().lower()


@pytest.mark.skipif(_gateway_ready() is not None, reason=_gateway_ready() or "")
def test_make_up_end_to_end_then_sigint_leaves_nothing(services_dir: Path) -> None:
    data_dir = services_dir / "data"
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        launcher = Launcher("up", "--data-dir", str(data_dir), "--gateway-port", "0")
        pids: set[int] = set()
        failure: BaseException | None = None
        try:
            match = launcher.wait_for_line(URL_OR_GIVING_UP, timeout=240)
            pids = launcher.descendants()
            assert match is not None and URL_LINE.match(match.group(0)), "no gateway URL printed"
            assert pids, "the launcher started no child process"
            _check_gateway(match.group(0))
        except (AssertionError, OSError) as exc:
            failure = exc
        finally:
            launcher.popen.send_signal(stop_signal)
            code = launcher.finish()
        leftovers = still_running(pids)
        launcher.kill_leftovers(leftovers)
        if failure is not None:
            pytest.fail(f"{failure!r}\n{launcher.output()}")
        assert leftovers == set(), f"left running after {stop_signal.name}: {leftovers}"
        assert code == 0, launcher.output()
    # The second run kept the first run's database (no second seeding).
    if (ROOT / "devstack" / "seed.py").is_file():
        assert "demo data already loaded" in launcher.output()
