"""The demo seed: idempotent, with Northwind's approval rule, the payment setting and two demo
purchases (one placed across two sellers, one pending approval)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from devstack.seed import seed_all
from shared.db import Database, app_database_url
from subgraphs.orders import seed
from subgraphs.orders.models import Order, OrderTransition, Purchase


async def test_seed_twice_changes_nothing(service_urls: Any) -> None:
    await seed_all(service_urls.database_url, ["orgs", "orders"])
    await seed_all(service_urls.database_url, ["orders"])
    db = Database.from_url(app_database_url(service_urls.database_url), pool_size=1)
    try:
        async with db.tenant_session(seed.TENANT_ID) as session:
            purchases = await session.scalar(
                select(func.count())
                .select_from(Purchase)
                .where(Purchase.id.in_([seed.PLANT2_PURCHASE_ID, seed.DRILLS_PURCHASE_ID]))
            )
            states = sorted(
                (
                    await session.scalars(
                        select(Order.state).where(
                            Order.purchase_id.in_([seed.PLANT2_PURCHASE_ID, seed.DRILLS_PURCHASE_ID])
                        )
                    )
                ).all()
            )
            transitions = await session.scalar(select(func.count()).select_from(OrderTransition))
            settings = await seed.service.get_settings(session, seed.TENANT_ID)
    finally:
        await db.dispose()
    assert purchases == 2 and states == ["pending_approval", "placed", "placed"]
    assert transitions is not None and transitions >= 3 and settings.approve_payment_on_placement is True
