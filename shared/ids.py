"""Stable ids for seeded and externally referenced rows."""

from __future__ import annotations

import uuid

# Namespace of every deterministic id in this project (uuid5 of a readable name).
B2B_NAMESPACE = uuid.UUID("6f2c1d1e-4a0b-5c3d-9e8f-b2b0c0ffee01")


def stable_id(*parts: str) -> uuid.UUID:
    """The same id for the same parts on every machine, e.g. `stable_id("tenant", "acme")`."""
    return uuid.uuid5(B2B_NAMESPACE, "/".join(parts))
