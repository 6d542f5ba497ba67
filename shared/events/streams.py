"""JetStream streams: one per domain, `<DOMAIN>` capturing `<domain>.>`."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)


def stream_name_for(domain: str) -> str:
    return domain.upper().replace("-", "_")


async def ensure_stream(
    js: JetStreamContext, domain: str, *, duplicate_window: float = 120.0, name: str | None = None
) -> str:
    """Create (or bring up to date) the stream of `domain`. Idempotent and safe under races.

    The duplicate window is what makes the relay's at-least-once publishing exactly-once: a
    message whose `Nats-Msg-Id` was already stored inside the window is acknowledged and dropped.
    """
    stream = name or stream_name_for(domain)
    config = StreamConfig(name=stream, subjects=[f"{domain}.>"], duplicate_window=duplicate_window)
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError:
            log.debug("stream %s created concurrently", stream)
        return stream
    if info.config.duplicate_window != duplicate_window or f"{domain}.>" not in (info.config.subjects or []):
        subjects = sorted({*(info.config.subjects or []), f"{domain}.>"})
        await js.update_stream(config.evolve(subjects=subjects))
    return stream
