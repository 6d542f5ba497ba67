"""Which approval tiers an order needs. Pure: the service loads the rules, this decides.

A rule is defined on a buyer organization and applies to orders of that unit and of every unit
below it (inherited down the hierarchy). It matches when every condition it sets holds:
- `min_total`: the order total is strictly over the threshold (only in the rule's currency when it
  names one: there is no currency conversion, another currency does not match);
- `category_id`: at least one line is in that catalog category;
- `seller_organization_id`: the order's seller.
The order's tiers are the matching rules' tiers, nearest unit first then by `position`,
concatenated with repeated roles dropped (a role approves once). No match: no approval.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Rule:
    id: uuid.UUID
    depth: int  # 0: defined on the buyer unit itself, 1: on its parent...
    position: int
    tiers: tuple[str, ...]
    min_total: Decimal | None = None
    currency: str | None = None
    category_id: uuid.UUID | None = None
    seller_organization_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    total: Decimal
    currency: str
    seller_organization_id: uuid.UUID
    category_ids: frozenset[uuid.UUID]


def matches(rule: Rule, order: OrderFacts) -> bool:
    if rule.min_total is None and rule.category_id is None and rule.seller_organization_id is None:
        return False
    if rule.min_total is not None:
        if rule.currency is not None and rule.currency != order.currency:
            return False
        if not order.total > rule.min_total:
            return False
    if rule.category_id is not None and rule.category_id not in order.category_ids:
        return False
    return rule.seller_organization_id is None or rule.seller_organization_id == order.seller_organization_id


def tiers_for(rules: Iterable[Rule], order: OrderFacts) -> list[str]:
    tiers: list[str] = []
    for rule in sorted(rules, key=lambda r: (r.depth, r.position, str(r.id))):
        if matches(rule, order):
            tiers.extend(t for t in rule.tiers if t not in tiers)
    return tiers


def current_role(tiers: Sequence[str], index: int) -> str | None:
    return tiers[index] if 0 <= index < len(tiers) else None
