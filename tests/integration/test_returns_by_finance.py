"""Where the returns flow of orders ends, on the real JetStream: a delivered order's line is
returned (buyer requests, seller approves, receives and asks for the refund); finance issues the
credit note (the invoice owes less; nothing paid yet, so no money goes back) and orders marks
the return refunded. A seller cannot mark it refunded by hand."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from shared.errors import UserInputError
from subgraphs.finance.models import CreditNoteRow, InvoiceRow
from subgraphs.orders import service as orders_service
from subgraphs.orders.access import Viewer
from subgraphs.orders.models import ReturnRequest
from subgraphs.orders.states import OrderState
from subgraphs.orgs import seed as orgs_seed
from tests.integration.conftest import TENANT, Saga, chicago_skus, eventually


def _viewer(org: uuid.UUID) -> Viewer:
    return Viewer(TENANT, uuid.uuid4(), org, frozenset(), frozenset(), False, frozenset({org}))


async def test_a_returned_line_is_credited_and_the_return_ends_refunded(saga: Saga) -> None:
    await saga.settings(finance_decides=True)
    (sku,) = chicago_skus(1, skip=3)
    order = await saga.place(orgs_seed.BUYER_ID, [(sku, 4, "10.00")])  # Northwind: NET 30
    await saga.state_is(order.id, "confirmed")

    async def invoice() -> InvoiceRow | None:
        async with saga.db.tenant_session(TENANT) as session:
            query = select(InvoiceRow).where(InvoiceRow.order_id == order.id)
            return (await session.execute(query)).scalar_one_or_none()

    issued = await eventually(invoice, what="finance invoiced the order")
    assert issued.total == Decimal("40.00") and issued.lines[0]["unit_price"] in ("10.00", "10.0000")
    async with saga.db.tenant_session(TENANT) as session:  # the seller ships and delivers by hand
        row = await orders_service.order_for_update(session, order.id)
        assert row is not None
        for target in (OrderState.SHIPPED, OrderState.DELIVERED):
            await orders_service.transition(session, row, target, actor="integration-test")
        [line] = await orders_service.lines_of(session, order.id)
    buyer, seller = _viewer(orgs_seed.BUYER_ID), _viewer(orgs_seed.SUPPLIER_ID)
    async with saga.db.tenant_session(TENANT) as session:
        ret = await orders_service.request_return(session, buyer, order.id, [(line.id, 1, "dented")], None)
    for step in ("approved", "received", "refund_requested"):
        async with saga.db.tenant_session(TENANT) as session:
            await orders_service.move_return(session, seller, ret.id, step)

    async def note() -> CreditNoteRow | None:
        async with saga.db.tenant_session(TENANT) as session:
            query = select(CreditNoteRow).where(CreditNoteRow.return_id == ret.id)
            return (await session.execute(query)).scalar_one_or_none()

    credit = await eventually(note, what="finance issued the credit note")
    assert (credit.amount, credit.cash_refund, credit.clawback) == (Decimal("10.00"), 0, 0)
    credited = await invoice()
    assert credited is not None and credited.credited == Decimal("10.00")

    async def refunded() -> ReturnRequest | None:
        async with saga.db.tenant_session(TENANT) as session:
            found = await session.get(ReturnRequest, ret.id, populate_existing=True)
            return found if found is not None and found.state == "refunded" else None

    await eventually(refunded, what="orders marked the return refunded")
    with pytest.raises(UserInputError):
        async with saga.db.tenant_session(TENANT) as session:
            await orders_service.move_return(session, seller, ret.id, "refunded")
