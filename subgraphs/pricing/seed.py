"""Demo data of the pricing subgraph, over the orgs seed's organizations and the catalog's demo SKUs.

- `pricing.org_units`: the orgs seed's organization tree (the events would bring the same).
- A BASE list "List prices USD" for every demo SKU with breaks at 1, 10 and 50 units.
- Northwind (buyer): a negotiated list (gloves and power tools, breaks 1/25/100, priority 10), a
  welding-wire CONTRACT list, an abrasives promotion (priority 20, current window) and an expired
  2025 list (priority 100, never chosen: outside its window).
- Northwind Plant 2 (a unit of Northwind): its own disposable-gloves list, which beats the list it
  inherits from Northwind, with a quantity rule (minimum 10, steps of 10).
- Distributors: a reseller list. Steel bars: a default quantity rule (minimum 5, steps of 5).
- One open quote: Northwind asked Bolt Industrial for gloves and drills and got an offer.
- The second tenant (Globex) gets a small EUR base list, to make tenant isolation visible.

Idempotent: fixed ids and `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events import add_event
from shared.ids import stable_id
from subgraphs.catalog.demo_data import DEMO_PRODUCTS
from subgraphs.catalog.demo_ids import product_id, sku_id
from subgraphs.orgs import seed as orgs_seed
from subgraphs.pricing import events
from subgraphs.pricing import quotes as q
from subgraphs.pricing.models import (
    SCHEMA,
    OrgUnit,
    Price,
    PriceList,
    PriceListAssignment,
    QuantityRuleRow,
    QuoteRow,
)
from subgraphs.pricing.service import write_quote_versions

TENANT_ID = orgs_seed.DEMO_TENANT_ID
OTHER_TENANT_ID = orgs_seed.OTHER_TENANT_ID


def _list_id(key: str) -> uuid.UUID:
    return stable_id("price_list", "acme-mro", key)


BASE_LIST_ID = _list_id("base-usd")
NORTHWIND_LIST_ID = _list_id("northwind-negotiated")
NORTHWIND_CONTRACT_ID = _list_id("northwind-welding-contract")
NORTHWIND_PROMO_ID = _list_id("northwind-abrasives-promo")
NORTHWIND_EXPIRED_ID = _list_id("northwind-2025")
PLANT2_LIST_ID = _list_id("northwind-plant-2-gloves")
DISTRIBUTOR_LIST_ID = _list_id("distributor-resale")
GLOBEX_BASE_ID = stable_id("price_list", "globex", "base-eur")
DEMO_QUOTE_ID = stable_id("quote", "acme-mro", "northwind-gloves-rfq")

# Typical list price (USD) of one selling unit per category; SKUs vary around it.
CATEGORY_BASE: dict[str, Decimal] = {
    "disposable-gloves": Decimal("14.50"),
    "work-gloves": Decimal("6.80"),
    "drills": Decimal("189.00"),
    "angle-grinders": Decimal("139.00"),
    "cutting-discs": Decimal("2.40"),
    "grinding-discs": Decimal("3.10"),
    "flap-discs": Decimal("4.20"),
    "welding-wire": Decimal("58.00"),
    "electrodes": Decimal("32.00"),
    "steel-bars": Decimal("24.00"),
    "steel-sheets": Decimal("96.00"),
    "steel-tubes": Decimal("41.00"),
}
GLOVES = ("disposable-gloves", "work-gloves")
POWER_TOOLS = ("drills", "angle-grinders")
ABRASIVES = ("cutting-discs", "grinding-discs", "flap-discs")
PLACES = Decimal("0.0001")


def list_price(code: str, category: str) -> Decimal:
    """Deterministic base price: the category's typical price x 0.80..1.59 by the SKU code's hash."""
    factor = Decimal(80 + hashlib.sha256(code.encode()).digest()[0] % 80) / 100
    return (CATEGORY_BASE.get(category, Decimal("10.00")) * factor).quantize(Decimal("0.01"), ROUND_HALF_EVEN)


def _pct(amount: Decimal, percent: int) -> Decimal:
    return (amount * percent / 100).quantize(PLACES, ROUND_HALF_EVEN)


def _skus(categories: Sequence[str] | None = None) -> list[tuple[uuid.UUID, uuid.UUID, Decimal]]:
    """(sku id, product id, base price) of the demo SKUs in `categories` (all when None)."""
    return [
        (sku_id(sku.code), product_id(p.ref), list_price(sku.code, p.category))
        for p in DEMO_PRODUCTS
        if categories is None or p.category in categories
        for sku in p.skus
    ]


def _price_rows(
    tenant_id: uuid.UUID,
    list_id: uuid.UUID,
    skus: list[tuple[uuid.UUID, uuid.UUID, Decimal]],
    percent: int,
    breaks: dict[int, int],
) -> list[dict[str, Any]]:
    """`breaks`: min quantity -> percent of the list's own price (100 at quantity 1)."""
    return [
        {
            "id": stable_id("price", str(list_id), str(sku), str(min_qty)),
            "tenant_id": tenant_id,
            "price_list_id": list_id,
            "sku_id": sku,
            "product_id": product,
            "min_quantity": min_qty,
            "unit_amount": _pct(_pct(base, percent), step),
        }
        for sku, product, base in skus
        for min_qty, step in breaks.items()
    ]


async def _insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]], chunk: int = 1000) -> None:
    for start in range(0, len(rows), chunk):
        await session.execute(insert(model).values(rows[start : start + chunk]).on_conflict_do_nothing())


def _org_units(tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    currency = "USD" if tenant_id == TENANT_ID else "EUR"
    return [
        {
            "tenant_id": tenant_id,
            "id": org["id"],
            "parent_id": org.get("parent_id"),
            "kind": org["kind"],
            "name": org["name"],
            # The top of each tree names the currency; units inherit it.
            "currency": currency if org.get("parent_id") is None else None,
        }
        for org in orgs_seed.ORGANIZATIONS
        if org["tenant_id"] == tenant_id
    ]


def _lists() -> list[dict[str, Any]]:
    def row(list_id: uuid.UUID, name: str, kind: str, priority: int = 0, **extra: Any) -> dict[str, Any]:
        return {
            "id": list_id,
            "tenant_id": TENANT_ID,
            "name": name,
            "currency": "USD",
            "kind": kind,
            "priority": priority,
            "active": True,
            "valid_from": None,
            "valid_to": None,
            "seller_organization_id": orgs_seed.SUPPLIER_ID,
            **extra,
        }

    return [
        row(BASE_LIST_ID, "List prices USD", "BASE", seller_organization_id=orgs_seed.PLATFORM_ID),
        row(NORTHWIND_LIST_ID, "Northwind negotiated prices", "STANDARD", 10),
        row(NORTHWIND_CONTRACT_ID, "Northwind welding wire contract", "CONTRACT"),
        row(
            NORTHWIND_PROMO_ID,
            "Northwind abrasives promotion",
            "STANDARD",
            20,
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            valid_to=datetime(2028, 1, 1, tzinfo=UTC),
        ),
        row(
            NORTHWIND_EXPIRED_ID,
            "Northwind 2025 prices",
            "STANDARD",
            100,
            valid_from=datetime(2025, 1, 1, tzinfo=UTC),
            valid_to=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        row(PLANT2_LIST_ID, "Northwind Plant 2 gloves", "STANDARD"),
        row(DISTRIBUTOR_LIST_ID, "Distributor resale prices", "STANDARD", 5),
    ]


def demo_quote(now: datetime) -> q.Quote:
    gloves = sku_id(DEMO_PRODUCTS[0].skus[1].code)
    drill = next(sku_id(p.skus[0].code) for p in DEMO_PRODUCTS if p.category == "drills")
    requested = q.request_quote(
        quote_id=DEMO_QUOTE_ID,
        buyer_organization_id=orgs_seed.BUYER_ID,
        seller_organization_id=orgs_seed.SUPPLIER_ID,
        currency="USD",
        items=[
            q.RequestedItem(gloves, 500, Decimal("11.00"), "Quarterly volume for both plants"),
            q.RequestedItem(drill, 20, None, None),
        ],
        note="Please quote delivery to Plant 2 included.",
        now=now - timedelta(days=2),
        requested_by=orgs_seed.BUYER_USER_ID,
    )
    return q.respond(
        requested,
        q.QuoteActor.SELLER,
        lines=[q.OfferLine(gloves, 500, Decimal("11.4500")), q.OfferLine(drill, 20, Decimal("162.0000"))],
        valid_until=now + timedelta(days=30),
        terms="Net 30, DAP Plant 2, prices firm for the validity period.",
        note="Volume price for 500 boxes.",
        now=now - timedelta(days=1),
    )


async def _seed_quote(session: AsyncSession) -> None:
    if await session.get(QuoteRow, DEMO_QUOTE_ID) is not None:
        return
    quote = demo_quote(datetime.now(UTC))
    session.add(
        QuoteRow(
            id=quote.id,
            tenant_id=TENANT_ID,
            buyer_organization_id=quote.buyer_organization_id,
            seller_organization_id=quote.seller_organization_id,
            requested_by=quote.requested_by,
            currency=quote.currency,
            status=quote.status.value,
            created_at=quote.created_at,
            updated_at=quote.updated_at,
            row_version=2,
        )
    )
    await session.flush()
    await write_quote_versions(session, TENANT_ID, None, quote)
    await add_event(session, SCHEMA, events.quote_requested(TENANT_ID, quote))
    await add_event(session, SCHEMA, events.quote_responded(TENANT_ID, quote))


async def seed(db: Database) -> None:
    async with db.tenant_session(TENANT_ID) as session:
        await _insert(session, OrgUnit, _org_units(TENANT_ID))
        await _insert(session, PriceList, _lists())
        distributors = [
            o["id"]
            for o in orgs_seed.ORGANIZATIONS
            if o["kind"] == "DISTRIBUTOR" and o["tenant_id"] == TENANT_ID
        ]
        assignments = [
            (NORTHWIND_LIST_ID, orgs_seed.BUYER_ID),
            (NORTHWIND_CONTRACT_ID, orgs_seed.BUYER_ID),
            (NORTHWIND_PROMO_ID, orgs_seed.BUYER_ID),
            (NORTHWIND_EXPIRED_ID, orgs_seed.BUYER_ID),
            (PLANT2_LIST_ID, orgs_seed.BUYER_PLANT_ID),
            *((DISTRIBUTOR_LIST_ID, d) for d in distributors),
        ]
        await _insert(
            session,
            PriceListAssignment,
            [
                {"tenant_id": TENANT_ID, "price_list_id": pl, "organization_id": org}
                for pl, org in assignments
            ],
        )
        prices = [
            *_price_rows(TENANT_ID, BASE_LIST_ID, _skus(), 100, {1: 100, 10: 95, 50: 90}),
            *_price_rows(
                TENANT_ID, NORTHWIND_LIST_ID, _skus(GLOVES + POWER_TOOLS), 92, {1: 100, 25: 96, 100: 92}
            ),
            *_price_rows(TENANT_ID, NORTHWIND_CONTRACT_ID, _skus(("welding-wire",)), 85, {1: 100}),
            *_price_rows(TENANT_ID, NORTHWIND_PROMO_ID, _skus(ABRASIVES), 88, {1: 100, 50: 95}),
            *_price_rows(TENANT_ID, NORTHWIND_EXPIRED_ID, _skus(GLOVES), 80, {1: 100}),
            *_price_rows(TENANT_ID, PLANT2_LIST_ID, _skus(("disposable-gloves",)), 86, {1: 100, 50: 97}),
            *_price_rows(TENANT_ID, DISTRIBUTOR_LIST_ID, _skus(), 80, {1: 100, 20: 97}),
        ]
        await _insert(session, Price, prices)
        rules = [
            {
                "id": stable_id("quantity_rule", "default", str(sku)),
                "tenant_id": TENANT_ID,
                "sku_id": sku,
                "price_list_id": None,
                "minimum": 5,
                "maximum": None,
                "increment": 5,
            }
            for sku, _, _ in _skus(("steel-bars",))
        ] + [
            {
                "id": stable_id("quantity_rule", str(PLANT2_LIST_ID), str(sku)),
                "tenant_id": TENANT_ID,
                "sku_id": sku,
                "price_list_id": PLANT2_LIST_ID,
                "minimum": 10,
                "maximum": 5000,
                "increment": 10,
            }
            for sku, _, _ in _skus(("disposable-gloves",))
        ]
        await _insert(session, QuantityRuleRow, rules)
        await _seed_quote(session)

    async with db.tenant_session(OTHER_TENANT_ID) as session:
        await _insert(session, OrgUnit, _org_units(OTHER_TENANT_ID))
        await _insert(
            session,
            PriceList,
            [
                {
                    "id": GLOBEX_BASE_ID,
                    "tenant_id": OTHER_TENANT_ID,
                    "name": "Globex list prices EUR",
                    "currency": "EUR",
                    "kind": "BASE",
                    "priority": 0,
                    "active": True,
                }
            ],
        )
        await _insert(
            session,
            Price,
            _price_rows(OTHER_TENANT_ID, GLOBEX_BASE_ID, _skus(("steel-bars",)), 110, {1: 100}),
        )
