"""The quote state machine: legal paths, illegal transitions, expiry and versions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.pricing import quotes as q
from subgraphs.pricing.errors import ErrorCode, PricingError

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SKU = uuid.UUID(int=7)
BUYER, SELLER = q.QuoteActor.BUYER, q.QuoteActor.SELLER


def _requested() -> q.Quote:
    return q.request_quote(
        quote_id=uuid.uuid4(),
        buyer_organization_id=uuid.UUID(int=1),
        seller_organization_id=uuid.UUID(int=2),
        currency="eur",
        items=[q.RequestedItem(SKU, 100, Decimal("4.5"), "  urgent ")],
        note="Please quote",
        now=NOW,
    )


def _quoted(valid_days: int = 7) -> q.Quote:
    return q.respond(
        _requested(),
        SELLER,
        lines=[q.OfferLine(SKU, 100, Decimal("4.7550"))],
        valid_until=NOW + timedelta(days=valid_days),
        terms="Net 30",
        note=None,
        now=NOW + timedelta(hours=1),
    )


def _code(fn: object, *args: object, **kwargs: object) -> ErrorCode:
    with pytest.raises(PricingError) as err:
        fn(*args, **kwargs)  # type: ignore[operator]
    return err.value.code


def test_request_respond_accept() -> None:
    quote = _requested()
    assert quote.status == q.QuoteStatus.REQUESTED and quote.currency == "EUR"
    assert quote.current.items[0].note == "urgent"
    assert quote.current.items[0].target_unit_price == Decimal("4.5000")
    quoted = _quoted()
    assert quoted.status == q.QuoteStatus.QUOTED
    total = quoted.current.total("EUR")
    assert total is not None and str(total.amount) == "475.50"
    accepted = q.accept(quoted, BUYER, NOW + timedelta(days=1))
    assert accepted.status == q.QuoteStatus.ACCEPTED and accepted.decided_at is not None
    for action in (
        lambda: q.accept(accepted, BUYER, NOW),
        lambda: q.reject(accepted, BUYER, None, NOW),
        lambda: q.revise(accepted, BUYER, [q.RequestedItem(SKU, 1)], None, NOW),
    ):
        assert _code(action) == ErrorCode.ILLEGAL_TRANSITION


def test_only_the_right_side_acts() -> None:
    assert (
        _code(
            q.respond,
            _requested(),
            BUYER,
            lines=[q.OfferLine(SKU, 1, Decimal(1))],
            valid_until=NOW + timedelta(days=1),
            terms=None,
            note=None,
            now=NOW,
        )
        == ErrorCode.NOT_QUOTE_SELLER
    )
    assert _code(q.accept, _quoted(), SELLER, NOW) == ErrorCode.NOT_QUOTE_BUYER
    assert (
        _code(q.revise, _quoted(), SELLER, [q.RequestedItem(SKU, 1)], None, NOW) == ErrorCode.NOT_QUOTE_BUYER
    )
    assert (
        _code(q.reject, _quoted(), SELLER, None, NOW) == ErrorCode.ILLEGAL_TRANSITION
    )  # seller only declines requests
    assert _code(q.accept, _requested(), BUYER, NOW) == ErrorCode.ILLEGAL_TRANSITION


def test_reject_paths() -> None:
    declined = q.reject(_requested(), SELLER, "Out of stock", NOW)
    assert declined.status == q.QuoteStatus.REJECTED and declined.reject_reason == "Out of stock"
    assert q.reject(_quoted(), BUYER, None, NOW).status == q.QuoteStatus.REJECTED


def test_expiry_and_renegotiation_keeps_versions() -> None:
    quoted = _quoted(valid_days=2)
    later = NOW + timedelta(days=3)
    assert q.effective_status(quoted, later) == q.QuoteStatus.EXPIRED
    assert q.effective_status(quoted, NOW + timedelta(days=1)) == q.QuoteStatus.QUOTED
    assert _code(q.accept, quoted, BUYER, later) == ErrorCode.QUOTE_EXPIRED
    assert q.expire(quoted, later).status == q.QuoteStatus.EXPIRED
    assert q.expire(quoted, NOW) is quoted
    revised = q.revise(
        q.expire(quoted, later), BUYER, [q.RequestedItem(SKU, 200, Decimal("4.2"))], "bigger", later
    )
    assert revised.status == q.QuoteStatus.REQUESTED
    assert [v.number for v in revised.versions] == [1, 2]
    assert revised.versions[0] == quoted.versions[0]  # the old version is untouched
    assert revised.current.lines is None
    requoted = q.respond(
        revised,
        SELLER,
        lines=[q.OfferLine(SKU, 200, Decimal("4.4"))],
        valid_until=later + timedelta(days=5),
        terms=None,
        note="final",
        now=later,
    )
    assert q.accept(requoted, BUYER, later).status == q.QuoteStatus.ACCEPTED
    assert requoted.versions[0].lines == quoted.versions[0].lines


@pytest.mark.parametrize(
    ("items", "field", "code"),
    [
        ([], "items", ErrorCode.INVALID_INPUT),
        ([q.RequestedItem(SKU, 0)], "items.0.quantity", ErrorCode.INVALID_QUANTITY),
        (
            [q.RequestedItem(SKU, 1), q.RequestedItem(SKU, 1, Decimal("1.23456"))],
            "items.1.targetUnitPrice",
            ErrorCode.AMOUNT_PRECISION,
        ),
        ([q.RequestedItem(SKU, 1, None, "x" * 5000)], "items.0.note", ErrorCode.INVALID_INPUT),
    ],
)
def test_bad_requests(items: list[q.RequestedItem], field: str, code: ErrorCode) -> None:
    with pytest.raises(PricingError) as err:
        q.request_quote(
            quote_id=uuid.uuid4(),
            buyer_organization_id=SKU,
            seller_organization_id=None,
            currency="EUR",
            items=items,
            note=None,
            now=NOW,
        )
    assert (err.value.code, err.value.field) == (code, field)


def test_bad_offers() -> None:
    base = {"valid_until": NOW + timedelta(days=1), "terms": None, "note": None, "now": NOW}
    assert _code(q.respond, _requested(), SELLER, lines=[], **base) == ErrorCode.INVALID_INPUT
    assert _code(q.respond, _requested(), SELLER, lines=[q.OfferLine(SKU, 1, Decimal(-1))], **base) == (
        ErrorCode.INVALID_AMOUNT
    )
    assert (
        _code(
            q.respond,
            _requested(),
            SELLER,
            lines=[q.OfferLine(SKU, 1, Decimal(1))],
            valid_until=NOW,
            terms=None,
            note=None,
            now=NOW,
        )
        == ErrorCode.INVALID_VALIDITY
    )
    assert _code(q.respond, _quoted(), SELLER, lines=[q.OfferLine(SKU, 1, Decimal(1))], **base) == (
        ErrorCode.ILLEGAL_TRANSITION
    )


ACTIONS = ["respond", "accept", "reject", "revise", "wait"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from([BUYER, SELLER])), max_size=25))
def test_random_negotiations_keep_the_invariants(steps: list[tuple[str, q.QuoteActor]]) -> None:
    """Whatever happens: versions are numbered 1..n, superseded versions never change, final
    states are absorbing, and an acceptance only takes an unexpired offer."""
    quote, now = _requested(), NOW
    history: list[q.Quote] = [quote]
    for action, actor in steps:
        now += timedelta(days=1)
        before = quote
        try:
            if action == "respond":
                quote = q.respond(
                    quote,
                    actor,
                    lines=[q.OfferLine(SKU, 5, Decimal("2"))],
                    valid_until=now + timedelta(days=2),
                    terms=None,
                    note=None,
                    now=now,
                )
            elif action == "accept":
                quote = q.accept(quote, actor, now)
                valid_until = quote.current.valid_until
                assert quote.current.lines is not None and valid_until is not None and now < valid_until
            elif action == "reject":
                quote = q.reject(quote, actor, None, now)
            elif action == "revise":
                quote = q.revise(quote, actor, [q.RequestedItem(SKU, 5)], None, now)
            else:
                quote = q.expire(quote, now)
        except PricingError as exc:
            assert exc.code in set(ErrorCode)
            assert (
                before.status not in q.FINAL_STATUSES
                or exc.code == ErrorCode.ILLEGAL_TRANSITION
                or (exc.code in (ErrorCode.NOT_QUOTE_BUYER, ErrorCode.NOT_QUOTE_SELLER))
            )
            continue
        assert before.status not in q.FINAL_STATUSES or action == "wait", "a final state changed"
        assert [v.number for v in quote.versions] == list(range(1, len(quote.versions) + 1))
        assert quote.versions[: len(before.versions) - 1] == before.versions[:-1]
        history.append(quote)
    assert all(h.versions[0].items == history[0].versions[0].items for h in history)
