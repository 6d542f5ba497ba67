"""The domain event envelope every subgraph publishes and consumes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def subject_for(domain: str, tenant_id: uuid.UUID | str, event: str) -> str:
    """`<domain>.<tenant>.<event>`, e.g. `orders.<tenant uuid>.placed`. Each part is one NATS token."""
    parts = (domain, str(tenant_id), event)
    for part in parts:
        if not _TOKEN.match(part):
            raise ValueError(f"not a single NATS subject token: {part!r}")
    return ".".join(parts)


class EventEnvelope(BaseModel):
    """`type` is `<domain>.<event>` (e.g. `orgs.organization_created`); `subject_id` is the id of
    the entity the event is about; `version` is the schema version of `data`."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    tenant_id: uuid.UUID
    subject_id: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.type.split(".", 1)[1]

    @property
    def subject(self) -> str:
        return subject_for(self.domain, self.tenant_id, self.event)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> EventEnvelope:
        return cls.model_validate(orjson.loads(raw))

    @classmethod
    def new(
        cls,
        domain: str,
        event: str,
        *,
        tenant_id: uuid.UUID | str,
        subject_id: uuid.UUID | str,
        data: dict[str, Any] | None = None,
        version: int = 1,
    ) -> EventEnvelope:
        subject_for(domain, tenant_id, event)  # validate the tokens early, at the call site
        return cls(
            type=f"{domain}.{event}",
            tenant_id=uuid.UUID(str(tenant_id)),
            subject_id=str(subject_id),
            data=data or {},
            version=version,
        )
