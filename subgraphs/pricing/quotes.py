"""The quote negotiation as a state machine over plain dataclasses (no database, no GraphQL).

    REQUESTED --respond (seller)--> QUOTED --accept (buyer)--> ACCEPTED
        |                             |  \\--reject (buyer)--> REJECTED
        |--reject (seller declines, buyer withdraws)--> REJECTED
        |                             |--(valid_until passes)--> EXPIRED
    QUOTED / EXPIRED --revise (buyer renegotiates)--> REQUESTED with a new version

Every round of negotiation is a `QuoteVersion`: the buyer's request (items, target prices,
note) and, once the seller answered, the offer (lines, validity, terms). `revise` appends a
version; old versions are never changed, so the history of the negotiation stays readable.
ACCEPTED and REJECTED are final. EXPIRED is reached by time: `effective_status` reports it as
soon as the offer's `valid_until` has passed, whether or not the row was updated yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.money import Money, line_total, normalize_currency, parse_unit_amount

MAX_QUOTE_LINES = 200
MAX_NOTE_LENGTH = 4000


class QuoteStatus(StrEnum):
    REQUESTED = "REQUESTED"
    QUOTED = "QUOTED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class QuoteActor(StrEnum):
    BUYER = "BUYER"
    SELLER = "SELLER"


FINAL_STATUSES = frozenset({QuoteStatus.ACCEPTED, QuoteStatus.REJECTED})


@dataclass(frozen=True, slots=True)
class RequestedItem:
    sku_id: uuid.UUID
    quantity: int
    target_unit_price: Decimal | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OfferLine:
    sku_id: uuid.UUID
    quantity: int
    unit_price: Decimal

    def total(self, currency: str) -> Decimal:
        return line_total(self.unit_price, self.quantity, currency)


@dataclass(frozen=True, slots=True)
class QuoteVersion:
    number: int
    items: tuple[RequestedItem, ...]
    buyer_note: str | None
    requested_at: datetime
    lines: tuple[OfferLine, ...] | None = None  # None until the seller responds
    valid_until: datetime | None = None
    terms: str | None = None
    seller_note: str | None = None
    responded_at: datetime | None = None

    def total(self, currency: str) -> Money | None:
        if self.lines is None:
            return None
        amount = sum((line.total(currency) for line in self.lines), Money.zero(currency).amount)
        return Money(amount, currency)


@dataclass(frozen=True, slots=True)
class Quote:
    id: uuid.UUID
    buyer_organization_id: uuid.UUID
    seller_organization_id: uuid.UUID | None
    currency: str
    status: QuoteStatus
    versions: tuple[QuoteVersion, ...]
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    reject_reason: str | None = None
    requested_by: uuid.UUID | None = None

    @property
    def current(self) -> QuoteVersion:
        return self.versions[-1]


def effective_status(quote: Quote, now: datetime) -> QuoteStatus:
    """QUOTED whose offer ran out reads as EXPIRED."""
    valid_until = quote.current.valid_until
    if quote.status == QuoteStatus.QUOTED and valid_until is not None and now >= valid_until:
        return QuoteStatus.EXPIRED
    return quote.status


def _illegal(quote: Quote, action: str, now: datetime) -> PricingError:
    status = effective_status(quote, now)
    if status == QuoteStatus.EXPIRED and action == "accept":
        return PricingError(ErrorCode.QUOTE_EXPIRED, "The quote has expired; revise it to renegotiate.")
    return PricingError(ErrorCode.ILLEGAL_TRANSITION, f"Cannot {action} a quote that is {status.value}.")


def _note(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_NOTE_LENGTH:
        raise PricingError(ErrorCode.INVALID_INPUT, f"At most {MAX_NOTE_LENGTH} characters.", field)
    return value or None


def _check_quantity(quantity: int, field: str) -> None:
    if quantity < 1:
        raise PricingError(ErrorCode.INVALID_QUANTITY, "Quantity must be at least 1.", field)


def validate_items(items: Sequence[RequestedItem], field: str = "items") -> tuple[RequestedItem, ...]:
    if not items:
        raise PricingError(ErrorCode.INVALID_INPUT, "A quote request needs at least one item.", field)
    if len(items) > MAX_QUOTE_LINES:
        raise PricingError(ErrorCode.INVALID_INPUT, f"At most {MAX_QUOTE_LINES} items.", field)
    checked: list[RequestedItem] = []
    for i, item in enumerate(items):
        _check_quantity(item.quantity, f"{field}.{i}.quantity")
        target = item.target_unit_price
        if target is not None:
            target = parse_unit_amount(target, f"{field}.{i}.targetUnitPrice")
        checked.append(replace(item, target_unit_price=target, note=_note(item.note, f"{field}.{i}.note")))
    return tuple(checked)


def validate_lines(lines: Sequence[OfferLine], field: str = "lines") -> tuple[OfferLine, ...]:
    if not lines:
        raise PricingError(ErrorCode.INVALID_INPUT, "A quote needs at least one line.", field)
    if len(lines) > MAX_QUOTE_LINES:
        raise PricingError(ErrorCode.INVALID_INPUT, f"At most {MAX_QUOTE_LINES} lines.", field)
    checked: list[OfferLine] = []
    for i, line in enumerate(lines):
        _check_quantity(line.quantity, f"{field}.{i}.quantity")
        checked.append(replace(line, unit_price=parse_unit_amount(line.unit_price, f"{field}.{i}.unitPrice")))
    return tuple(checked)


def request_quote(
    *,
    quote_id: uuid.UUID,
    buyer_organization_id: uuid.UUID,
    seller_organization_id: uuid.UUID | None,
    currency: str,
    items: Sequence[RequestedItem],
    note: str | None,
    now: datetime,
    requested_by: uuid.UUID | None = None,
) -> Quote:
    version = QuoteVersion(1, validate_items(items), _note(note, "note"), now)
    return Quote(
        id=quote_id,
        buyer_organization_id=buyer_organization_id,
        seller_organization_id=seller_organization_id,
        currency=normalize_currency(currency),
        status=QuoteStatus.REQUESTED,
        versions=(version,),
        created_at=now,
        updated_at=now,
        requested_by=requested_by,
    )


def _require(actor: QuoteActor, expected: QuoteActor) -> None:
    if actor != expected:
        code = ErrorCode.NOT_QUOTE_BUYER if expected == QuoteActor.BUYER else ErrorCode.NOT_QUOTE_SELLER
        raise PricingError(code, f"Only the {expected.value.lower()} may do this.")


def respond(
    quote: Quote,
    actor: QuoteActor,
    *,
    lines: Sequence[OfferLine],
    valid_until: datetime,
    terms: str | None,
    note: str | None,
    now: datetime,
) -> Quote:
    """The seller's offer for the current version: REQUESTED -> QUOTED."""
    _require(actor, QuoteActor.SELLER)
    if effective_status(quote, now) != QuoteStatus.REQUESTED:
        raise _illegal(quote, "respond to", now)
    if valid_until <= now:
        raise PricingError(ErrorCode.INVALID_VALIDITY, "validUntil must be in the future.", "validUntil")
    version = replace(
        quote.current,
        lines=validate_lines(lines),
        valid_until=valid_until,
        terms=_note(terms, "terms"),
        seller_note=_note(note, "note"),
        responded_at=now,
    )
    return replace(quote, status=QuoteStatus.QUOTED, versions=(*quote.versions[:-1], version), updated_at=now)


def accept(quote: Quote, actor: QuoteActor, now: datetime) -> Quote:
    """The buyer takes the current offer: QUOTED (and not expired) -> ACCEPTED."""
    _require(actor, QuoteActor.BUYER)
    if effective_status(quote, now) != QuoteStatus.QUOTED:
        raise _illegal(quote, "accept", now)
    return replace(quote, status=QuoteStatus.ACCEPTED, decided_at=now, updated_at=now)


def reject(quote: Quote, actor: QuoteActor, reason: str | None, now: datetime) -> Quote:
    """The buyer turns an offer down, or the seller declines a request."""
    status = effective_status(quote, now)
    allowed = (actor == QuoteActor.BUYER and status in (QuoteStatus.QUOTED, QuoteStatus.REQUESTED)) or (
        actor == QuoteActor.SELLER and status == QuoteStatus.REQUESTED
    )
    if not allowed:
        raise _illegal(quote, "reject", now)
    return replace(
        quote,
        status=QuoteStatus.REJECTED,
        decided_at=now,
        updated_at=now,
        reject_reason=_note(reason, "reason"),
    )


def revise(
    quote: Quote, actor: QuoteActor, items: Sequence[RequestedItem], note: str | None, now: datetime
) -> Quote:
    """The buyer renegotiates an offer (or an expired one): a new version in REQUESTED."""
    _require(actor, QuoteActor.BUYER)
    if effective_status(quote, now) not in (QuoteStatus.QUOTED, QuoteStatus.EXPIRED):
        raise _illegal(quote, "revise", now)
    version = QuoteVersion(quote.current.number + 1, validate_items(items), _note(note, "note"), now)
    return replace(quote, status=QuoteStatus.REQUESTED, versions=(*quote.versions, version), updated_at=now)


def expire(quote: Quote, now: datetime) -> Quote:
    """Persist the time-based expiry (a no-op unless the offer ran out)."""
    if effective_status(quote, now) == QuoteStatus.EXPIRED and quote.status != QuoteStatus.EXPIRED:
        return replace(quote, status=QuoteStatus.EXPIRED, updated_at=now)
    return quote
