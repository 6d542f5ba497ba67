"""Payment providers: one adapter interface, and the built-in sandbox provider.

A provider confirms money by webhook. The adapter turns the raw (already signature-checked)
body into a `ProviderEvent`; payments.py applies it once per provider event id.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import orjson

from subgraphs.finance import webhooks
from subgraphs.finance.config import get_finance_settings
from subgraphs.finance.money import MoneyError, parse_amount

if TYPE_CHECKING:
    from subgraphs.finance.reconciliation import StatementLine

CAPTURED = "payment.captured"
FAILED = "payment.failed"
EVENT_TYPES = frozenset({CAPTURED, FAILED})


class ProviderEventError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    event_id: str
    type: str
    tenant_id: uuid.UUID
    order_id: uuid.UUID
    reference: str
    amount: Decimal
    currency: str


class PaymentProvider(Protocol):
    name: str

    def webhook_secret(self) -> bytes: ...

    def parse_event(self, body: bytes) -> ProviderEvent: ...

    async def statement(self, tenant_id: uuid.UUID, day: date) -> list[StatementLine] | None:
        """The provider's statement of one UTC day for the tenant; None: it offers none."""
        ...


def _uuid(value: object, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ProviderEventError(f"{what} is not a UUID") from None


class SandboxProvider:
    """A provider that lives in this process: `payment_event` builds the webhook it would send."""

    name = "sandbox"

    async def statement(self, tenant_id: uuid.UUID, day: date) -> list[StatementLine] | None:
        # The sandbox keeps no books of its own: the scheduled reconciliation checks the ledger
        # against the payments only; a statement can be handed in with `reconciliationRun`.
        return None

    def __init__(self, secret: str | None = None) -> None:
        self._secret = (secret or get_finance_settings().sandbox_webhook_secret).encode()

    def webhook_secret(self) -> bytes:
        return self._secret

    def parse_event(self, body: bytes) -> ProviderEvent:
        try:
            raw = orjson.loads(body)
            data = raw["data"]
            event_type = str(raw["type"])
            currency = str(data["currency"]).upper()
            amount = parse_amount(str(data["amount"]), currency)
            event = ProviderEvent(
                event_id=str(raw["id"]),
                type=event_type,
                tenant_id=_uuid(data["metadata"]["tenant_id"], "tenant_id"),
                order_id=_uuid(data["metadata"]["order_id"], "order_id"),
                reference=str(data["reference"]),
                amount=amount,
                currency=currency,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, MoneyError) as exc:
            raise ProviderEventError(f"malformed sandbox event: {exc}") from None
        if event.type not in EVENT_TYPES or not event.event_id or len(event.event_id) > 200:
            raise ProviderEventError("unknown sandbox event")
        return event

    # ----------------------------------------------------------------- what the sandbox would send

    @staticmethod
    def payment_event(
        *,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        event_type: str = CAPTURED,
        event_id: str | None = None,
        reference: str | None = None,
    ) -> bytes:
        return orjson.dumps(
            {
                "id": event_id or f"evt_{uuid.uuid4().hex}",
                "type": event_type,
                "data": {
                    "reference": reference or f"sbx_{uuid.uuid4().hex[:16]}",
                    "amount": format(amount, "f"),
                    "currency": currency,
                    "metadata": {"tenant_id": str(tenant_id), "order_id": str(order_id)},
                },
            }
        )

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            webhooks.SIGNATURE_HEADER: webhooks.signature_header(self._secret, ts, body),
            "content-type": "application/json",
        }


def providers() -> dict[str, PaymentProvider]:
    """The providers this process accepts webhooks from, by name (`/webhooks/<name>`)."""
    return {"sandbox": SandboxProvider()}
