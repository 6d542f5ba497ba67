"""Domain services of the pricing subgraph: the database side of the rules in resolution.py and
quotes.py. No GraphQL here: plain values in, dataclasses and rows out, business failures raised as
`PricingError` (the schema turns them into `userErrors`).

Every function takes an `AsyncSession` that is already a tenant transaction
(`RequestContext.session()` / `Database.tenant_session`), so RLS scopes every statement.

Statement budget of a price resolution, whatever the number of cart lines: one for the buyer's
ancestor chain, one for the candidate price lists with their assignments, one for the price
breaks, one for the quantity rules (see `load_snapshot`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import BadUserInputError
from shared.events import EventEnvelope, add_event
from subgraphs.pricing import events
from subgraphs.pricing import quotes as q
from subgraphs.pricing.errors import ErrorCode, PricingError
from subgraphs.pricing.models import (
    SCHEMA,
    OrgUnit,
    Price,
    PriceList,
    PriceListAssignment,
    QuantityRuleRow,
    QuoteRow,
    QuoteVersionRow,
)
from subgraphs.pricing.money import Money, normalize_currency, parse_unit_amount
from subgraphs.pricing.resolution import (
    AssignmentRecord,
    LineOutcome,
    LineRequest,
    PriceListKind,
    PriceListRecord,
    PriceRecord,
    PricingSnapshot,
    QuantityRule,
    QuantityRuleRecord,
    quantity_rule_for,
    resolve_cart,
    validate_quantity_rule,
)

DEFAULT_CURRENCY = "USD"  # when neither the request nor the buyer's organization chain names one
MAX_CHAIN_DEPTH = 32  # guards the recursive walk against a cyclic projection
MAX_CART_LINES = 500
NAME_MAX = 200
IDEMPOTENCY_KEY_MAX = 200


def now_utc() -> datetime:
    return datetime.now(UTC)


def _err(code: ErrorCode, message: str, field: str | None = None) -> PricingError:
    return PricingError(code, message, field)


# --------------------------------------------------------------------------- the caller


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, as far as pricing cares: the principal's organization and what it may do."""

    organization_id: uuid.UUID | None
    user_id: uuid.UUID | None = None
    can_manage_prices: bool = False  # scope pricing:write (seller staff)


@dataclass(frozen=True, slots=True)
class BuyerContext:
    organization_id: uuid.UUID | None
    chain: tuple[uuid.UUID, ...]  # [buyer, parent, grandparent, ...]; empty without organization
    currency: str  # the buyer's pricing currency (nearest set in the chain, else DEFAULT_CURRENCY)
    is_platform: bool = False  # the organization (or an ancestor) is the tenant's platform


_CHAIN_SQL = text(
    f"""
    WITH RECURSIVE chain AS (
        SELECT id, parent_id, currency, kind, 0 AS depth FROM {SCHEMA}.org_units WHERE id = :org
        UNION ALL
        SELECT o.id, o.parent_id, o.currency, o.kind, chain.depth + 1
        FROM {SCHEMA}.org_units o JOIN chain ON o.id = chain.parent_id
        WHERE chain.depth < {MAX_CHAIN_DEPTH}
    )
    SELECT id, currency, kind FROM chain ORDER BY depth
    """
)


async def buyer_context(session: AsyncSession, organization_id: uuid.UUID | None) -> BuyerContext:
    """The organization's ancestor chain from the local projection (one statement). An
    organization the projection does not know yet is priced as a chain of itself alone."""
    if organization_id is None:
        return BuyerContext(None, (), DEFAULT_CURRENCY)
    rows = (await session.execute(_CHAIN_SQL, {"org": organization_id})).all()
    if not rows:
        return BuyerContext(organization_id, (organization_id,), DEFAULT_CURRENCY)
    chain = tuple(dict.fromkeys(row.id for row in rows))
    currency = next((row.currency for row in rows if row.currency), DEFAULT_CURRENCY)
    return BuyerContext(organization_id, chain, currency, any(row.kind == "PLATFORM" for row in rows))


_DESCENDANTS_SQL = f"""
    WITH RECURSIVE sub AS (
        SELECT id, 0 AS depth FROM {SCHEMA}.org_units WHERE id = :org
        UNION ALL
        SELECT o.id, sub.depth + 1 FROM {SCHEMA}.org_units o JOIN sub ON o.parent_id = sub.id
        WHERE sub.depth < {MAX_CHAIN_DEPTH}
    )
    SELECT id FROM sub
"""


async def upsert_org_unit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None,
    kind: str | None = None,
    name: str | None = None,
    currency: str | None = None,
) -> None:
    """Insert or update one node of the organization projection (events and seed)."""
    values: dict[str, Any] = {"tenant_id": tenant_id, "id": organization_id, "parent_id": parent_id}
    updates: dict[str, Any] = {"parent_id": parent_id}
    for key, value in (("kind", kind), ("name", name), ("currency", currency)):
        if value is not None:
            values[key] = value
            updates[key] = value
    stmt = pg_insert(OrgUnit).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "id"], set_=updates))


# --------------------------------------------------------------------------- price resolution


def _list_record(row: PriceList) -> PriceListRecord:
    return PriceListRecord(
        id=row.id,
        name=row.name,
        currency=row.currency,
        kind=PriceListKind(row.kind),
        priority=row.priority,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        active=row.active,
    )


async def load_snapshot(
    session: AsyncSession, buyer: BuyerContext, sku_ids: Iterable[uuid.UUID], currency: str
) -> PricingSnapshot:
    """Everything needed to price `sku_ids` for `buyer` in `currency`, in three statements: the
    applicable lists (BASE, or assigned somewhere in the chain) with their chain assignments, the
    breaks of those lists for the SKUs, and the SKUs' quantity rules. Validity is left to the
    resolver (it knows the time); inactive lists and other currencies are filtered here."""
    skus = sorted(set(sku_ids))
    if not skus:
        return PricingSnapshot()
    chain = list(buyer.chain)
    assigned = and_(
        PriceListAssignment.price_list_id == PriceList.id,
        PriceListAssignment.organization_id.in_(chain or [uuid.UUID(int=0)]),
    )
    list_rows = (
        await session.execute(
            select(PriceList, PriceListAssignment.organization_id)
            .outerjoin(PriceListAssignment, assigned)
            .where(
                PriceList.currency == currency,
                PriceList.active.is_(True),
                or_(
                    PriceList.kind == PriceListKind.BASE.value,
                    PriceListAssignment.organization_id.is_not(None),
                ),
            )
        )
    ).all()
    lists: dict[uuid.UUID, PriceListRecord] = {}
    assignments: list[AssignmentRecord] = []
    for price_list, org_id in list_rows:
        lists.setdefault(price_list.id, _list_record(price_list))
        if org_id is not None:
            assignments.append(AssignmentRecord(price_list.id, org_id))
    if not lists:
        prices: list[PriceRecord] = []
    else:
        price_rows = await session.execute(
            select(Price.price_list_id, Price.sku_id, Price.min_quantity, Price.unit_amount).where(
                Price.sku_id.in_(skus), Price.price_list_id.in_(list(lists))
            )
        )
        prices = [PriceRecord(r.price_list_id, r.sku_id, r.min_quantity, r.unit_amount) for r in price_rows]
    rule_rows = await session.execute(
        select(QuantityRuleRow).where(
            QuantityRuleRow.sku_id.in_(skus),
            or_(
                QuantityRuleRow.price_list_id.is_(None),
                QuantityRuleRow.price_list_id.in_(list(lists) or [None]),
            ),
        )
    )
    rules = [
        QuantityRuleRecord(r.sku_id, r.price_list_id, QuantityRule(r.minimum, r.maximum, r.increment))
        for r in rule_rows.scalars()
    ]
    return PricingSnapshot(list(lists.values()), assignments, prices, rules)


@dataclass(frozen=True, slots=True)
class CartPricing:
    currency: str
    outcomes: list[LineOutcome]

    @property
    def total(self) -> Money:
        """Sum of the resolved lines' (already rounded) totals."""
        total = Money.zero(self.currency)
        for outcome in self.outcomes:
            if outcome.resolution is not None:
                total = total + outcome.resolution.line_total
        return total


def _currency(requested: str | None, buyer: BuyerContext) -> str:
    return normalize_currency(requested) if requested else buyer.currency


async def price_lines(
    session: AsyncSession,
    buyer: BuyerContext,
    lines: Sequence[LineRequest],
    *,
    currency: str | None = None,
    at: datetime | None = None,
    field_prefix: str = "lines",
) -> CartPricing:
    """Batch resolution: every line of a cart against one snapshot (a fixed number of statements)."""
    if len(lines) > MAX_CART_LINES:
        raise _err(ErrorCode.INVALID_INPUT, f"At most {MAX_CART_LINES} lines.", field_prefix)
    code = _currency(currency, buyer)
    snapshot = await load_snapshot(session, buyer, (line.sku_id for line in lines), code)
    return CartPricing(code, resolve_cart(snapshot, buyer.chain, lines, code, at or now_utc(), field_prefix))


async def quantity_rules_for(
    session: AsyncSession,
    buyer: BuyerContext,
    sku_ids: Sequence[uuid.UUID],
    *,
    currency: str | None = None,
    at: datetime | None = None,
) -> dict[uuid.UUID, QuantityRule]:
    code = _currency(currency, buyer)
    snapshot = await load_snapshot(session, buyer, sku_ids, code)
    when = at or now_utc()
    return {sku: quantity_rule_for(snapshot, buyer.chain, sku, code, when) for sku in sku_ids}


@dataclass(frozen=True, slots=True)
class PriceRange:
    minimum: Money
    maximum: Money


async def price_ranges(
    session: AsyncSession,
    buyer: BuyerContext,
    product_ids: Sequence[uuid.UUID],
    *,
    currency: str | None = None,
    at: datetime | None = None,
) -> dict[uuid.UUID, PriceRange | None]:
    """Per product: the lowest and highest single-unit price this buyer pays over the product's
    SKUs (SKUs are known from the prices set with a product id). Quantity rules are not applied:
    the range describes prices, not an orderable quantity. Four statements for any number of
    products."""
    code = _currency(currency, buyer)
    pairs = (
        await session.execute(
            select(Price.product_id, Price.sku_id).where(Price.product_id.in_(list(product_ids))).distinct()
        )
    ).all()
    skus_of: dict[uuid.UUID, set[uuid.UUID]] = {}
    for product_id, sku_id in pairs:
        if product_id is not None:
            skus_of.setdefault(product_id, set()).add(sku_id)
    all_skus = sorted({sku for skus in skus_of.values() for sku in skus})
    snapshot = await load_snapshot(session, buyer, all_skus, code)
    # Price a single unit, rules off: a one-off snapshot without rules does exactly that.
    snapshot = PricingSnapshot(snapshot.price_lists, snapshot.assignments, snapshot.prices, ())
    outcomes = resolve_cart(
        snapshot, buyer.chain, [LineRequest(s, 1) for s in all_skus], code, at or now_utc()
    )
    unit: dict[uuid.UUID, Decimal] = {
        o.request.sku_id: o.resolution.unit_price.amount for o in outcomes if o.resolution is not None
    }
    result: dict[uuid.UUID, PriceRange | None] = {}
    for product_id in product_ids:
        amounts = [unit[s] for s in skus_of.get(product_id, ()) if s in unit]
        result[product_id] = (
            PriceRange(Money(min(amounts), code), Money(max(amounts), code)) if amounts else None
        )
    return result


# --------------------------------------------------------------------------- price list admin


def _require_manager(caller: Caller) -> None:
    if not caller.can_manage_prices:
        raise _err(ErrorCode.FORBIDDEN, "Managing prices needs the pricing:write scope.")


def _name(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise _err(ErrorCode.INVALID_INPUT, "Must not be blank.", field)
    if len(value) > NAME_MAX:
        raise _err(ErrorCode.INVALID_INPUT, f"At most {NAME_MAX} characters.", field)
    return value


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > IDEMPOTENCY_KEY_MAX:
        raise _err(ErrorCode.INVALID_INPUT, f"1 to {IDEMPOTENCY_KEY_MAX} characters.", "idempotencyKey")
    return value


@dataclass(frozen=True, slots=True)
class NewPriceList:
    name: str
    currency: str
    kind: PriceListKind = PriceListKind.STANDARD
    priority: int = 0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    seller_organization_id: uuid.UUID | None = None
    idempotency_key: str | None = None


async def create_price_list(
    session: AsyncSession, tenant_id: uuid.UUID, caller: Caller, data: NewPriceList
) -> PriceList:
    """Create a list; replaying the same idempotency key returns the list created the first time."""
    _require_manager(caller)
    key = _idempotency_key(data.idempotency_key)
    if key is not None:
        existing = await session.scalar(select(PriceList).where(PriceList.idempotency_key == key))
        if existing is not None:
            return existing
    for field, value in (("validFrom", data.valid_from), ("validTo", data.valid_to)):
        if value is not None and value.tzinfo is None:
            raise _err(ErrorCode.INVALID_VALIDITY, "Give a time zone (an offset or Z).", field)
    if data.valid_from and data.valid_to and data.valid_to <= data.valid_from:
        raise _err(ErrorCode.INVALID_VALIDITY, "validTo must be after validFrom.", "validTo")
    if not -1_000_000 <= data.priority <= 1_000_000:
        raise _err(ErrorCode.INVALID_INPUT, "Priority must be within +-1000000.", "priority")
    row = PriceList(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=_name(data.name, "name"),
        currency=normalize_currency(data.currency),
        kind=data.kind.value,
        priority=data.priority,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        active=True,
        seller_organization_id=data.seller_organization_id,
        idempotency_key=key,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race: return its list.
        existing = await session.scalar(select(PriceList).where(PriceList.idempotency_key == key))
        if existing is None:
            raise
        return existing
    return row


async def get_price_list(
    session: AsyncSession, price_list_id: uuid.UUID, field: str = "priceListId"
) -> PriceList:
    row = await session.get(PriceList, price_list_id)
    if row is None:
        raise _err(ErrorCode.PRICE_LIST_NOT_FOUND, "No such price list.", field)
    return row


async def assign_price_list(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    price_list_id: uuid.UUID,
    organization_ids: Sequence[uuid.UUID],
    *,
    unassign: Sequence[uuid.UUID] = (),
) -> PriceList:
    """Assign a list to buyer organizations (their units inherit it) and/or take it away. A BASE
    list applies to everybody and is not assignable; a CONTRACT list belongs to one buyer."""
    _require_manager(caller)
    price_list = await get_price_list(session, price_list_id)
    await session.execute(select(PriceList.id).where(PriceList.id == price_list_id).with_for_update())
    if organization_ids and price_list.kind == PriceListKind.BASE.value:
        raise _err(
            ErrorCode.BASE_LIST_NOT_ASSIGNABLE, "A base list applies to every buyer.", "organizationIds"
        )
    wanted = list(dict.fromkeys(organization_ids))
    if wanted:
        known = set((await session.scalars(select(OrgUnit.id).where(OrgUnit.id.in_(wanted)))).all())
        for i, org in enumerate(wanted):
            if org not in known:
                raise _err(ErrorCode.ORGANIZATION_NOT_FOUND, "Unknown organization.", f"organizationIds.{i}")
    if unassign:
        await session.execute(
            delete(PriceListAssignment).where(
                PriceListAssignment.price_list_id == price_list_id,
                PriceListAssignment.organization_id.in_(list(unassign)),
            )
        )
    if price_list.kind == PriceListKind.CONTRACT.value and wanted:
        current = set(
            (
                await session.scalars(
                    select(PriceListAssignment.organization_id).where(
                        PriceListAssignment.price_list_id == price_list_id
                    )
                )
            ).all()
        )
        if len(current | set(wanted)) > 1:
            raise _err(
                ErrorCode.CONTRACT_ALREADY_ASSIGNED,
                "A contract price list belongs to exactly one buyer organization.",
                "organizationIds",
            )
    if wanted:
        await session.execute(
            pg_insert(PriceListAssignment)
            .values(
                [
                    {"tenant_id": tenant_id, "price_list_id": price_list_id, "organization_id": o}
                    for o in wanted
                ]
            )
            .on_conflict_do_nothing()
        )
    return price_list


async def set_price_break(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    *,
    price_list_id: uuid.UUID,
    sku_id: uuid.UUID,
    min_quantity: int,
    amount: str | None,
    product_id: uuid.UUID | None = None,
) -> Price | None:
    """Set (upsert) or, with `amount` None, remove the break of a SKU at `min_quantity` in a list.
    `min_quantity` 1 is the plain list price."""
    _require_manager(caller)
    await get_price_list(session, price_list_id)
    if min_quantity < 1:
        raise _err(ErrorCode.INVALID_QUANTITY, "minQuantity must be at least 1.", "minQuantity")
    where = (Price.price_list_id == price_list_id, Price.sku_id == sku_id, Price.min_quantity == min_quantity)
    if amount is None:
        await session.execute(delete(Price).where(*where))
        return None
    unit = parse_unit_amount(amount, "amount")
    stmt = pg_insert(Price).values(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        price_list_id=price_list_id,
        sku_id=sku_id,
        product_id=product_id,
        min_quantity=min_quantity,
        unit_amount=unit,
    )
    updates: dict[str, Any] = {"unit_amount": unit, "updated_at": func.now()}
    if product_id is not None:
        updates["product_id"] = product_id
    upsert = stmt.on_conflict_do_update(
        index_elements=["price_list_id", "sku_id", "min_quantity"], set_=updates
    ).returning(Price)
    row: Price = (await session.scalars(upsert, execution_options={"populate_existing": True})).one()
    return row


async def set_quantity_rule(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    *,
    sku_id: uuid.UUID,
    price_list_id: uuid.UUID | None,
    minimum: int,
    maximum: int | None,
    increment: int,
    remove: bool = False,
) -> QuantityRuleRow | None:
    """Set the SKU's rule in a list (or its default rule, without list); `remove` deletes it."""
    _require_manager(caller)
    if price_list_id is not None:
        await get_price_list(session, price_list_id)
    same = (
        QuantityRuleRow.sku_id == sku_id,
        QuantityRuleRow.price_list_id.is_(None)
        if price_list_id is None
        else QuantityRuleRow.price_list_id == price_list_id,
    )
    existing = await session.scalar(select(QuantityRuleRow).where(*same).with_for_update())
    if remove:
        if existing is not None:
            await session.delete(existing)
        return None
    rule = validate_quantity_rule(minimum, maximum, increment)
    if existing is None:
        existing = QuantityRuleRow(
            id=uuid.uuid4(), tenant_id=tenant_id, sku_id=sku_id, price_list_id=price_list_id
        )
        session.add(existing)
    existing.minimum, existing.maximum, existing.increment = rule.minimum, rule.maximum, rule.increment
    await session.flush()
    return existing


async def list_price_lists(
    session: AsyncSession,
    caller: Caller,
    buyer: BuyerContext,
    *,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[tuple[PriceList, list[Any]]], int]:
    """Price lists by name. Seller staff (pricing:write) and the platform see every list of the
    tenant; a buyer sees the BASE lists and the lists assigned to its organization chain."""
    conditions: list[Any] = []
    if not (caller.can_manage_prices or buyer.is_platform):
        visible = select(PriceListAssignment.price_list_id).where(
            PriceListAssignment.organization_id.in_(list(buyer.chain) or [uuid.UUID(int=0)])
        )
        conditions.append(or_(PriceList.kind == PriceListKind.BASE.value, PriceList.id.in_(visible)))
    total = await session.scalar(select(func.count()).select_from(PriceList).where(*conditions)) or 0
    stmt = select(PriceList).where(*conditions)
    if after is not None:
        try:
            name, last_id = str(after[0]), uuid.UUID(str(after[1]))
        except (ValueError, IndexError):
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from None
        stmt = stmt.where(tuple_(PriceList.name, PriceList.id) > (name, last_id))
    rows = (await session.scalars(stmt.order_by(PriceList.name, PriceList.id).limit(limit + 1))).all()
    return [(row, [row.name, str(row.id)]) for row in rows], total


async def prices_of_lists(
    session: AsyncSession, price_list_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Price]]:
    found: dict[uuid.UUID, list[Price]] = {i: [] for i in price_list_ids}
    rows = await session.scalars(
        select(Price)
        .where(Price.price_list_id.in_(list(price_list_ids)))
        .order_by(Price.sku_id, Price.min_quantity)
    )
    for row in rows:
        found[row.price_list_id].append(row)
    return found


async def prices_of_skus(
    session: AsyncSession, sku_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[Price, str]]]:
    """Every price break of these SKUs in the tenant's lists, with the list's currency (by list
    name, then minimum quantity). For pricing managers: it shows every buyer's contract prices."""
    found: dict[uuid.UUID, list[tuple[Price, str]]] = {i: [] for i in sku_ids}
    rows = await session.execute(
        select(Price, PriceList.currency)
        .join(PriceList, PriceList.id == Price.price_list_id)
        .where(Price.sku_id.in_(list(sku_ids)))
        .order_by(Price.sku_id, PriceList.name, PriceList.id, Price.min_quantity)
    )
    for price, currency in rows.all():
        found[price.sku_id].append((price, currency))
    return found


async def assignments_of_lists(
    session: AsyncSession, price_list_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in price_list_ids}
    rows = await session.execute(
        select(PriceListAssignment.price_list_id, PriceListAssignment.organization_id)
        .where(PriceListAssignment.price_list_id.in_(list(price_list_ids)))
        .order_by(PriceListAssignment.created_at)
    )
    for list_id, org_id in rows:
        found[list_id].append(org_id)
    return found


# --------------------------------------------------------------------------- quotes


def _item_json(item: q.RequestedItem) -> dict[str, Any]:
    return {
        "sku_id": str(item.sku_id),
        "quantity": item.quantity,
        "target_unit_price": format(item.target_unit_price, "f")
        if item.target_unit_price is not None
        else None,
        "note": item.note,
    }


def _line_json(line: q.OfferLine) -> dict[str, Any]:
    return {"sku_id": str(line.sku_id), "quantity": line.quantity, "unit_price": format(line.unit_price, "f")}


def _version_domain(row: QuoteVersionRow) -> q.QuoteVersion:
    items = tuple(
        q.RequestedItem(
            uuid.UUID(i["sku_id"]),
            int(i["quantity"]),
            Decimal(i["target_unit_price"]) if i.get("target_unit_price") is not None else None,
            i.get("note"),
        )
        for i in row.items
    )
    lines = (
        tuple(
            q.OfferLine(uuid.UUID(li["sku_id"]), int(li["quantity"]), Decimal(li["unit_price"]))
            for li in row.lines
        )
        if row.lines is not None
        else None
    )
    return q.QuoteVersion(
        number=row.number,
        items=items,
        buyer_note=row.buyer_note,
        requested_at=row.requested_at,
        lines=lines,
        valid_until=row.valid_until,
        terms=row.terms,
        seller_note=row.seller_note,
        responded_at=row.responded_at,
    )


def quote_domain(row: QuoteRow, versions: Sequence[QuoteVersionRow]) -> q.Quote:
    return q.Quote(
        id=row.id,
        buyer_organization_id=row.buyer_organization_id,
        seller_organization_id=row.seller_organization_id,
        currency=row.currency,
        status=q.QuoteStatus(row.status),
        versions=tuple(_version_domain(v) for v in sorted(versions, key=lambda v: v.number)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_at=row.decided_at,
        reject_reason=row.reject_reason,
        requested_by=row.requested_by,
    )


@dataclass(frozen=True, slots=True)
class QuoteView:
    """A quote as stored plus its row version (for optimistic concurrency)."""

    quote: q.Quote
    row_version: int
    tenant_id: uuid.UUID | None = None


def _version_values(tenant_id: uuid.UUID, quote_id: uuid.UUID, v: q.QuoteVersion) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "quote_id": quote_id,
        "number": v.number,
        "items": [_item_json(i) for i in v.items],
        "buyer_note": v.buyer_note,
        "requested_at": v.requested_at,
        "lines": [_line_json(li) for li in v.lines] if v.lines is not None else None,
        "valid_until": v.valid_until,
        "terms": v.terms,
        "seller_note": v.seller_note,
        "responded_at": v.responded_at,
    }


async def write_quote_versions(
    session: AsyncSession, tenant_id: uuid.UUID, before: q.Quote | None, after: q.Quote
) -> None:
    """Insert new versions, update the current one if the seller answered it; older ones stay."""
    known = {v.number: v for v in before.versions} if before else {}
    for version in after.versions:
        values = _version_values(tenant_id, after.id, version)
        if version.number not in known:
            await session.execute(pg_insert(QuoteVersionRow).values(**values))
        elif known[version.number] != version:
            await session.execute(
                update(QuoteVersionRow)
                .where(QuoteVersionRow.quote_id == after.id, QuoteVersionRow.number == version.number)
                .values(**{k: v for k, v in values.items() if k not in ("tenant_id", "quote_id", "number")})
            )


async def _descendants(session: AsyncSession, organization_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(text(_DESCENDANTS_SQL), {"org": organization_id})
    return {r.id for r in rows} | {organization_id}


@dataclass(frozen=True, slots=True)
class NewQuoteRequest:
    items: Sequence[q.RequestedItem]
    currency: str | None = None
    note: str | None = None
    seller_organization_id: uuid.UUID | None = None
    buyer_organization_id: uuid.UUID | None = None  # a unit of the caller's organization, or itself
    idempotency_key: str | None = None


async def request_quote(
    session: AsyncSession, tenant_id: uuid.UUID, caller: Caller, data: NewQuoteRequest
) -> QuoteView:
    """The buyer's request for quote. Replaying an idempotency key returns the first quote."""
    if caller.organization_id is None:
        raise _err(ErrorCode.NO_ORGANIZATION, "Requesting a quote needs an organization.")
    key = _idempotency_key(data.idempotency_key)
    if key is not None:
        existing = await session.scalar(select(QuoteRow).where(QuoteRow.idempotency_key == key))
        if existing is not None:
            return await _load_quote(session, existing.id, caller, lock=False)
    buyer_org = data.buyer_organization_id or caller.organization_id
    if buyer_org != caller.organization_id and buyer_org not in await _descendants(
        session, caller.organization_id
    ):
        raise _err(
            ErrorCode.FORBIDDEN,
            "You may request quotes for your organization and its units only.",
            "buyerOrganizationId",
        )
    buyer = await buyer_context(session, buyer_org)
    now = now_utc()
    quote = q.request_quote(
        quote_id=uuid.uuid4(),
        buyer_organization_id=buyer_org,
        seller_organization_id=data.seller_organization_id,
        currency=data.currency or buyer.currency,
        items=data.items,
        note=data.note,
        now=now,
        requested_by=caller.user_id,
    )
    row = QuoteRow(
        id=quote.id,
        tenant_id=tenant_id,
        buyer_organization_id=buyer_org,
        seller_organization_id=quote.seller_organization_id,
        requested_by=caller.user_id,
        currency=quote.currency,
        status=quote.status.value,
        created_at=now,
        updated_at=now,
        row_version=1,
        idempotency_key=key,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
            await write_quote_versions(session, tenant_id, None, quote)
    except IntegrityError:
        existing = await session.scalar(select(QuoteRow).where(QuoteRow.idempotency_key == key))
        if key is None or existing is None:
            raise
        return await _load_quote(session, existing.id, caller, lock=False)
    await add_event(session, SCHEMA, events.quote_requested(tenant_id, quote))
    return QuoteView(quote, 1, tenant_id)


async def _actor(session: AsyncSession, quote: q.Quote, caller: Caller) -> q.QuoteActor | None:
    """BUYER: the buyer organization or an ancestor of it. SELLER: the named seller organization,
    or (no seller named) anyone with pricing:write outside the buyer's chain. None: no access."""
    if caller.organization_id is None:
        return None
    chain = (await buyer_context(session, quote.buyer_organization_id)).chain
    if caller.organization_id in chain:
        return q.QuoteActor.BUYER
    if quote.seller_organization_id is not None:
        if caller.organization_id == quote.seller_organization_id:
            return q.QuoteActor.SELLER
        return None
    return q.QuoteActor.SELLER if caller.can_manage_prices else None


async def _load_quote(session: AsyncSession, quote_id: uuid.UUID, caller: Caller, *, lock: bool) -> QuoteView:
    stmt = select(QuoteRow).where(QuoteRow.id == quote_id)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    versions = (
        (await session.scalars(select(QuoteVersionRow).where(QuoteVersionRow.quote_id == quote_id))).all()
        if row is not None
        else []
    )
    if row is None:
        raise _err(ErrorCode.QUOTE_NOT_FOUND, "No such quote.", "quoteId")
    quote = quote_domain(row, versions)
    me = await buyer_context(session, caller.organization_id)
    if not me.is_platform and await _actor(session, quote, caller) is None:
        raise _err(ErrorCode.QUOTE_NOT_FOUND, "No such quote.", "quoteId")  # do not reveal it exists
    return QuoteView(quote, row.row_version, row.tenant_id)


async def get_quote(session: AsyncSession, quote_id: uuid.UUID, caller: Caller) -> QuoteView | None:
    try:
        return await _load_quote(session, quote_id, caller, lock=False)
    except PricingError:
        return None


async def _transition(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    quote_id: uuid.UUID,
    expected_version: int | None,
    apply: Callable[[q.Quote, q.QuoteActor, datetime], q.Quote],
    event: Callable[[uuid.UUID, q.Quote], EventEnvelope],
) -> QuoteView:
    view = await _load_quote(session, quote_id, caller, lock=True)
    if expected_version is not None and expected_version != view.row_version:
        raise _err(
            ErrorCode.VERSION_CONFLICT,
            f"The quote changed (version {view.row_version}, expected {expected_version}); reload it.",
            "expectedVersion",
        )
    actor = await _actor(session, view.quote, caller)
    if actor is None:
        raise _err(ErrorCode.FORBIDDEN, "Only the buyer or the seller of a quote may change it.")
    after: q.Quote = apply(view.quote, actor, now_utc())
    new_version = view.row_version + 1
    await session.execute(
        update(QuoteRow)
        .where(QuoteRow.id == quote_id)
        .values(
            status=after.status.value,
            updated_at=after.updated_at,
            decided_at=after.decided_at,
            reject_reason=after.reject_reason,
            row_version=new_version,
        )
    )
    await write_quote_versions(session, tenant_id, view.quote, after)
    await add_event(session, SCHEMA, event(tenant_id, after))
    return QuoteView(after, new_version, tenant_id)


@dataclass(frozen=True, slots=True)
class QuoteResponse:
    lines: Sequence[q.OfferLine]
    valid_until: datetime
    terms: str | None = None
    note: str | None = None


async def respond_to_quote(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    quote_id: uuid.UUID,
    data: QuoteResponse,
    expected_version: int | None = None,
) -> QuoteView:
    if data.valid_until.tzinfo is None:
        raise _err(ErrorCode.INVALID_VALIDITY, "Give a time zone (an offset or Z).", "validUntil")
    return await _transition(
        session,
        tenant_id,
        caller,
        quote_id,
        expected_version,
        lambda quote, actor, now: q.respond(
            quote,
            actor,
            lines=data.lines,
            valid_until=data.valid_until,
            terms=data.terms,
            note=data.note,
            now=now,
        ),
        events.quote_responded,
    )


async def accept_quote(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    quote_id: uuid.UUID,
    expected_version: int | None = None,
) -> QuoteView:
    """Accept the current offer; publishes `pricing.<tenant>.quote_accepted` for the orders domain."""
    return await _transition(
        session, tenant_id, caller, quote_id, expected_version, q.accept, events.quote_accepted
    )


async def reject_quote(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    quote_id: uuid.UUID,
    reason: str | None,
    expected_version: int | None = None,
) -> QuoteView:
    return await _transition(
        session,
        tenant_id,
        caller,
        quote_id,
        expected_version,
        lambda quote, actor, now: q.reject(quote, actor, reason, now),
        events.quote_rejected,
    )


async def revise_quote(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    caller: Caller,
    quote_id: uuid.UUID,
    items: Sequence[q.RequestedItem],
    note: str | None,
    expected_version: int | None = None,
) -> QuoteView:
    return await _transition(
        session,
        tenant_id,
        caller,
        quote_id,
        expected_version,
        lambda quote, actor, now: q.revise(quote, actor, items, note, now),
        events.quote_revised,
    )


async def list_quotes(
    session: AsyncSession,
    caller: Caller,
    *,
    limit: int,
    after: list[Any] | None,
) -> tuple[list[tuple[QuoteView, list[Any]]], int]:
    """Newest first. The platform sees the tenant's quotes; a buyer those of its organization and
    the units below it; a seller those addressed to it (and, with pricing:write, unaddressed ones)."""
    if caller.organization_id is None:
        return [], 0
    me = await buyer_context(session, caller.organization_id)
    conditions: list[Any] = []
    if not me.is_platform:
        visible: list[Any] = [
            QuoteRow.buyer_organization_id.in_(list(await _descendants(session, caller.organization_id))),
            QuoteRow.seller_organization_id == caller.organization_id,
        ]
        if caller.can_manage_prices:
            visible.append(QuoteRow.seller_organization_id.is_(None))
        conditions.append(or_(*visible))
    total = await session.scalar(select(func.count()).select_from(QuoteRow).where(*conditions)) or 0
    stmt = select(QuoteRow).where(*conditions)
    if after is not None:
        try:
            created, last_id = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
            if created.tzinfo is None:
                raise ValueError("naive time in cursor")
        except (ValueError, IndexError):
            raise BadUserInputError("invalid cursor", extensions={"argument": "after"}) from None
        stmt = stmt.where(tuple_(QuoteRow.created_at, QuoteRow.id) < (created, last_id))
    rows = (
        await session.scalars(stmt.order_by(QuoteRow.created_at.desc(), QuoteRow.id.desc()).limit(limit + 1))
    ).all()
    versions = (
        await session.scalars(
            select(QuoteVersionRow).where(QuoteVersionRow.quote_id.in_([r.id for r in rows]))
        )
    ).all()
    by_quote: dict[uuid.UUID, list[QuoteVersionRow]] = {}
    for v in versions:
        by_quote.setdefault(v.quote_id, []).append(v)
    return [
        (
            QuoteView(quote_domain(r, by_quote.get(r.id, [])), r.row_version, r.tenant_id),
            [r.created_at.isoformat(), str(r.id)],
        )
        for r in rows
    ], total
