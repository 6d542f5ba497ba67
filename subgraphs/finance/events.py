"""Events of the finance domain.

Published (stream `FINANCE`, subjects `finance.<tenant>.<event>`, `subject_id` = order id),
written to `finance.outbox` in the transaction of the change:

- `finance.payment_authorized`  {order_id, method: credit | prepaid | on_fulfilment, payment_id | null,
                                 amount, currency}
- `finance.credit_hold`         {order_id, buyer_organization_id, amount, currency, exposure, credit_limit}
- `finance.credit_approved`     {order_id, buyer_organization_id, approved_by}  (a hold released)
- `finance.payment_declined`    {order_id, reason}
- `finance.payment_captured`    {order_id, payment_id, method, amount, currency, reference | null}
- `finance.payment_failed`      {order_id, provider, reference, amount, currency}
- `finance.refund_paid`         {order_id, payment_id, amount, currency}
- `finance.invoice_issued` / `finance.invoice_paid` / `finance.invoice_overdue` / `finance.invoice_voided`
                                {order_id, invoice_id, number, total, paid, currency, due_at}
- `finance.settlement_done`     {order_id, settlement_id, amount, currency, shares: {...}, payouts: [...]}
- `finance.reconciliation_mismatch` {run_id, day, provider, kind, reference, payment_id, expected, actual}
                                 (`subject_id` = the run id)

Consumed: `orders.placed`, `orders.reserved`, `orders.confirmed`, `orders.delivered`,
`orders.cancelled` / `expired` / `rejected` / `reservation_failed` (docs/saga.md, "The finance
seam"), and `orgs.organization_*` (the organization tree projection).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope, add_event
from subgraphs.finance.models import SCHEMA

DOMAIN = "finance"


async def publish(
    session: AsyncSession, tenant_id: uuid.UUID, event: str, order_id: uuid.UUID, data: dict[str, Any]
) -> EventEnvelope:
    envelope = EventEnvelope.new(DOMAIN, event, tenant_id=tenant_id, subject_id=order_id, data=data)
    await add_event(session, SCHEMA, envelope)
    return envelope
