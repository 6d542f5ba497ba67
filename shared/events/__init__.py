"""Domain events: envelope, transactional outbox, relay to JetStream, idempotent consumers.

See docs/events.md.
"""

from shared.events.consumer import IdempotentConsumer
from shared.events.envelope import EventEnvelope, subject_for
from shared.events.outbox import add_event
from shared.events.relay import OutboxRelay
from shared.events.streams import ensure_stream, stream_name_for

__all__ = [
    "EventEnvelope",
    "IdempotentConsumer",
    "OutboxRelay",
    "add_event",
    "ensure_stream",
    "stream_name_for",
    "subject_for",
]
