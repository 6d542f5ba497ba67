"""Property: over generated operations and principals, no response ever holds a field the principal
lacks the rights for, nor anything of another tenant (the market subgraphs never filter by tenant)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import graphql
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.auth.principal import ANONYMOUS, Principal
from gateway.config import GatewayConfig
from gateway.engine import Gateway, OperationRequest
from tests.gateway.auth import market
from tests.gateway.auth.conftest import Market, make_gateway

TENANT_VALUES = {
    "ta": {
        "ta",
        "oa1",
        "oa2",
        "oa3",
        "da1",
        "da2",
        "ia1",
        "ua",
        "Acme Tools",
        "Acme Gloves",
        "Acme Wire",
        "pays late",
        "vip",
        "A-1",
        "A-2",
        "10000.00",
        "5000.00",
        "250.00",
        "ada@acme.test",
    },
    "tb": {"tb", "ob1", "db1", "Beta Steel", "secret-b", "B-1", "999.00", "99999.00", "12.00"},
}
# field -> predicate over the principal: may this field ever carry a value?
PROTECTED = {
    "creditLimit": lambda p: bool({"finance:read", "finance:admin"} & p.scopes),
    "balance": lambda p: "finance:read" in p.scopes,
    "internalNotes": lambda p: p.authenticated and p.tenant_id is not None and "tenant_admin" in p.roles,
    "me": lambda p: p.authenticated,
    "amount": lambda p: "finance:read" in p.scopes,  # only on Invoice (type-level rule)
}


def _org_selection(depth: int) -> st.SearchStrategy[str]:
    leaves = st.lists(
        st.sampled_from(["id", "tenantId", "name", "creditLimit", "balance", "internalNotes", "__typename"]),
        min_size=1,
        max_size=4,
        unique=True,
    )

    @st.composite
    def build(draw: st.DrawFn) -> str:
        fields = draw(leaves)
        if depth > 0 and draw(st.booleans()):
            fields.append(f"parent {{ {draw(_org_selection(depth - 1))} }}")
        body = " ".join(fields)
        wrap = draw(st.sampled_from(["plain", "inline", "spread"]))
        if wrap == "inline":
            return f"... on Organization {{ {body} }}"
        if wrap == "spread" and depth == 1:
            return f"...OrgFields {body}"
        return body

    return build()


@st.composite
def operations(draw: st.DrawFn) -> str:
    org = _org_selection(1)
    order_fields = st.lists(st.sampled_from(["id", "tenantId", "number", "total"]), min_size=1, unique=True)
    roots = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["organization", "organizations", "order", "orders", "me", "search"]))
        if kind == "organization":
            roots.append(f'organization(id: "{draw(st.sampled_from(list(market.ORGS)))}") {{ {draw(org)} }}')
        elif kind == "organizations":
            roots.append(f"organizations {{ {draw(org)} }}")
        elif kind in ("order", "orders"):
            sel = " ".join(draw(order_fields))
            if draw(st.booleans()):
                sel += f" buyer {{ {draw(org)} }}"
            arg = f'(id: "{draw(st.sampled_from(list(market.ORDERS)))}")' if kind == "order" else ""
            roots.append(f"{kind}{arg} {{ {sel} }}")
        elif kind == "me":
            roots.append(f"me {{ id email organization {{ {draw(org)} }} }}")
        else:
            roots.append("search { ... on Order { number tenantId } ... on Invoice { id amount } }")
    aliased = [f"{root.split('(')[0].split(' ')[0]}_{i}: {root}" for i, root in enumerate(roots)]
    query = "{ " + " ".join(aliased) + " }"
    if "...OrgFields" in query:
        query += " fragment OrgFields on Organization { name creditLimit tenantId }"
    return query


principals = st.builds(
    lambda tenant, scopes, roles, method: (
        ANONYMOUS
        if method == "anonymous"
        else Principal(
            tenant_id=tenant,
            organization_id="oa1" if tenant == "ta" else "ob1",
            user_id="ua",
            roles=frozenset(roles),
            scopes=frozenset(scopes),
            method=method,
        )
    ),
    st.sampled_from(["ta", "tb"]),
    st.sets(st.sampled_from(["finance:read", "finance:admin", "orders:read", "orders:write"])),
    st.sets(st.sampled_from(["tenant_admin", "buyer"])),
    st.sampled_from(["jwt", "api_key", "anonymous"]),
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def property_gateway(market_env: Market) -> AsyncIterator[Gateway]:
    gateway = make_gateway(market_env, GatewayConfig(graphiql=False))
    yield gateway
    await gateway.close()


def _check(value: Any, principal: Principal, key: str | None = None) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            field = k.split("_")[0]  # roots are aliased "<field>_<n>"
            if field in PROTECTED and v is not None:
                assert PROTECTED[field](principal), (field, v)
            _check(v, principal, field)
    elif isinstance(value, list):
        for item in value:
            _check(item, principal, key)
    elif value is not None:
        for tenant, values in TENANT_VALUES.items():
            if tenant != principal.tenant_id:
                assert value not in values, (key, value)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=operations(), principal=principals)
async def test_no_forbidden_field_and_no_foreign_tenant(
    property_gateway: Gateway, query: str, principal: Principal
) -> None:
    document = graphql.parse(query)
    assert not graphql.validate(property_gateway.api_schema, document), query
    response = await property_gateway.execute(OperationRequest(document, None, None, principal=principal))
    assert "data" in response, response
    _check(response["data"], principal)
    codes = {e.get("extensions", {}).get("code") for e in response.get("errors", ())}
    assert codes <= {"UNAUTHORIZED_FIELD_OR_TYPE", "FORBIDDEN", None}, response
