"""Policy functions for ``@policy(policies: [["name", ...]])``: predicates over the principal, registered
in the gateway by name. A policy the schema names but nobody registered is never granted (fail closed).

Policies decide from the principal alone (as Apollo Router's do, before execution): which organization a
row belongs to is checked by the subgraph, which receives the organization in the signed context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from gateway.auth.principal import Principal

PolicyFunction = Callable[[Principal], bool]


def own_org(principal: Principal) -> bool:
    """The caller acts for an organization (its data is then limited to that organization)."""
    return principal.authenticated and principal.organization_id is not None


def tenant_admin(principal: Principal) -> bool:
    return principal.authenticated and principal.tenant_id is not None and "tenant_admin" in principal.roles


def platform_admin(principal: Principal) -> bool:
    return principal.authenticated and "platform_admin" in principal.roles


def human_user(principal: Principal) -> bool:
    """A person logged in with a token (not a partner system with an API key)."""
    return principal.method == "jwt" and principal.user_id is not None


class PolicyRegistry(Mapping[str, PolicyFunction]):
    def __init__(self, policies: Mapping[str, PolicyFunction] | None = None) -> None:
        self._policies: dict[str, PolicyFunction] = {
            "own_org": own_org,
            "tenant_admin": tenant_admin,
            "platform_admin": platform_admin,
            "human_user": human_user,
        }
        self._policies.update(policies or {})

    def register(self, name: str, fn: PolicyFunction) -> None:
        self._policies[name] = fn

    def __getitem__(self, name: str) -> PolicyFunction:
        return self._policies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._policies)

    def __len__(self) -> int:
        return len(self._policies)
