"""Headless Chromium for the GraphiQL tests: the DOM a page renders, offline but for loopback."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


async def dump_dom(url: str, profile_dir: Path) -> str:
    """Load `url` in headless Chromium (profile in `profile_dir`) and return the rendered DOM."""
    assert CHROMIUM is not None
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={profile_dir}",
        # Any host but the loopback address fails to resolve: the page must not need the internet.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        dom, _ = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return dom.decode(errors="replace")
