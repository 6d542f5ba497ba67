"""Pure rules: terms and due dates, the credit check, webhook signatures (forgeries never pass)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subgraphs.finance import webhooks
from subgraphs.finance.money import MoneyError, parse_amount
from subgraphs.finance.terms import Terms, authorization_method, check_credit, due_at, effective_terms

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_terms_inherit_and_due_dates() -> None:
    company, unit, plant = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert effective_terms([(plant, None), (unit, None), (company, Terms.NET_60)]) is Terms.NET_60
    assert effective_terms([(plant, Terms.NET_15), (company, Terms.NET_60)]) is Terms.NET_15
    assert effective_terms([(plant, None)]) is Terms.PREPAID
    assert due_at(Terms.NET_30, NOW) == NOW + timedelta(days=30)
    assert due_at(Terms.PREPAID, NOW) == NOW == due_at(Terms.ON_FULFILMENT, NOW)
    assert [authorization_method(t) for t in (Terms.PREPAID, Terms.NET_15, Terms.ON_FULFILMENT)] == [
        "prepaid",
        "credit",
        "on_fulfilment",
    ]


def test_credit_check_boundaries() -> None:
    assert check_credit(Decimal("1000.00"), Decimal("400.00"), Decimal("600.00")).within_limit
    assert not check_credit(Decimal("1000.00"), Decimal("400.01"), Decimal("600.00")).within_limit
    assert not check_credit(None, Decimal(0), Decimal("0.01")).within_limit  # no line: hold


def test_amount_parsing_is_exact() -> None:
    assert parse_amount("12.5", "EUR") == Decimal("12.50")
    assert parse_amount("1000", "JPY") == Decimal("1000")
    for bad in ("1.001", "-1", "0", "NaN", "Infinity", "abc", "1e400000"):
        with pytest.raises(MoneyError):
            parse_amount(bad, "EUR")
    with pytest.raises(MoneyError):
        parse_amount("1.5", "JPY")


SECRET = b"s3cret"


def test_webhook_signature_round_trip_and_refusals() -> None:
    body = b'{"id":"evt_1"}'
    header = webhooks.signature_header(SECRET, 1_000, body)
    assert webhooks.verify(SECRET, header, body, now=1_100, tolerance=300) == 1_000
    for bad_header, now in ((None, 1_000), ("garbage", 1_000), (header, 1_301), (header, 699)):
        with pytest.raises(webhooks.WebhookError):
            webhooks.verify(SECRET, bad_header, body, now=now, tolerance=300)
    with pytest.raises(webhooks.WebhookError, match="mismatch"):
        webhooks.verify(b"other", header, body, now=1_000, tolerance=300)
    # Rotation: a header may carry several v1 signatures; one valid is enough.
    rotated = f"{header},v1={'0' * 64}"
    assert webhooks.verify(SECRET, rotated, body, now=1_000, tolerance=300) == 1_000


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(min_size=1, max_size=200), st.integers(0, 10**10))
def test_a_changed_body_or_timestamp_never_verifies(body: bytes, other: bytes, ts: int) -> None:
    header = webhooks.signature_header(SECRET, ts, body)
    if other != body:
        with pytest.raises(webhooks.WebhookError):
            webhooks.verify(SECRET, header, other, now=ts, tolerance=300)
    moved = header.replace(f"t={ts},", f"t={ts + 1},")
    with pytest.raises(webhooks.WebhookError):
        webhooks.verify(SECRET, moved, body, now=ts, tolerance=300)
