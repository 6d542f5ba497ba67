"""The placement saga on a stack of OS processes (`bench.orders.stack`): every present subgraph
as its own uvicorn process and the gateway as `python -m gateway`, on a scratch database migrated
and seeded with `devstack.migrate`/`devstack.seed`, and a NATS server of this package's own (so a
test can restart it, and no other test's durable consumers or events meet these).

These tests are slow (a stack of eight processes, hundreds of orders): marked `saga` and `slow`.
A slow test runs under CI (which runs everything), with `B2B_SLOW_TESTS=1`, or when its folder is
named on the command line (`pytest tests/saga`); otherwise it is skipped with that hint.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bench.orders.stack import ProcessStack, process_stack
from devstack.services import ServiceUrls

__all__ = ["ProcessStack"]

HERE = Path(__file__).resolve().parent


def _slow_allowed(config: pytest.Config) -> bool:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        return True
    if os.environ.get("B2B_SLOW_TESTS", "") not in ("", "0"):
        return True
    return any(str(HERE) in str(Path(arg.split("::")[0]).resolve()) for arg in config.args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _slow_allowed(config):
        return
    skip = pytest.mark.skip(reason="slow (tests/saga): run with B2B_SLOW_TESTS=1 or `pytest tests/saga`")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def saga_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saga-logs")


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def procs(service_urls: ServiceUrls, saga_logs: Path) -> AsyncIterator[ProcessStack]:
    async with process_stack(
        service_urls.database_url, service_urls.admin_url, service_urls.redis_url, saga_logs
    ) as stack:
        yield stack
