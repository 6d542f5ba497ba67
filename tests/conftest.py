"""Session fixtures: real PostgreSQL/NATS/Redis, a fresh migrated database per run, in-process apps.

- `service_urls` (a `devstack.services.ServiceUrls`): the services (from DATABASE_URL,
  NATS_URL, REDIS_URL when set, else started by `devstack.services` in a temp dir and
  stopped at the end) and a database created for this run (`test_<random>`), migrated with
  `devstack.migrate.upgrade_all`, dropped at the end. The URLs are also exported as environment
  variables for subprocesses the tests start.
- `serve_app`: `base_url = await serve_app(app)` runs an ASGI app with uvicorn on a free loopback
  port until the test ends.

Both are lazy: a test that does not ask for `service_urls` starts nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest puts test folders on sys.path; the repository root must come first so that `gateway`,
# `shared` and `subgraphs` are the project's packages, never the same-named folders under tests/.
_ROOT = Path(__file__).resolve().parent.parent
if sys.path[:1] != [str(_ROOT)]:
    sys.path.insert(0, str(_ROOT))

from devstack.asgi import serve_asgi  # noqa: E402
from devstack.ports import free_port  # noqa: E402
from devstack.services import ServiceSet, ServiceUrls, start_services  # noqa: E402
from tests.scratch import environment, scratch_database  # noqa: E402
from tests.skips import (  # noqa: E402, F401  (hooks: no skips under CI, the local list of skips)
    pytest_make_collect_report,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_terminal_summary,
)

__all__ = ["ServiceUrls", "free_port"]


def _with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` (keeps driver, credentials, host and query)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _migrate(database_url: str) -> None:
    """Run H1's migrations when `devstack.migrate` exists (it may not, early in the project)."""
    if importlib.util.find_spec("devstack.migrate") is None:
        return
    from devstack.migrate import upgrade_all

    upgrade_all(database_url)


@contextlib.contextmanager
def service_data_dir() -> Iterator[Path]:
    """A fresh directory for server data, removed afterwards.

    Not under pytest's tmp_path: as root PostgreSQL runs as another user that must traverse the
    path, and every pytest session re-restricts /tmp/pytest-of-<user> to 0700 when it starts.
    Ours, so we may open it to passing through (o+x, not listing); a data dir the server's user
    cannot reach works too (`devstack.pg_placement`), but keeping the data in place keeps the
    tests' checks on it (e.g. "in use by another stack") meaningful.
    """
    path = Path(tempfile.mkdtemp(prefix="b2b-devstack-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def services_dir() -> Iterator[Path]:
    """A directory for `start_services` data (see `service_data_dir`)."""
    with service_data_dir() as path:
        yield path


@pytest.fixture(scope="session")
def _services() -> Iterator[ServiceSet]:
    with service_data_dir() as data_dir:
        services = start_services(data_dir, persistent=False)
        try:
            yield services
        finally:
            services.stop()


@pytest.fixture(scope="session")
async def service_urls(_services: ServiceSet) -> AsyncIterator[ServiceUrls]:
    admin_url = _services.database_url
    async with scratch_database(admin_url, "test") as db_name:
        urls = ServiceUrls(
            database_url=_with_database(admin_url, db_name),
            admin_url=admin_url,
            nats_url=_services.nats_url,
            redis_url=_services.redis_url,
        )
        _migrate(urls.database_url)
        with environment(DATABASE_URL=urls.database_url, NATS_URL=urls.nats_url, REDIS_URL=urls.redis_url):
            yield urls


@pytest.fixture
async def serve_app() -> AsyncIterator[Callable[[Any], Awaitable[str]]]:
    """`base_url = await serve_app(app)`: the app runs on a free loopback port until the test ends."""
    async with contextlib.AsyncExitStack() as stack:

        async def _serve(app: Any) -> str:
            return await stack.enter_async_context(serve_asgi(app))

        yield _serve


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return _ROOT
