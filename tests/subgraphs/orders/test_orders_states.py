"""The order state machine (pure): the table, and a Hypothesis property over random sequences."""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from subgraphs.orders import approvals
from subgraphs.orders import states as st
from subgraphs.orders.returns import return_allowed

S = st.OrderState


def test_happy_path_is_allowed() -> None:
    path = [
        S.DRAFT,
        S.PENDING_APPROVAL,
        S.PLACED,
        S.RESERVED,
        S.CONFIRMED,
        S.PARTIALLY_SHIPPED,
        S.SHIPPED,
        S.DELIVERED,
        S.COMPLETED,
    ]
    for a, b in itertools.pairwise(path):
        assert st.check(a, b) == b


def test_final_states_and_refusals() -> None:
    assert {S.COMPLETED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.RESERVATION_FAILED} == st.FINAL
    with pytest.raises(st.InvalidTransition):
        st.check(S.PLACED, S.CONFIRMED)  # never confirmed unless stock reserved and committed
    with pytest.raises(st.InvalidTransition):
        st.check(S.SHIPPED, S.CANCELLED)
    with pytest.raises(st.InvalidTransition):
        st.check("nonsense", S.PLACED)
    assert not st.allowed(S.CONFIRMED, S.EXPIRED)  # a committed reservation never expires


@given(hs.lists(hs.sampled_from(list(S)), max_size=40))
def test_random_sequences_only_walk_edges(targets: list[st.OrderState]) -> None:
    state = S.DRAFT
    history = [state]
    for target in targets:
        before = state
        try:
            state = st.check(state, target)
        except st.InvalidTransition:
            assert state == before  # refused: nothing changed
            assert target not in st.TRANSITIONS[before]
            continue
        assert target in st.TRANSITIONS[before]
        history.append(state)
    # once final, forever final; no state is ever entered twice (the graph is acyclic)
    finals = [i for i, s in enumerate(history) if st.is_final(s)]
    assert not finals or finals[0] == len(history) - 1
    assert len(set(history)) == len(history)


def test_returns_machine() -> None:
    assert return_allowed("requested", "approved") and return_allowed("received", "refund_requested")
    assert not return_allowed("requested", "received") and not return_allowed("rejected", "approved")


def test_approval_rules_match_and_merge() -> None:
    seller, other, cat = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    over = approvals.Rule(uuid.uuid4(), 1, 0, ("approver",), min_total=Decimal("5000"), currency="USD")
    by_cat = approvals.Rule(uuid.uuid4(), 0, 0, ("safety", "approver"), category_id=cat)
    by_seller = approvals.Rule(uuid.uuid4(), 0, 1, ("buyer_admin",), seller_organization_id=seller)
    order = approvals.OrderFacts(Decimal("5000.01"), "USD", seller, frozenset({cat}))
    assert approvals.tiers_for([over, by_cat, by_seller], order) == ["safety", "approver", "buyer_admin"]
    exactly = approvals.OrderFacts(Decimal("5000.00"), "USD", other, frozenset())
    assert approvals.tiers_for([over, by_cat, by_seller], exactly) == []  # "over" is strict
    eur = approvals.OrderFacts(Decimal("9000"), "EUR", other, frozenset())
    assert approvals.tiers_for([over], eur) == []  # no currency conversion
