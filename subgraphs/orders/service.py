"""Domain rules of the orders subgraph: plain inputs -> models / UserInputError. No GraphQL.

Everything takes an open tenant session (RLS applies) and never commits: the caller's
transaction commits the change, its transitions and its outbox events together.
Entry points the saga and the tests use directly: `create_purchase` (orders from priced lines),
`transition` (the one way a state changes), `on_stock_*` (the saga), `approve_payment`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, and_, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import FieldError, ForbiddenError, UserInputError
from shared.events import add_event
from subgraphs.orders import approvals, events, limits
from subgraphs.orders import states as st
from subgraphs.orders.access import Viewer, ancestors
from subgraphs.orders.checkout import Call, Checkout, price_cart
from subgraphs.orders.models import (
    SCHEMA,
    ApprovalRule,
    Cart,
    CartLine,
    Order,
    OrderApproval,
    OrderLine,
    OrderSettings,
    OrderTransition,
    OrgUnit,
    Purchase,
    QuantityLimit,
    ReturnLine,
    ReturnRequest,
)
from subgraphs.orders.returns import BY_FINANCE, return_allowed

MAX_CART_LINES = 500
MAX_QUANTITY = 1_000_000
STOCK = "stock"
SYSTEM = "system"


def now_utc() -> datetime:
    return datetime.now(UTC)


def _err(field: tuple[str, ...], message: str, code: str) -> UserInputError:
    return UserInputError([FieldError(field, message, code)])


# --------------------------------------------------------------------------- settings and org tree


@dataclass(frozen=True, slots=True)
class Settings:
    approve_payment_on_placement: bool = True
    reserve_for_seconds: int | None = None


DEFAULT_SETTINGS = Settings()


async def get_settings(session: AsyncSession, tenant_id: uuid.UUID) -> Settings:
    row = await session.get(OrderSettings, tenant_id)
    if row is None:
        return DEFAULT_SETTINGS
    return Settings(row.approve_payment_on_placement, row.reserve_for_seconds)


async def put_settings(session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> Settings:
    values = {
        "tenant_id": tenant_id,
        "approve_payment_on_placement": settings.approve_payment_on_placement,
        "reserve_for_seconds": settings.reserve_for_seconds,
    }
    stmt = pg_insert(OrderSettings).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[OrderSettings.tenant_id],
            set_={k: stmt.excluded[k] for k in values if k != "tenant_id"},
        )
    )
    return settings


async def upsert_org_unit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None,
    kind: str | None = None,
    name: str | None = None,
) -> None:
    values = {
        "tenant_id": tenant_id,
        "id": organization_id,
        "parent_id": parent_id,
        "kind": kind,
        "name": name,
    }
    stmt = pg_insert(OrgUnit).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[OrgUnit.tenant_id, OrgUnit.id],
            set_={
                "parent_id": stmt.excluded.parent_id,
                "kind": func.coalesce(stmt.excluded.kind, OrgUnit.kind),
                "name": func.coalesce(stmt.excluded.name, OrgUnit.name),
            },
        )
    )


# --------------------------------------------------------------------------- transitions


async def transition(
    session: AsyncSession,
    order: Order,
    target: st.OrderState,
    *,
    actor: str,
    reason: str | None = None,
    actor_organization_id: uuid.UUID | None = None,
    lines: list[OrderLine] | None = None,
    reserve_for_seconds: int | None = None,
) -> None:
    """The one way an order changes state: validated by the state machine (InvalidTransition
    otherwise, nothing changed), recorded in `order_transitions`, published as `orders.<to>`."""
    current = order.state
    st.check(current, target)
    at = now_utc()
    order.state = target.value
    order.state_reason = reason
    order.updated_at = at
    if target == st.OrderState.PLACED:
        order.placed_at = at
    session.add(
        OrderTransition(
            tenant_id=order.tenant_id,
            order_id=order.id,
            from_state=current,
            to_state=target.value,
            reason=reason,
            actor=actor,
            actor_organization_id=actor_organization_id,
            at=at,
        )
    )
    await session.flush()
    if target == st.OrderState.PLACED:
        if lines is None:
            lines = await lines_of(session, order.id)
        await add_event(session, SCHEMA, events.placed(order, lines, reserve_for_seconds))
    else:
        await add_event(session, SCHEMA, events.transitioned(order, current, target.value, reason, actor))


async def lines_of(session: AsyncSession, order_id: uuid.UUID) -> list[OrderLine]:
    rows = await session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.position)
    )
    return list(rows)


async def order_for_update(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    return (await session.scalars(select(Order).where(Order.id == order_id).with_for_update())).one_or_none()


def invalid(exc: st.InvalidTransition) -> UserInputError:
    return _err(("orderId",), str(exc), "INVALID_TRANSITION")


# --------------------------------------------------------------------------- carts


async def open_cart(
    session: AsyncSession, tenant_id: uuid.UUID, buyer: uuid.UUID, user: uuid.UUID | None, *, create: bool
) -> Cart | None:
    """The buyer unit's open cart (created on demand)."""
    cart = (
        await session.scalars(select(Cart).where(Cart.buyer_organization_id == buyer, Cart.status == "open"))
    ).one_or_none()
    if cart is not None or not create:
        return cart
    await session.execute(
        pg_insert(Cart)
        .values(
            id=uuid.uuid4(), tenant_id=tenant_id, buyer_organization_id=buyer, created_by=user, status="open"
        )
        .on_conflict_do_nothing()
    )
    return (
        await session.scalars(select(Cart).where(Cart.buyer_organization_id == buyer, Cart.status == "open"))
    ).one()


def buyer_org(viewer: Viewer) -> uuid.UUID:
    if viewer.organization_id is None:
        raise _err((), "your principal has no organization to buy for", "NO_ORGANIZATION")
    return viewer.organization_id


async def set_cart_line(
    session: AsyncSession, viewer: Viewer, sku_id: uuid.UUID, quantity: int, *, add: bool = False
) -> Cart:
    """Set (or with `add`, increase) a line of the caller's open cart; quantity 0 removes it."""
    buyer = buyer_org(viewer)
    if quantity < 0 or quantity > MAX_QUANTITY:
        raise _err(("quantity",), f"must be between 0 and {MAX_QUANTITY}", "INVALID_QUANTITY")
    cart = await open_cart(session, viewer.tenant_id, buyer, viewer.user_id, create=True)
    assert cart is not None
    line = await session.get(CartLine, (cart.id, sku_id), with_for_update=True)
    target = quantity + (line.quantity if line is not None and add else 0)
    if target > MAX_QUANTITY:
        raise _err(("quantity",), f"at most {MAX_QUANTITY}", "INVALID_QUANTITY")
    if target == 0:
        if line is not None:
            await session.delete(line)
    elif line is None:
        count = await session.scalar(
            select(func.count()).select_from(CartLine).where(CartLine.cart_id == cart.id)
        )
        if (count or 0) >= MAX_CART_LINES:
            raise _err(("skuId",), f"a cart holds at most {MAX_CART_LINES} lines", "CART_FULL")
        session.add(CartLine(tenant_id=viewer.tenant_id, cart_id=cart.id, sku_id=sku_id, quantity=target))
    else:
        line.quantity = target
    cart.updated_at = now_utc()
    await session.flush()
    return cart


async def cart_lines(session: AsyncSession, cart_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CartLine]]:
    out: dict[uuid.UUID, list[CartLine]] = {c: [] for c in cart_ids}
    rows = await session.scalars(
        select(CartLine)
        .where(CartLine.cart_id.in_(list(cart_ids)))
        .order_by(CartLine.added_at, CartLine.sku_id)
    )
    for row in rows:
        out[row.cart_id].append(row)
    return out


async def carts_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Cart]:
    return {c.id: c for c in await session.scalars(select(Cart).where(Cart.id.in_(list(ids))))}


# --------------------------------------------------------------------------- quantity limits


async def set_quantity_limit(
    session: AsyncSession,
    viewer: Viewer,
    organization_id: uuid.UUID,
    sku_id: uuid.UUID,
    period: str,
    max_units: int | None,
) -> None:
    if not viewer.sees_org(organization_id):
        raise _err(("organizationId",), "this organization is outside your organization", "FORBIDDEN")
    if period not in limits.PERIODS:
        raise _err(("period",), "month or week", "INVALID")
    where = and_(
        QuantityLimit.organization_id == organization_id,
        QuantityLimit.sku_id == sku_id,
        QuantityLimit.period == period,
    )
    await session.execute(delete(QuantityLimit).where(where))
    if max_units is not None:
        if max_units < 0:
            raise _err(("maxUnits",), "must not be negative", "INVALID")
        session.add(
            QuantityLimit(
                tenant_id=viewer.tenant_id,
                organization_id=organization_id,
                sku_id=sku_id,
                period=period,
                max_units=max_units,
            )
        )
        await session.flush()


async def period_limit_errors(
    session: AsyncSession, buyer: uuid.UUID, lines: Sequence[tuple[uuid.UUID, int]], *, lock: bool = False
) -> list[FieldError]:
    """Per-line errors for max-per-period limits: the nearest unit (buyer, then its ancestors) with
    a limit for the SKU decides; units already ordered by this buyer unit in the current calendar
    period (orders not given up) count. `lock`: serialize concurrent placements of one buyer and
    SKU (transaction advisory lock) so two orders cannot both squeeze under the limit."""
    skus = list(dict.fromkeys(s for s, _ in lines))
    if not skus:
        return []
    chain = await ancestors(session, buyer)
    rows = (
        await session.scalars(
            select(QuantityLimit).where(
                QuantityLimit.sku_id.in_(skus), QuantityLimit.organization_id.in_(chain)
            )
        )
    ).all()
    if not rows:
        return []
    depth = {org: i for i, org in enumerate(chain)}
    nearest: dict[tuple[uuid.UUID, str], QuantityLimit] = {}
    for row in sorted(rows, key=lambda r: depth[r.organization_id], reverse=True):
        nearest[(row.sku_id, row.period)] = row
    errors: list[FieldError] = []
    now = now_utc()
    wanted: dict[uuid.UUID, int] = {}
    for sku, qty in lines:
        wanted[sku] = wanted.get(sku, 0) + qty
    for (sku, period), limit in sorted(nearest.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if lock:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"orders-limit:{buyer}:{sku}"}
            )
        used = await session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, and_(Order.tenant_id == OrderLine.tenant_id, Order.id == OrderLine.order_id))
            .where(
                Order.buyer_organization_id == buyer,
                OrderLine.sku_id == sku,
                Order.state.not_in([s.value for s in st.GIVEN_UP]),
                Order.created_at >= limits.period_start(now, period),
            )
        )
        left = limit.max_units - int(used or 0)
        if wanted[sku] > left:
            for index, (line_sku, _) in enumerate(lines):
                if line_sku == sku:
                    errors.append(
                        FieldError(
                            ("lines", str(index), "quantity"),
                            f"at most {limit.max_units} units per {period}; "
                            f"{max(left, 0)} left this {period}",
                            "QUANTITY_OVER_PERIOD_LIMIT",
                        )
                    )
    return errors


# --------------------------------------------------------------------------- placing


@dataclass(frozen=True, slots=True)
class NewLine:
    """One priced, snapshotted order line (from a checkout or an accepted quote)."""

    sku_id: uuid.UUID
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    seller_organization_id: uuid.UUID
    sku_code: str | None = None
    product_name: str | None = None
    category_id: uuid.UUID | None = None
    price_source: str | None = None
    price_list_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    buyer_organization_id: uuid.UUID
    placed_by: uuid.UUID | None
    currency: str
    lines: Sequence[NewLine]
    delivery: dict[str, Any] | None = None
    po_number: str | None = None
    note: str | None = None
    cart_id: uuid.UUID | None = None
    quote_id: uuid.UUID | None = None
    source: str = "cart"
    purchase_id: uuid.UUID | None = None  # fixed ids for seeds; default a new one


async def applicable_rules(session: AsyncSession, buyer: uuid.UUID) -> list[approvals.Rule]:
    chain = await ancestors(session, buyer)
    depth = {org: i for i, org in enumerate(chain)}
    rows = await session.scalars(
        select(ApprovalRule).where(ApprovalRule.organization_id.in_(chain), ApprovalRule.active.is_(True))
    )
    return [
        approvals.Rule(
            id=r.id,
            depth=depth[r.organization_id],
            position=r.position,
            tiers=tuple(r.tiers),
            min_total=r.min_total,
            currency=r.currency,
            category_id=r.category_id,
            seller_organization_id=r.seller_organization_id,
        )
        for r in rows
    ]


async def _next_number(session: AsyncSession) -> str:
    value = await session.scalar(text(f"SELECT nextval('{SCHEMA}.order_number_seq')"))
    return f"O-{int(value or 0):08d}"


async def create_purchase(
    session: AsyncSession, tenant_id: uuid.UUID, placement: Placement, *, actor: str
) -> tuple[Purchase, list[Order]]:
    """One purchase, one order per seller, lines snapshotted; each order goes draft ->
    pending_approval (rules matched) or -> placed (the saga starts with `orders.placed`)."""
    if not placement.lines:
        raise _err(("cartId",), "the cart is empty", "EMPTY_CART")
    settings = await get_settings(session, tenant_id)
    rules = await applicable_rules(session, placement.buyer_organization_id)
    purchase = Purchase(
        id=placement.purchase_id or uuid.uuid4(),
        tenant_id=tenant_id,
        buyer_organization_id=placement.buyer_organization_id,
        placed_by=placement.placed_by,
        currency=placement.currency,
        total=sum((li.line_total for li in placement.lines), Decimal("0")),
        cart_id=placement.cart_id,
        quote_id=placement.quote_id,
        po_number=placement.po_number,
        note=placement.note,
        delivery=placement.delivery,
    )
    session.add(purchase)
    await session.flush()
    by_seller: dict[uuid.UUID, list[NewLine]] = {}
    for line in placement.lines:
        by_seller.setdefault(line.seller_organization_id, []).append(line)
    orders: list[Order] = []
    for seller, seller_lines in sorted(by_seller.items(), key=lambda kv: str(kv[0])):
        total = sum((li.line_total for li in seller_lines), Decimal("0"))
        facts = approvals.OrderFacts(
            total,
            placement.currency,
            seller,
            frozenset(li.category_id for li in seller_lines if li.category_id),
        )
        tiers = approvals.tiers_for(rules, facts)
        order = Order(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            purchase_id=purchase.id,
            number=await _next_number(session),
            buyer_organization_id=placement.buyer_organization_id,
            seller_organization_id=seller,
            placed_by=placement.placed_by,
            state=st.OrderState.DRAFT.value,
            currency=placement.currency,
            total=total,
            source=placement.source,
            quote_id=placement.quote_id,
            po_number=placement.po_number,
            note=placement.note,
            delivery=placement.delivery,
            approval_tiers=tiers,
            approval_tier=0,
        )
        session.add(order)
        await session.flush()
        rows = [
            OrderLine(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                order_id=order.id,
                position=i,
                sku_id=li.sku_id,
                quantity=li.quantity,
                unit_price=li.unit_price,
                line_total=li.line_total,
                sku_code=li.sku_code,
                product_name=li.product_name,
                category_id=li.category_id,
                price_source=li.price_source,
                price_list_id=li.price_list_id,
            )
            for i, li in enumerate(seller_lines)
        ]
        session.add_all(rows)
        await session.flush()
        if tiers:
            await transition(
                session,
                order,
                st.OrderState.PENDING_APPROVAL,
                actor=actor,
                reason=f"needs approval: {', '.join(tiers)}",
            )
        else:
            await transition(
                session,
                order,
                st.OrderState.PLACED,
                actor=actor,
                reason=placement.source,
                lines=rows,
                reserve_for_seconds=settings.reserve_for_seconds,
            )
        orders.append(order)
    return purchase, orders


def checkout_lines(checkout: Checkout) -> list[NewLine]:
    out = []
    for line in checkout.lines:
        assert line.unit_price is not None and line.line_total is not None and line.facts is not None
        assert line.facts.seller_organization_id is not None
        out.append(
            NewLine(
                sku_id=line.sku_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
                seller_organization_id=line.facts.seller_organization_id,
                sku_code=line.facts.sku_code,
                product_name=line.facts.product_name,
                category_id=line.facts.category_id,
                price_source=line.price_source,
                price_list_id=line.price_list_id,
            )
        )
    return out


async def preview_cart(session: AsyncSession, viewer: Viewer, cart: Cart, call: Call) -> Checkout:
    lines = (await cart_lines(session, [cart.id]))[cart.id]
    checkout = await price_cart(call, [(li.sku_id, li.quantity) for li in lines])
    limit_errors = await period_limit_errors(
        session, cart.buyer_organization_id, [(li.sku_id, li.quantity) for li in lines]
    )
    for error in limit_errors:
        checkout.lines[int(error.field[1])].errors.append(error)
    return checkout


async def place_from_cart(
    session: AsyncSession,
    viewer: Viewer,
    cart_id: uuid.UUID,
    call: Call,
    *,
    delivery: dict[str, Any] | None,
    po_number: str | None,
    note: str | None,
    priced: Checkout | None = None,
) -> dict[str, Any]:
    """Price the cart (pricing, catalog), enforce the rules, create the purchase; the cart is
    then `ordered`. Returns the JSON the idempotency record stores. `priced`: the same cart
    priced before this transaction (see `cart_snapshot`); used when the lines still match, so
    no connection is held while the other domains answer; else the cart is priced again here."""
    cart = (await session.scalars(select(Cart).where(Cart.id == cart_id).with_for_update())).one_or_none()
    if cart is None or cart.buyer_organization_id != viewer.organization_id:
        raise _err(("cartId",), "no such cart", "NOT_FOUND")
    if cart.status != "open":
        raise _err(("cartId",), "this cart was already ordered", "CART_ORDERED")
    lines = (await cart_lines(session, [cart.id]))[cart.id]
    if not lines:
        raise _err(("cartId",), "the cart is empty", "EMPTY_CART")
    wanted = [(li.sku_id, li.quantity) for li in lines]
    if priced is not None and [(li.sku_id, li.quantity) for li in priced.lines] == wanted:
        checkout = priced
    else:
        checkout = await price_cart(call, wanted)
    errors = checkout.errors + await period_limit_errors(
        session, cart.buyer_organization_id, [(li.sku_id, li.quantity) for li in lines], lock=True
    )
    if errors:
        raise UserInputError(errors)
    purchase, orders = await create_purchase(
        session,
        viewer.tenant_id,
        Placement(
            buyer_organization_id=cart.buyer_organization_id,
            placed_by=viewer.user_id,
            currency=checkout.currency,
            lines=checkout_lines(checkout),
            delivery=delivery,
            po_number=po_number,
            note=note,
            cart_id=cart.id,
        ),
        actor=viewer.actor,
    )
    cart.status = "ordered"
    cart.updated_at = now_utc()
    return {"purchase_id": str(purchase.id), "order_ids": [str(o.id) for o in orders]}


MAX_DIRECT_LINES = 500


def direct_lines(lines: Sequence[tuple[uuid.UUID, int]]) -> list[tuple[uuid.UUID, int]]:
    """`placeOrder(lines: ...)` without a cart ("buy now", ERP placement): the same checks a cart's
    lines get (positive quantities, one line per SKU, at most 500 lines)."""
    if not lines:
        raise _err(("lines",), "no lines to place", "EMPTY_CART")
    if len(lines) > MAX_DIRECT_LINES:
        raise _err(("lines",), f"at most {MAX_DIRECT_LINES} lines", "TOO_MANY_LINES")
    merged: dict[uuid.UUID, int] = {}
    for index, (sku, quantity) in enumerate(lines):
        if quantity <= 0:
            raise _err(("lines", str(index), "quantity"), "quantity must be positive", "INVALID_QUANTITY")
        merged[sku] = merged.get(sku, 0) + quantity
    return list(merged.items())


async def place_lines(
    session: AsyncSession,
    viewer: Viewer,
    wanted: list[tuple[uuid.UUID, int]],
    call: Call,
    *,
    delivery: dict[str, Any] | None,
    po_number: str | None,
    note: str | None,
    priced: Checkout | None = None,
) -> dict[str, Any]:
    """Place `wanted` (from `direct_lines`) without a cart, priced and checked exactly as a cart's
    lines in `place_from_cart`. Returns the JSON the idempotency record stores."""
    if viewer.organization_id is None:
        raise _err(("lines",), "no organization to buy for", "NO_ORGANIZATION")
    if priced is not None and [(li.sku_id, li.quantity) for li in priced.lines] == wanted:
        checkout = priced
    else:
        checkout = await price_cart(call, wanted)
    errors = checkout.errors + await period_limit_errors(session, viewer.organization_id, wanted, lock=True)
    if errors:
        raise UserInputError(errors)
    purchase, orders = await create_purchase(
        session,
        viewer.tenant_id,
        Placement(
            buyer_organization_id=viewer.organization_id,
            placed_by=viewer.user_id,
            currency=checkout.currency,
            lines=checkout_lines(checkout),
            delivery=delivery,
            po_number=po_number,
            note=note,
        ),
        actor=viewer.actor,
    )
    return {"purchase_id": str(purchase.id), "order_ids": [str(o.id) for o in orders]}


async def cart_snapshot(
    session: AsyncSession, viewer: Viewer, cart_id: uuid.UUID
) -> list[tuple[uuid.UUID, int]] | None:
    """The lines of the caller's open cart `cart_id` (None: not an open cart of the caller)."""
    cart = await session.get(Cart, cart_id)
    if cart is None or cart.status != "open" or cart.buyer_organization_id != viewer.organization_id:
        return None
    return [(li.sku_id, li.quantity) for li in (await cart_lines(session, [cart.id]))[cart.id]]


async def place_from_quote(
    session: AsyncSession, tenant_id: uuid.UUID, data: dict[str, Any], facts: dict[uuid.UUID, Any]
) -> bool:
    """`pricing.quote_accepted` -> one purchase at the quoted prices (False: already done).
    `facts`: catalog facts by SKU (may be empty when catalog did not answer: then the quote's
    seller is used and the names stay empty)."""
    quote_id = uuid.UUID(str(data["quote_id"]))
    if await session.scalar(select(Purchase.id).where(Purchase.quote_id == quote_id)) is not None:
        return False
    default_seller = data.get("seller_organization_id")
    lines: list[NewLine] = []
    for raw in data.get("lines") or []:
        sku = uuid.UUID(str(raw["sku_id"]))
        fact = facts.get(sku)
        seller = (fact.seller_organization_id if fact else None) or (
            uuid.UUID(str(default_seller)) if default_seller else None
        )
        if seller is None:
            raise ValueError(f"quote {quote_id}: no seller known for SKU {sku}")
        lines.append(
            NewLine(
                sku_id=sku,
                quantity=int(raw["quantity"]),
                unit_price=Decimal(str(raw["unit_price"])),
                line_total=Decimal(str(raw["line_total"])),
                seller_organization_id=seller,
                sku_code=fact.sku_code if fact else None,
                product_name=fact.product_name if fact else None,
                category_id=fact.category_id if fact else None,
                price_source="QUOTE",
            )
        )
    requested_by = data.get("requested_by")
    await create_purchase(
        session,
        tenant_id,
        Placement(
            buyer_organization_id=uuid.UUID(str(data["buyer_organization_id"])),
            placed_by=uuid.UUID(str(requested_by)) if requested_by else None,
            currency=str(data["currency"]),
            lines=lines,
            note=data.get("terms"),
            quote_id=quote_id,
            source="quote",
        ),
        actor="pricing",
    )
    return True


# --------------------------------------------------------------------------- approvals


async def _visible_order(session: AsyncSession, viewer: Viewer, order_id: uuid.UUID) -> Order:
    order = await order_for_update(session, order_id)
    if order is None or not viewer.sees(order):
        raise _err(("orderId",), "no such order", "NOT_FOUND")
    return order


async def decide(
    session: AsyncSession, viewer: Viewer, order_id: uuid.UUID, *, approve: bool, comment: str | None
) -> Order:
    """The current tier's decision: the caller needs `orders:approve`, the tier's role, and the
    order's buyer unit inside its data scope. After the last tier the order is placed."""
    if "orders:approve" not in viewer.scopes:
        raise ForbiddenError("missing scope orders:approve")
    order = await _visible_order(session, viewer, order_id)
    if not viewer.is_buyer_of(order):
        raise _err(("orderId",), "only the buyer's approvers decide", "FORBIDDEN")
    if order.state != st.OrderState.PENDING_APPROVAL.value:
        raise _err(("orderId",), f"the order is {order.state}, not pending approval", "INVALID_TRANSITION")
    role = approvals.current_role(order.approval_tiers, order.approval_tier)
    if role is None or role not in viewer.roles:
        raise _err(("orderId",), f"this tier needs the role {role}", "WRONG_APPROVER_ROLE")
    session.add(
        OrderApproval(
            tenant_id=order.tenant_id,
            order_id=order.id,
            tier=order.approval_tier,
            role=role,
            decision="approved" if approve else "rejected",
            decided_by=viewer.user_id,
            comment=comment,
            decided_at=now_utc(),
        )
    )
    if not approve:
        await transition(
            session,
            order,
            st.OrderState.REJECTED,
            actor=viewer.actor,
            reason=comment or "rejected",
            actor_organization_id=viewer.organization_id,
        )
        return order
    order.approval_tier += 1
    if order.approval_tier >= len(order.approval_tiers):
        settings = await get_settings(session, order.tenant_id)
        await transition(
            session,
            order,
            st.OrderState.PLACED,
            actor=viewer.actor,
            reason="approved",
            actor_organization_id=viewer.organization_id,
            reserve_for_seconds=settings.reserve_for_seconds,
        )
    else:
        await session.flush()
    return order


async def approval_queue(
    session: AsyncSession, viewer: Viewer, *, limit: int, after: list[Any] | None
) -> tuple[list[tuple[Order, list[Any]]], int]:
    """Orders pending approval whose current tier is one of the caller's roles, in its scope."""
    if not viewer.roles or "orders:approve" not in viewer.scopes:
        return [], 0
    conditions = [
        Order.state == st.OrderState.PENDING_APPROVAL.value,
        Order.approval_tiers.op("->>", return_type=String)(Order.approval_tier).in_(list(viewer.roles)),
        viewer.order_clause()
        if viewer.all
        else Order.buyer_organization_id.in_(list(viewer.org_ids) or [uuid.UUID(int=0)]),
    ]
    return await _page(session, conditions, limit=limit, after=after)


async def create_rule(
    session: AsyncSession,
    viewer: Viewer,
    *,
    organization_id: uuid.UUID,
    name: str,
    tiers: Sequence[str],
    min_total: Decimal | None,
    currency: str | None,
    category_id: uuid.UUID | None,
    seller_organization_id: uuid.UUID | None,
    position: int = 0,
) -> ApprovalRule:
    if not viewer.sees_org(organization_id):
        raise _err(("organizationId",), "this organization is outside your organization", "FORBIDDEN")
    clean = [t.strip() for t in tiers if t.strip()]
    if not clean:
        raise _err(("tiers",), "at least one approver role", "BLANK")
    if min_total is None and category_id is None and seller_organization_id is None:
        raise _err((), "a rule needs a threshold, a category or a seller", "NO_CONDITION")
    if min_total is not None and min_total < 0:
        raise _err(("minTotal",), "must not be negative", "INVALID")
    if not name.strip():
        raise _err(("name",), "must not be blank", "BLANK")
    rule = ApprovalRule(
        tenant_id=viewer.tenant_id,
        organization_id=organization_id,
        name=name.strip()[:200],
        tiers=clean,
        min_total=min_total,
        currency=currency.upper() if currency else None,
        category_id=category_id,
        seller_organization_id=seller_organization_id,
        position=position,
        active=True,
    )
    session.add(rule)
    await session.flush()
    return rule


async def deactivate_rule(session: AsyncSession, viewer: Viewer, rule_id: uuid.UUID) -> ApprovalRule:
    """Orders already waiting keep their tiers; new orders no longer match the rule."""
    rule = await session.get(ApprovalRule, rule_id)
    if rule is None or not viewer.sees_org(rule.organization_id):
        raise _err(("ruleId",), "no such rule", "NOT_FOUND")
    rule.active = False
    await session.flush()
    return rule


async def rules_for(session: AsyncSession, viewer: Viewer) -> list[ApprovalRule]:
    stmt = select(ApprovalRule).order_by(ApprovalRule.organization_id, ApprovalRule.position, ApprovalRule.id)
    if not viewer.all:
        stmt = stmt.where(ApprovalRule.organization_id.in_(list(viewer.org_ids) or [uuid.UUID(int=0)]))
    return list(await session.scalars(stmt))


# --------------------------------------------------------------------------- cancel, advance, pay


async def cancel(session: AsyncSession, viewer: Viewer, order_id: uuid.UUID, reason: str | None) -> Order:
    """Buyer (orders:place or orders:approve) or seller, while the state allows; stock releases."""
    order = await _visible_order(session, viewer, order_id)
    buyer_side = viewer.is_buyer_of(order) and bool({"orders:place", "orders:approve"} & viewer.scopes)
    if not (buyer_side or viewer.is_seller_of(order)):
        raise _err(("orderId",), "only the buyer or the seller may cancel", "FORBIDDEN")
    side = "buyer" if buyer_side else "seller"
    try:
        await transition(
            session,
            order,
            st.OrderState.CANCELLED,
            actor=viewer.actor,
            reason=f"{side}: {reason}" if reason else side,
            actor_organization_id=viewer.organization_id,
        )
    except st.InvalidTransition as exc:
        raise invalid(exc) from None
    return order


FULFILMENT = frozenset(
    {st.OrderState.PARTIALLY_SHIPPED, st.OrderState.SHIPPED, st.OrderState.DELIVERED, st.OrderState.COMPLETED}
)


async def advance(
    session: AsyncSession, viewer: Viewer, order_id: uuid.UUID, target: st.OrderState, reason: str | None
) -> Order:
    """Fulfilment steps (shipped, delivered, completed) by the seller or a platform admin, until
    logistics reports them by events."""
    order = await _visible_order(session, viewer, order_id)
    if target not in FULFILMENT:
        raise _err(("to",), "only fulfilment steps are set by hand", "INVALID_TRANSITION")
    if not viewer.is_seller_of(order):
        raise _err(("orderId",), "only the seller reports fulfilment", "FORBIDDEN")
    try:
        await transition(
            session,
            order,
            target,
            actor=viewer.actor,
            reason=reason,
            actor_organization_id=viewer.organization_id,
        )
    except st.InvalidTransition as exc:
        raise invalid(exc) from None
    return order


async def approve_payment(
    session: AsyncSession, order: Order, *, approved_by: uuid.UUID | None, method: str
) -> bool:
    """The payment gate: publish `orders.payment_approved` once for a reserved order."""
    if order.state != st.OrderState.RESERVED.value or order.payment_approved_at is not None:
        return False
    order.payment_approved_at = now_utc()
    order.payment_approved_by = approved_by
    order.payment_method = method
    await session.flush()
    await add_event(session, SCHEMA, events.payment_approved(order, approved_by, method))
    return True


async def approve_payment_by_hand(session: AsyncSession, viewer: Viewer, order_id: uuid.UUID) -> Order:
    if "finance:write" not in viewer.scopes:
        raise ForbiddenError("missing scope finance:write")
    order = await _visible_order(session, viewer, order_id)
    if order.state != st.OrderState.RESERVED.value:
        raise _err(
            ("orderId",),
            f"the order is {order.state}; payment is approved once stock reserved",
            "INVALID_TRANSITION",
        )
    if order.payment_approved_at is not None:
        raise _err(("orderId",), "payment was already approved", "ALREADY_APPROVED")
    await approve_payment(session, order, approved_by=viewer.user_id, method="manual")
    return order


# --------------------------------------------------------------------------- the saga (stock's events)


def _order_id(data: dict[str, Any]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(data.get("order_id")))
    except ValueError:
        return None


async def _saga_order(session: AsyncSession, data: dict[str, Any]) -> Order | None:
    order_id = _order_id(data)
    return await order_for_update(session, order_id) if order_id else None


async def _saga_step(
    session: AsyncSession, order: Order, sources: set[st.OrderState], target: st.OrderState, reason: str
) -> bool:
    """Apply a saga step only from the states it is meant for; any other state (already past it,
    or final) is left alone, so replays and late events change nothing."""
    if st.OrderState(order.state) not in sources:
        return False
    await transition(session, order, target, actor=STOCK, reason=reason)
    return True


async def on_stock_reserved(session: AsyncSession, data: dict[str, Any]) -> None:
    order = await _saga_order(session, data)
    if order is None:
        return
    if order.state != st.OrderState.PLACED.value:
        # Already reserved/confirmed (a replay) or given up (cancelled before the reservation
        # landed: stock releases on orders.cancelled, or the reservation expires on its own).
        return
    order.reservation_id = uuid.UUID(str(data["reservation_id"]))
    expires = data.get("expires_at")
    order.reservation_expires_at = datetime.fromisoformat(str(expires)) if expires else None
    await transition(session, order, st.OrderState.RESERVED, actor=STOCK, reason="reserved")
    settings = await get_settings(session, order.tenant_id)
    if settings.approve_payment_on_placement:
        await approve_payment(session, order, approved_by=None, method="on_placement")


async def on_stock_reservation_failed(session: AsyncSession, data: dict[str, Any]) -> None:
    order = await _saga_order(session, data)
    if order is None:
        return
    if await _saga_step(
        session,
        order,
        {st.OrderState.PLACED},
        st.OrderState.RESERVATION_FAILED,
        str(data.get("reason") or "UNKNOWN"),
    ):
        order.failure = {"reason": data.get("reason"), "lines": data.get("lines") or []}


async def on_stock_committed(session: AsyncSession, data: dict[str, Any]) -> None:
    order = await _saga_order(session, data)
    if order is not None:
        await _saga_step(session, order, {st.OrderState.RESERVED}, st.OrderState.CONFIRMED, "committed")


async def on_stock_commit_failed(session: AsyncSession, data: dict[str, Any]) -> None:
    order = await _saga_order(session, data)
    if order is not None:
        await _saga_step(
            session,
            order,
            {st.OrderState.PLACED, st.OrderState.RESERVED},
            st.OrderState.EXPIRED,
            str(data.get("reason") or "RESERVATION_EXPIRED"),
        )


async def on_stock_released(session: AsyncSession, data: dict[str, Any]) -> None:
    if data.get("reason") != "expired":
        return  # cancelled / compensation: orders asked for it, the order is already final
    order = await _saga_order(session, data)
    if order is not None:
        await _saga_step(
            session,
            order,
            {st.OrderState.PLACED, st.OrderState.RESERVED},
            st.OrderState.EXPIRED,
            "RESERVATION_EXPIRED",
        )


# --------------------------------------------------------------------------- returns


async def request_return(
    session: AsyncSession,
    viewer: Viewer,
    order_id: uuid.UUID,
    lines: Sequence[tuple[uuid.UUID, int, str]],
    note: str | None,
) -> ReturnRequest:
    order = await _visible_order(session, viewer, order_id)
    if not viewer.is_buyer_of(order):
        raise _err(("orderId",), "only the buyer requests a return", "FORBIDDEN")
    if st.OrderState(order.state) not in st.RETURNABLE:
        raise _err(
            ("orderId",), f"the order is {order.state}; returns start once delivered", "INVALID_TRANSITION"
        )
    if not lines:
        raise _err(("lines",), "at least one line", "BLANK")
    ordered = {li.id: li for li in await lines_of(session, order.id)}
    returned = dict(
        (
            await session.execute(
                select(ReturnLine.order_line_id, func.sum(ReturnLine.quantity))
                .join(
                    ReturnRequest,
                    and_(
                        ReturnRequest.tenant_id == ReturnLine.tenant_id,
                        ReturnRequest.id == ReturnLine.return_id,
                    ),
                )
                .where(ReturnRequest.order_id == order.id, ReturnRequest.state != "rejected")
                .group_by(ReturnLine.order_line_id)
            )
        ).all()
    )
    errors: list[FieldError] = []
    for i, (line_id, qty, reason) in enumerate(lines):
        line = ordered.get(line_id)
        if line is None:
            errors.append(
                FieldError(("lines", str(i), "orderLineId"), "not a line of this order", "NOT_FOUND")
            )
        elif qty < 1 or qty > line.quantity - int(returned.get(line_id) or 0):
            errors.append(
                FieldError(
                    ("lines", str(i), "quantity"),
                    "more than was delivered and not yet returned",
                    "INVALID_QUANTITY",
                )
            )
        elif not reason.strip():
            errors.append(FieldError(("lines", str(i), "reason"), "say why", "BLANK"))
    if errors:
        raise UserInputError(errors)
    ret = ReturnRequest(
        id=uuid.uuid4(),
        tenant_id=order.tenant_id,
        order_id=order.id,
        state="requested",
        requested_by=viewer.user_id,
        note=note,
    )
    session.add(ret)
    await session.flush()
    session.add_all(
        ReturnLine(
            tenant_id=order.tenant_id, return_id=ret.id, order_line_id=lid, quantity=q, reason=r.strip()[:200]
        )
        for lid, q, r in lines
    )
    await session.flush()
    await add_event(session, SCHEMA, events.return_changed(ret, _return_lines_json(lines)))
    return ret


def _return_lines_json(lines: Sequence[tuple[uuid.UUID, int, str]]) -> list[dict[str, Any]]:
    return [{"order_line_id": str(lid), "quantity": q, "reason": r} for lid, q, r in lines]


async def move_return(
    session: AsyncSession, viewer: Viewer, return_id: uuid.UUID, target: str
) -> ReturnRequest:
    """Seller side: approve / reject / receive; refund_requested after receipt (finance pays later)."""
    ret = (
        await session.scalars(select(ReturnRequest).where(ReturnRequest.id == return_id).with_for_update())
    ).one_or_none()
    order = await session.get(Order, ret.order_id) if ret else None
    if ret is None or order is None or not viewer.sees(order):
        raise _err(("returnId",), "no such return", "NOT_FOUND")
    if not viewer.is_seller_of(order):
        raise _err(("returnId",), "only the seller handles a return", "FORBIDDEN")
    if target in BY_FINANCE:
        raise _err(("to",), "finance marks a return refunded when it issues the credit note", "FORBIDDEN")
    if not return_allowed(ret.state, target):
        raise _err(("to",), f"a return cannot go from {ret.state} to {target}", "INVALID_TRANSITION")
    ret.state = target
    ret.updated_at = now_utc()
    await session.flush()
    rows = (await session.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id))).all()
    await add_event(
        session,
        SCHEMA,
        events.return_changed(
            ret, _return_lines_json([(r.order_line_id, r.quantity, r.reason) for r in rows])
        ),
    )
    return ret


async def return_refunded(session: AsyncSession, return_id: uuid.UUID) -> ReturnRequest | None:
    """Finance issued the return's credit note: refund_requested -> refunded (once; a replay or
    a return in another state changes nothing)."""
    ret = (
        await session.scalars(select(ReturnRequest).where(ReturnRequest.id == return_id).with_for_update())
    ).one_or_none()
    if ret is None or not return_allowed(ret.state, "refunded"):
        return None
    ret.state = "refunded"
    ret.updated_at = now_utc()
    await session.flush()
    rows = (await session.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id))).all()
    await add_event(
        session,
        SCHEMA,
        events.return_changed(
            ret, _return_lines_json([(r.order_line_id, r.quantity, r.reason) for r in rows])
        ),
    )
    return ret


# --------------------------------------------------------------------------- reads


async def _page(
    session: AsyncSession, conditions: list[Any], *, limit: int, after: list[Any] | None, model: Any = Order
) -> tuple[list[Any], int]:
    """Newest first, keyset on (created_at, id); returns up to limit + 1 rows and the total."""
    total = await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
    stmt = select(model).where(*conditions)
    if after:
        try:
            at, last = datetime.fromisoformat(str(after[0])), uuid.UUID(str(after[1]))
        except (ValueError, IndexError):
            raise _bad_cursor() from None
        stmt = stmt.where(tuple_(model.created_at, model.id) < tuple_(at, last))
    rows = (
        await session.scalars(stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1))
    ).all()
    return [(r, [r.created_at.isoformat(), str(r.id)]) for r in rows], int(total)


def _bad_cursor() -> Exception:
    from shared.errors import BadUserInputError

    return BadUserInputError("invalid cursor", extensions={"argument": "after"})


@dataclass(frozen=True, slots=True)
class OrderFilter:
    states: Sequence[str] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    purchase_id: uuid.UUID | None = None


async def list_orders(
    session: AsyncSession, viewer: Viewer, flt: OrderFilter, *, limit: int, after: list[Any] | None
) -> tuple[list[Any], int]:
    conditions: list[Any] = [viewer.order_clause()]
    if flt.states:
        conditions.append(Order.state.in_(list(flt.states)))
    if flt.created_from:
        conditions.append(Order.created_at >= flt.created_from)
    if flt.created_to:
        conditions.append(Order.created_at < flt.created_to)
    if flt.purchase_id:
        conditions.append(Order.purchase_id == flt.purchase_id)
    return await _page(session, conditions, limit=limit, after=after)


def purchase_clause(viewer: Viewer) -> Any:
    if viewer.all:
        return Purchase.id.is_not(None)
    return Purchase.buyer_organization_id.in_(list(viewer.org_ids) or [uuid.UUID(int=0)])


async def list_purchases(
    session: AsyncSession, viewer: Viewer, flt: OrderFilter, *, limit: int, after: list[Any] | None
) -> tuple[list[Any], int]:
    conditions: list[Any] = [purchase_clause(viewer)]
    if flt.created_from:
        conditions.append(Purchase.created_at >= flt.created_from)
    if flt.created_to:
        conditions.append(Purchase.created_at < flt.created_to)
    if flt.states:
        conditions.append(Purchase.id.in_(select(Order.purchase_id).where(Order.state.in_(list(flt.states)))))
    return await _page(session, conditions, limit=limit, after=after, model=Purchase)


async def visible_orders(
    session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Order]:
    rows = await session.scalars(select(Order).where(Order.id.in_(list(ids)), viewer.order_clause()))
    return {o.id: o for o in rows}


async def visible_purchases(
    session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Purchase]:
    rows = await session.scalars(select(Purchase).where(Purchase.id.in_(list(ids)), purchase_clause(viewer)))
    return {p.id: p for p in rows}


async def orders_of_purchases(
    session: AsyncSession, viewer: Viewer, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Order]]:
    out: dict[uuid.UUID, list[Order]] = {i: [] for i in ids}
    rows = await session.scalars(
        select(Order).where(Order.purchase_id.in_(list(ids)), viewer.order_clause()).order_by(Order.number)
    )
    for o in rows:
        out[o.purchase_id].append(o)
    return out


async def grouped(
    session: AsyncSession, model: Any, key: Any, ids: Sequence[uuid.UUID], order_by: Any
) -> dict[uuid.UUID, list[Any]]:
    out: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    for row in await session.scalars(select(model).where(key.in_(list(ids))).order_by(order_by)):
        out[getattr(row, key.key)].append(row)
    return out
