"""Child processes that always end: each in its own process group, stopped group-wide in ``finally``."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from devstack.ports import free_port as free_port  # the runner's `processes.free_port()`


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 1500) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM to the whole group (workers included), SIGKILL after ``grace_s``."""
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and _group_alive(self.popen):
                time.sleep(0.05)
            if not _group_alive(self.popen):
                return


def _group_alive(popen: subprocess.Popen[bytes]) -> bool:
    popen.poll()  # reap the leader so that it does not linger as a zombie
    return bool(live_group_members(popen.pid))


def live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that still run (orphaned zombies wait for init and do not count)."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if the runner itself dies without cleaning up (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(name: str, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> ManagedProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        popen = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
                                 preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    return ManagedProcess(name, popen, log_path)


@contextlib.contextmanager
def running(name: str, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[ManagedProcess]:
    proc = start(name, argv, log_path=log_path, env=env, cwd=cwd)
    try:
        yield proc
    finally:
        proc.stop()


class NotReady(RuntimeError):
    pass


def wait_ready(proc: ManagedProcess, url: str, *, body: bytes | None = None, timeout_s: float = 60.0) -> None:
    """Poll ``url`` (GET, or POST of ``body`` as JSON) until it answers 200; fail if the process dies."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        if not proc.alive():
            raise NotReady(f"{proc.name} exited with code {proc.popen.returncode}: {proc.log_tail()}")
        request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=2.0) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
        except (OSError, urllib.error.URLError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise NotReady(f"{proc.name} not ready at {url} after {timeout_s:.0f} s ({last_error}): "
                   f"{proc.log_tail()}")
