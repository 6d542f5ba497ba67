"""Child processes that are never left behind.

Every child runs in its own process group (so a stop reaches its own children, e.g. PostgreSQL
backends) and, on Linux, gets a parent-death signal (so even a SIGKILLed parent does not leave it
running). A module-wide registry stops whatever is still alive at interpreter exit, and SIGTERM /
SIGHUP are turned into a normal exit so that `atexit` and `finally` blocks run.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
_registry: list[ManagedProcess] = []
_registry_lock = threading.Lock()
_handlers_installed = False


class ManagedProcess:
    """A child process in its own process group, stopped with `stop_signal`, then SIGKILL."""

    def __init__(
        self,
        name: str,
        popen: subprocess.Popen[bytes],
        *,
        stop_signal: int = signal.SIGTERM,
        log_path: Path | None = None,
    ) -> None:
        self.name = name
        self.popen = popen
        self.stop_signal = stop_signal
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the child's log file, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """Signal the whole process group, wait, then SIGKILL whatever is left; idempotent."""
        try:
            if self.alive():
                _signal_group(self.pid, self.stop_signal)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(self.pid, signal.SIGKILL)
                    self.popen.wait(5)
            # The leader is gone; members that outlived it (a forked helper) get SIGKILL.
            _signal_group(self.pid, signal.SIGKILL)
        finally:
            _unregister(self)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _parent_death_signal(sig: int) -> Callable[[], None] | None:
    """A preexec function that asks Linux to send `sig` to the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl

    def _set() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return _set


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path | None = None,
    stdout: int | IO[Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    user: str | None = None,
    pass_fds: Sequence[int] = (),
) -> ManagedProcess:
    """Start `argv` in a new process group; output goes to `log_path` (appended) or `stdout`.
    `pass_fds`: descriptors the child inherits (a listening socket shared by replicas)."""
    install_exit_handlers()
    log_file: IO[bytes] | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("ab")
    out: int | IO[Any] | None = log_file if log_file is not None else stdout
    kwargs: dict[str, Any] = {}
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
    try:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            process_group=0,
            preexec_fn=_parent_death_signal(stop_signal),
            pass_fds=tuple(pass_fds),
            **kwargs,
        )
    finally:
        if log_file is not None:
            log_file.close()
    proc = ManagedProcess(name, popen, stop_signal=stop_signal, log_path=log_path)
    with _registry_lock:
        _registry.append(proc)
    return proc


def _unregister(proc: ManagedProcess) -> None:
    with _registry_lock:
        if proc in _registry:
            _registry.remove(proc)


def stop_all() -> None:
    """Stop every child still registered, newest first (dependents before their services)."""
    while True:
        with _registry_lock:
            if not _registry:
                return
            proc = _registry[-1]
        proc.stop()


def _exit_on_signal(signum: int, _frame: object) -> None:
    # SystemExit unwinds `finally` blocks and runs atexit, unlike the default SIGTERM action.
    raise SystemExit(128 + signum)


def install_exit_handlers() -> None:
    """Register the atexit cleanup once; turn SIGTERM/SIGHUP into SystemExit when unhandled."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit_on_signal)


def wait_until(
    ready: Callable[[], bool],
    proc: ManagedProcess,
    *,
    timeout: float,
    interval: float = 0.1,
) -> bool:
    """Poll `ready()` until it is true (True), the process exits or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if not proc.alive():
            return False
        time.sleep(interval)
    return ready()
