"""Permission scopes and the built-in roles. A role is a named set of scopes; a tenant adds custom
roles (table `orgs.roles`) next to these. Role codes are lower-case (`buyer_admin`): that is what
memberships store and what tokens carry in `roles`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCOPES: tuple[str, ...] = (
    "catalog:read",
    "catalog:write",
    "catalog:admin",
    "orders:read",
    "orders:place",
    "orders:approve",
    "finance:read",
    "finance:write",
    "stock:read",
    "stock:adjust",
    "pricing:read",
    "pricing:write",
    "quotes:request",
    "quotes:respond",
    "orgs:read",
    "orgs:write",
    "orgs:admin",
)
KNOWN_SCOPES = frozenset(SCOPES)

PLATFORM_ADMIN = "platform_admin"  # sees and administers the whole tenant (data scope rule)


@dataclass(frozen=True, slots=True)
class BuiltinRole:
    code: str
    name: str
    scopes: frozenset[str]


def _role(code: str, name: str, *scopes: str) -> BuiltinRole:
    unknown = set(scopes) - KNOWN_SCOPES
    assert not unknown, unknown
    return BuiltinRole(code, name, frozenset(scopes))


_BUYING = ("catalog:read", "pricing:read", "orders:read", "orders:place", "quotes:request", "orgs:read")
_SELLING = ("catalog:read", "catalog:write", "pricing:read", "pricing:write", "orders:read", "stock:read")

BUILTIN_ROLES: Mapping[str, BuiltinRole] = {
    r.code: r
    for r in (
        _role(PLATFORM_ADMIN, "Platform administrator", *SCOPES),
        _role(
            "buyer_admin",
            "Buyer administrator",
            *_BUYING,
            "orders:approve",
            "finance:read",
            "orgs:write",
            "orgs:admin",
        ),
        _role("buyer", "Buyer", *_BUYING),
        _role(
            "approver",
            "Approver",
            "catalog:read",
            "pricing:read",
            "orders:read",
            "orders:approve",
            "orgs:read",
        ),
        _role(
            "supplier_admin",
            "Supplier administrator",
            *_SELLING,
            "catalog:admin",
            "stock:adjust",
            "quotes:respond",
            "finance:read",
            "orgs:read",
            "orgs:write",
            "orgs:admin",
        ),
        _role("supplier_staff", "Supplier staff", *_SELLING, "stock:adjust", "quotes:respond", "orgs:read"),
        _role(
            "finance", "Finance", "finance:read", "finance:write", "orders:read", "pricing:read", "orgs:read"
        ),
        _role(
            "distributor_admin",
            "Shop administrator",
            *_BUYING,
            "orders:approve",
            "finance:read",
            "catalog:write",
            "pricing:write",
            "orgs:write",
            "orgs:admin",
        ),
    )
}


def scopes_of(roles: Iterable[str], custom: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """The union of the scopes of `roles` (built-in first, then the tenant's custom roles);
    unknown role codes grant nothing."""
    out: set[str] = set()
    for code in roles:
        builtin = BUILTIN_ROLES.get(code)
        if builtin is not None:
            out |= builtin.scopes
        else:
            out |= set(custom.get(code, ()))
    return frozenset(out)
