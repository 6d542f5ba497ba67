"""Events of the pricing domain.

Published (stream `PRICING`, subjects `pricing.<tenant>.<event>`), written to `pricing.outbox` in
the transaction of the change:

- `pricing.quote_requested`  data: {quote_id, version, buyer_organization_id, seller_organization_id,
  currency}
- `pricing.quote_responded`  data: {quote_id, version, valid_until, total}
- `pricing.quote_revised`    data: {quote_id, version}
- `pricing.quote_rejected`   data: {quote_id, version, reason}
- `pricing.quote_accepted`   data: {quote_id, version, buyer_organization_id, seller_organization_id,
  requested_by, accepted_at, currency, terms, valid_until, total, lines: [{sku_id, quantity,
  unit_price, line_total}]} (amounts are decimal strings). The orders domain turns it into an order.

Consumed: `orgs.*` (`organization_created` and any later `organization_*` event carrying `id` and
`parent_id`) feeds the `pricing.org_units` projection of the organization tree (see consumers.py).
"""

from __future__ import annotations

from typing import Any

from shared.events import EventEnvelope
from subgraphs.pricing.money import Money
from subgraphs.pricing.quotes import Quote

DOMAIN = "pricing"
QUOTE_REQUESTED = "quote_requested"
QUOTE_RESPONDED = "quote_responded"
QUOTE_REVISED = "quote_revised"
QUOTE_REJECTED = "quote_rejected"
QUOTE_ACCEPTED = "quote_accepted"


def _uuid_str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _event(quote: Quote, tenant_id: object, event: str, data: dict[str, Any]) -> EventEnvelope:
    return EventEnvelope.new(
        DOMAIN,
        event,
        tenant_id=str(tenant_id),
        subject_id=quote.id,
        data={"quote_id": str(quote.id), "version": quote.current.number, **data},
    )


def quote_requested(tenant_id: object, quote: Quote) -> EventEnvelope:
    return _event(
        quote,
        tenant_id,
        QUOTE_REQUESTED,
        {
            "buyer_organization_id": str(quote.buyer_organization_id),
            "seller_organization_id": _uuid_str(quote.seller_organization_id),
            "currency": quote.currency,
        },
    )


def quote_responded(tenant_id: object, quote: Quote) -> EventEnvelope:
    total = quote.current.total(quote.currency)
    valid_until = quote.current.valid_until
    return _event(
        quote,
        tenant_id,
        QUOTE_RESPONDED,
        {
            "valid_until": valid_until.isoformat() if valid_until else None,
            "total": total.as_string() if total else None,
        },
    )


def quote_revised(tenant_id: object, quote: Quote) -> EventEnvelope:
    return _event(quote, tenant_id, QUOTE_REVISED, {})


def quote_rejected(tenant_id: object, quote: Quote) -> EventEnvelope:
    return _event(quote, tenant_id, QUOTE_REJECTED, {"reason": quote.reject_reason})


def quote_accepted(tenant_id: object, quote: Quote) -> EventEnvelope:
    version = quote.current
    currency = quote.currency
    total = version.total(currency) or Money.zero(currency)
    return _event(
        quote,
        tenant_id,
        QUOTE_ACCEPTED,
        {
            "buyer_organization_id": str(quote.buyer_organization_id),
            "seller_organization_id": _uuid_str(quote.seller_organization_id),
            "requested_by": _uuid_str(quote.requested_by),
            "accepted_at": quote.decided_at.isoformat() if quote.decided_at else None,
            "currency": currency,
            "terms": version.terms,
            "valid_until": version.valid_until.isoformat() if version.valid_until else None,
            "total": total.as_string(),
            "lines": [
                {
                    "sku_id": str(line.sku_id),
                    "quantity": line.quantity,
                    "unit_price": format(line.unit_price, "f"),
                    "line_total": format(line.total(currency), "f"),
                }
                for line in version.lines or ()
            ],
        },
    )
