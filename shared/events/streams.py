"""JetStream streams: one per domain, `<DOMAIN>` capturing `<domain>.>`."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.settings import get_settings

log = logging.getLogger(__name__)


def stream_name_for(domain: str) -> str:
    return domain.upper().replace("-", "_")


async def ensure_stream(
    js: JetStreamContext,
    domain: str,
    *,
    duplicate_window: float = 120.0,
    name: str | None = None,
    replicas: int | None = None,
) -> str:
    """Create (or bring up to date) the stream of `domain`. Idempotent and safe under races.

    The duplicate window is what makes the relay's at-least-once publishing exactly-once: a
    message whose `Nats-Msg-Id` was already stored inside the window is acknowledged and dropped.
    """
    stream = name or stream_name_for(domain)
    # On a JetStream cluster each stream is stored on `replicas` nodes (B2B_EVENT_STREAM_REPLICAS);
    # its durable consumers inherit that, so a node may die without losing events or positions.
    replicas = replicas or get_settings().event_stream_replicas
    config = StreamConfig(
        name=stream, subjects=[f"{domain}.>"], duplicate_window=duplicate_window, num_replicas=replicas
    )
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError:
            log.debug("stream %s created concurrently", stream)
        return stream
    stale = info.config.duplicate_window != duplicate_window or (info.config.num_replicas or 1) < replicas
    if stale or f"{domain}.>" not in (info.config.subjects or []):
        subjects = sorted({*(info.config.subjects or []), f"{domain}.>"})
        copies = max(replicas, info.config.num_replicas or 1)
        await js.update_stream(config.evolve(subjects=subjects, num_replicas=copies))
    return stream
