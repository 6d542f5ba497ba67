"""Payment terms and credit decisions, as pure rules.

Terms are set per buyer organization and inherited down the business-unit tree: the nearest
organization on the way up that has terms set wins; none set anywhere means PREPAID (the safe
default: nobody buys on credit unless finance said so).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Terms(StrEnum):
    PREPAID = "PREPAID"
    NET_15 = "NET_15"
    NET_30 = "NET_30"
    NET_60 = "NET_60"
    ON_FULFILMENT = "ON_FULFILMENT"


DEFAULT_TERMS = Terms.PREPAID
_NET_DAYS = {Terms.NET_15: 15, Terms.NET_30: 30, Terms.NET_60: 60}


def is_credit(terms: Terms) -> bool:
    """Terms under which goods leave before the money arrives (the buyer's credit line is used)."""
    return terms is not Terms.PREPAID


def invoice_on_delivery(terms: Terms) -> bool:
    """ON_FULFILMENT invoices when the order is delivered; every other term when it is confirmed."""
    return terms is Terms.ON_FULFILMENT


def due_at(terms: Terms, issued_at: datetime) -> datetime:
    """PREPAID and ON_FULFILMENT are due on issue; NET n is due n days after."""
    return issued_at + timedelta(days=_NET_DAYS.get(terms, 0))


class InvoicePeriod(StrEnum):
    """How a buyer organization is invoiced for orders on NET terms: one invoice per order
    (the default), or one consolidated invoice per ISO week or calendar month (UTC)."""

    ORDER = "ORDER"
    WEEK = "WEEK"
    MONTH = "MONTH"


DEFAULT_PERIOD = InvoicePeriod.ORDER


def consolidates(terms: Terms, period: InvoicePeriod) -> bool:
    """Only orders on NET terms are consolidated: prepaid and on-fulfilment ones are due at once."""
    return period is not InvoicePeriod.ORDER and terms in _NET_DAYS


def period_bounds(period: InvoicePeriod, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the week (Monday 00:00 UTC) or month that contains `at`."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period is InvoicePeriod.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period is InvoicePeriod.MONTH:
        start = day.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return start, end
    raise ValueError("per-order invoices have no period")


def authorization_method(terms: Terms) -> str:
    """`method` of finance.payment_authorized for these terms."""
    if terms is Terms.PREPAID:
        return "prepaid"
    if terms is Terms.ON_FULFILMENT:
        return "on_fulfilment"
    return "credit"


def nearest_set(chain: Sequence[tuple[uuid.UUID, T | None]]) -> tuple[uuid.UUID, T] | None:
    """First (org, value) with a value along `chain` (the organization first, then its ancestors)."""
    for org, value in chain:
        if value is not None:
            return org, value
    return None


def effective_terms(chain: Sequence[tuple[uuid.UUID, Terms | None]]) -> Terms:
    found = nearest_set(chain)
    return found[1] if found else DEFAULT_TERMS


@dataclass(frozen=True, slots=True)
class CreditCheck:
    """The outcome of checking one order against a credit line."""

    within_limit: bool
    credit_limit: Decimal
    exposure: Decimal  # before this order
    amount: Decimal

    @property
    def exposure_after(self) -> Decimal:
        return self.exposure + self.amount


def check_credit(credit_limit: Decimal | None, exposure: Decimal, amount: Decimal) -> CreditCheck:
    """Within limit when exposure (open orders + unpaid invoices) plus this order stays at or
    under the limit. No credit line at all is a limit of zero: the order is held for approval."""
    limit = credit_limit if credit_limit is not None else Decimal(0)
    return CreditCheck(exposure + amount <= limit, limit, exposure, amount)
