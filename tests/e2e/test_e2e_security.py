"""Tenants, signatures, field rules and tokens through the real stack (issue 5's "Done when")."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from shared.gateway_context import HEADER, Principal, sign_context
from subgraphs.catalog.demo_ids import category_id
from subgraphs.orgs import seed as orgs
from subgraphs.pricing import seed as pricing_seed
from tests.e2e.conftest import OTHER_TENANT_SLUG, Stack
from tests.gateway.auth.keys import SigningKey, rsa_key


@dataclass
class TenantB:
    """Objects of the second tenant (Globex), created through the gateway by its own admin."""

    token: str
    organization_id: str
    product_id: str
    sku_id: str
    category_id: str
    quote_id: str
    price_list_id: str


def _ok(reply: Any, *path: str) -> Any:
    assert reply.status == 200 and not reply.errors, reply.body
    value = reply.data
    for key in path:
        value = value[key]
    if isinstance(value, dict) and "userErrors" in value:
        assert value["userErrors"] == [], value
    return value


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenant_b(stack: Stack) -> TenantB:
    token = await stack.login("admin@globex.example", OTHER_TENANT_SLUG)  # platform_admin of Globex
    suffix = secrets.token_hex(3)
    category = _ok(
        await stack.query(
            """mutation($input: CategoryCreateInput!) { categoryCreate(input: $input) {
                 category { id tenantId } userErrors { field code message } } }""",
            {"input": {"code": f"globex-bars-{suffix}", "name": "Globex bars"}},
            token=token,
        ),
        "categoryCreate",
    )["category"]
    assert category["tenantId"] == str(orgs.OTHER_TENANT_ID)
    product = _ok(
        await stack.query(
            """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
                 product { id version skus { id } } userErrors { field code message } } }""",
            {
                "input": {
                    "name": "Globex e2e probe bar",
                    "categoryId": category["id"],
                    "vendorId": str(orgs.OTHER_SUPPLIER_ID),
                    "skus": [{"code": f"GLX-BAR-{suffix}".upper(), "uom": "EA"}],
                }
            },
            token=token,
        ),
        "productCreate",
    )["product"]
    _ok(
        await stack.query(
            """mutation($input: ProductStatusInput!) { productPublish(input: $input) {
                 product { status } userErrors { field code message } } }""",
            {"input": {"id": product["id"]}},
            token=token,
        ),
        "productPublish",
    )
    quote = _ok(
        await stack.query(
            """mutation($input: QuoteRequestInput!) { quoteRequest(input: $input) {
                 quote { id tenantId } userErrors { field code message } } }""",
            {
                "input": {
                    "items": [{"skuId": product["skus"][0]["id"], "quantity": 10}],
                    "currency": "EUR",
                    "note": "tenant B only",
                }
            },
            token=token,
        ),
        "quoteRequest",
    )["quote"]
    assert quote["tenantId"] == str(orgs.OTHER_TENANT_ID)
    return TenantB(
        token=token,
        organization_id=str(orgs.OTHER_SUPPLIER_ID),
        product_id=product["id"],
        sku_id=product["skus"][0]["id"],
        category_id=category["id"],
        quote_id=quote["id"],
        price_list_id=str(pricing_seed.GLOBEX_BASE_ID),
    )


def _mentions(body: dict[str, Any], *values: str) -> list[str]:
    text = json.dumps(body)
    return [v for v in values if v in text]


# --------------------------------------------------------------------------- (b) tenants


async def test_tenant_b_sees_its_own_objects(e2e: Stack, tenant_b: TenantB) -> None:
    reply = await e2e.query(
        """query($p: ID!, $q: ID!, $o: ID!, $l: ID!) {
             product(id: $p) { id tenantId } quote(id: $q) { id tenantId }
             organization(id: $o) { id tenantId } priceList(id: $l) { id tenantId } }""",
        {
            "p": tenant_b.product_id,
            "q": tenant_b.quote_id,
            "o": tenant_b.organization_id,
            "l": tenant_b.price_list_id,
        },
        token=tenant_b.token,
    )
    assert reply.status == 200 and not reply.errors, reply.body
    for value in reply.data.values():
        assert value["tenantId"] == str(orgs.OTHER_TENANT_ID), reply.body


async def test_a_buyer_of_tenant_a_gets_nothing_of_tenant_b_by_id(e2e: Stack, tenant_b: TenantB) -> None:
    bea = await e2e.login("bea@northwind.example")
    reply = await e2e.query(
        """query($p: ID!, $s: ID!, $q: ID!, $o: ID!, $l: ID!) {
             product(id: $p) { id name skus { id price { unitPrice { amount } } } }
             sku(id: $s) { id code }
             quote(id: $q) { id status currentVersion { buyerNote } }
             organization(id: $o) { id name }
             priceList(id: $l) { id name prices { unitPrice { amount } } }
             categories { id tenantId }
           }""",
        {
            "p": tenant_b.product_id,
            "s": tenant_b.sku_id,
            "q": tenant_b.quote_id,
            "o": tenant_b.organization_id,
            "l": tenant_b.price_list_id,
        },
        token=bea,
    )
    assert reply.status == 200, reply.body
    data = reply.data
    assert data["product"] is None and data["sku"] is None and data["quote"] is None
    assert data["organization"] is None and data["priceList"] is None
    assert all(c["tenantId"] == str(orgs.DEMO_TENANT_ID) for c in data["categories"])
    assert not _mentions(
        reply.body,
        tenant_b.product_id,
        tenant_b.sku_id,
        tenant_b.quote_id,
        tenant_b.organization_id,
        tenant_b.price_list_id,
        tenant_b.category_id,
        str(orgs.OTHER_TENANT_ID),
        "Globex",
        "tenant B only",
    )


async def test_tenant_b_ids_in_a_list_query_or_cart_reveal_nothing(e2e: Stack, tenant_b: TenantB) -> None:
    bea = await e2e.login("bea@northwind.example")
    reply = await e2e.query(
        """query($s: ID!, $o: ID!) {
             quotes(first: 50) { edges { node { id tenantId } } }
             priceLists(first: 100) { edges { node { id tenantId } } }
             organizations(first: 100) { edges { node { id tenantId } } }
             searchProducts(query: "alloy", filter: {vendorId: $o}) { totalCount }
             cartPrices(lines: [{skuId: $s, quantity: 10}], currency: "EUR") {
               lines { price { unitPrice { amount } userErrors { code } } } }
           }""",
        {"s": tenant_b.sku_id, "o": tenant_b.organization_id},
        token=bea,
    )
    assert reply.status == 200 and not reply.errors, reply.body
    for root in ("quotes", "priceLists", "organizations"):
        for edge in reply.data[root]["edges"]:
            assert edge["node"]["tenantId"] == str(orgs.DEMO_TENANT_ID), (root, edge)
    assert reply.data["searchProducts"]["totalCount"] == 0
    line = reply.data["cartPrices"]["lines"][0]["price"]
    assert line["unitPrice"] is None and [e["code"] for e in line["userErrors"]] == ["NO_PRICE"]
    assert not _mentions(reply.body, tenant_b.quote_id, tenant_b.price_list_id, tenant_b.organization_id)


async def test_a_nested_reference_to_tenant_b_resolves_to_nothing(e2e: Stack, tenant_b: TenantB) -> None:
    # Globex's EUR base list prices the same demo steel-bar SKU ids as Acme's catalog uses: asking an
    # Acme steel bar's price in EUR (a nested Sku -> pricing entity fetch) must not find Globex's list.
    bea = await e2e.login("bea@northwind.example")
    bars = await e2e.query(
        """query($f: ProductSearchFilter) { searchProducts(filter: $f, first: 1) { edges { node {
             skus { id price(quantity: 10, currency: "EUR") { unitPrice { amount } priceListName
                    userErrors { code } } } } } } }""",
        {"f": {"categoryId": str(category_id("steel-bars"))}},
        token=bea,
    )
    assert bars.status == 200 and not bars.errors, bars.body
    sku = bars.data["searchProducts"]["edges"][0]["node"]["skus"][0]
    assert sku["price"]["unitPrice"] is None and sku["price"]["priceListName"] is None, sku
    assert [e["code"] for e in sku["price"]["userErrors"]] == ["NO_PRICE"]

    # Acme's platform admin assigns a publication to Globex's organization id: the nested
    # `buyers { ... }` reference is resolved by orgs inside tenant A, so nothing of Globex comes back.
    admin = await e2e.login("admin@acme-mro.example")
    code = f"e2e-cross-{secrets.token_hex(3)}"
    upsert = await e2e.query(
        """mutation($input: PublicationUpsertInput!) { publicationUpsert(input: $input) {
             publication { code buyers { id } } userErrors { code } } }""",
        {"input": {"code": code, "name": "Cross-tenant probe", "buyerIds": [tenant_b.organization_id]}},
        token=admin,
    )
    assert upsert.status == 200 and upsert.data["publicationUpsert"]["userErrors"] == [], upsert.body
    reply = await e2e.query("{ publications { code tenantId buyers { id name tenantId } } }", token=admin)
    assert reply.status == 200, reply.body
    assert not _mentions(reply.body, "Globex", str(orgs.OTHER_TENANT_ID)), reply.body
    # Orgs resolves the reference inside tenant A (row-level security: not found) and the gateway's
    # tenant guard fails closed on the object without a tenant of the caller: FORBIDDEN at its path
    # (then null propagation through the non-null lists).
    blocked = [e for e in reply.errors if (e.get("extensions") or {}).get("code") == "FORBIDDEN"]
    assert blocked and all(e["path"][0] == "publications" and e["path"][2] == "buyers" for e in blocked), (
        reply.body
    )


async def test_entities_cannot_be_smuggled_by_a_client(e2e: Stack, tenant_b: TenantB) -> None:
    bea = await e2e.login("bea@northwind.example")
    reply = await e2e.query(
        """query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name } } }""",
        {"r": [{"__typename": "Product", "id": tenant_b.product_id}]},
        token=bea,
    )
    assert reply.status in (200, 400) and reply.data is None, reply.body
    assert set(reply.codes()) == {"GRAPHQL_VALIDATION_FAILED"}, reply.body
    assert all(not log.bodies for log in e2e.logs.values())


# --------------------------------------------------------------------------- (c) signatures


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("orgs", "{ tenant { slug } }"),
        ("catalog", "{ categories { code } }"),
        ("pricing", "{ priceLists { totalCount } }"),
    ],
)
async def test_a_subgraph_called_without_the_gateway_signature_answers_401(
    e2e: Stack, name: str, query: str
) -> None:
    url = e2e.subgraph_urls[name]
    unsigned = await e2e.post(url, query)
    assert unsigned.status == 401 and unsigned.codes() == ["UNAUTHENTICATED"], unsigned.body
    principal = Principal(tenant_id=str(orgs.DEMO_TENANT_ID), organization_id=str(orgs.BUYER_ID))
    forged = await e2e.post(url, query, headers={HEADER: sign_context(principal, b"not-the-secret", ttl=30)})
    assert forged.status == 401, forged.body
    expired = await e2e.post(
        url, query, headers={HEADER: sign_context(principal, e2e.secret.encode(), ttl=-5)}
    )
    assert expired.status == 401, expired.body
    signed = await e2e.post(
        url, query, headers={HEADER: sign_context(principal, e2e.secret.encode(), ttl=30)}
    )
    assert signed.status == 200 and not signed.errors and signed.data, signed.body


async def test_a_client_sent_gateway_context_is_refused(e2e: Stack) -> None:
    principal = Principal(tenant_id=str(orgs.OTHER_TENANT_ID), scopes=("catalog:admin",))
    reply = await e2e.query(
        "{ categories { id } }", headers={HEADER: sign_context(principal, e2e.secret.encode(), ttl=30)}
    )
    assert reply.status == 403 and reply.codes() == ["FORBIDDEN"], reply.body
    assert all(not log.bodies for log in e2e.logs.values())


# --------------------------------------------------------------------------- (d) field rules


async def test_a_protected_field_is_null_and_never_fetched(e2e: Stack) -> None:
    bea = await e2e.login("bea@northwind.example")  # a buyer: no pricing:write
    found = await e2e.query(
        """{ searchProducts(query: "gloves", first: 1) { edges { node { skus { id } } } } }""", token=bea
    )
    sku = found.data["searchProducts"]["edges"][0]["node"]["skus"][0]["id"]
    e2e.reset_logs()
    query = """query($id: ID!) {
      sku(id: $id) { id code name priceBreaks { priceListId minQuantity unitPrice { amount } } } }"""
    reply = await e2e.query(query, {"id": sku}, token=bea)
    assert reply.status == 200, reply.body
    assert reply.data["sku"]["code"] and reply.data["sku"]["name"], reply.body
    assert reply.data["sku"]["priceBreaks"] is None
    assert reply.errors == [
        {
            "message": "Unauthorized field or type: Sku.priceBreaks",
            "path": ["sku", "priceBreaks"],
            "extensions": {"code": "UNAUTHORIZED_FIELD_OR_TYPE"},
        }
    ] or [(e["path"], e["extensions"]["code"]) for e in reply.errors] == [
        (["sku", "priceBreaks"], "UNAUTHORIZED_FIELD_OR_TYPE")
    ], reply.body
    assert e2e.logs["catalog"].bodies, "the catalog answered the unprotected fields"
    assert e2e.logs["pricing"].bodies == [], e2e.logs["pricing"].queries()

    # The platform admin holds pricing:write: the same query reaches pricing and gets the breaks.
    e2e.reset_logs()
    admin = await e2e.login("admin@acme-mro.example")
    seller = await e2e.query(query, {"id": sku}, token=admin)
    assert seller.status == 200 and not seller.errors, seller.body
    assert seller.data["sku"]["priceBreaks"], seller.body
    assert any("priceBreaks" in q for q in e2e.logs["pricing"].queries())


# --------------------------------------------------------------------------- (f), (g) tokens


def _tamper(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    return f"{head}.{payload}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


def _with_claims(token: str, **changes: Any) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


async def _refused(e2e: Stack, token: str) -> None:
    reply = await e2e.query("{ me { email } }", token=token)
    assert reply.status == 401 and reply.data is None, reply.body
    assert reply.codes() == ["UNAUTHENTICATED"], reply.body


async def test_expired_and_badly_signed_tokens_are_refused(e2e: Stack) -> None:
    def token(ttl: float = 300, key: SigningKey | None = None) -> str:
        return e2e.mint(
            tenant_id=orgs.DEMO_TENANT_ID,
            organization_id=orgs.BUYER_ID,
            user_id=orgs.BUYER_USER_ID,
            scopes=["catalog:read"],
            roles=["buyer"],
            ttl=ttl,
            key=key,
        )

    good = token()
    ok = await e2e.query("{ tenant { slug } }", token=good)
    assert ok.status == 200 and ok.data == {"tenant": {"slug": "acme-mro"}}, ok.body

    await _refused(e2e, token(ttl=-120))  # expired (beyond the clock skew)
    stranger = rsa_key(e2e.test_key.kid)  # same kid, a key nobody published
    await _refused(e2e, token(key=stranger))
    await _refused(e2e, token(key=rsa_key("kid-nobody-knows")))  # unknown kid
    real = await e2e.login("bea@northwind.example")
    e2e.reset_logs()
    await _refused(e2e, _tamper(real))  # orgs-issued token, signature altered
    await _refused(
        e2e, _with_claims(real, tid=str(orgs.OTHER_TENANT_ID), tenant_id=str(orgs.OTHER_TENANT_ID))
    )
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    await _refused(e2e, f"{none_header}.{real.split('.')[1]}.")  # alg: none
    assert all(not log.bodies for log in e2e.logs.values())  # refused before any subgraph call


async def test_a_deactivated_users_token_is_refused(e2e: Stack) -> None:
    admin = await e2e.login("admin@acme-mro.example")
    email = f"e2e-{secrets.token_hex(4)}@northwind.example"
    invite = await e2e.query(
        """mutation($input: InvitationCreateInput!) { invitationCreate(input: $input) {
             token userErrors { field code message } } }""",
        {"input": {"email": email, "organizationId": str(orgs.BUYER_ID), "roles": ["buyer"]}},
        token=admin,
    )
    assert invite.status == 200 and invite.data["invitationCreate"]["userErrors"] == [], invite.body
    password = f"pw-{uuid.uuid4()}"
    accept = await e2e.query(
        """mutation($input: InvitationAcceptInput!) { invitationAccept(input: $input) {
             userErrors { field code message } } }""",
        {
            "input": {
                "tenant": "acme-mro",
                "token": invite.data["invitationCreate"]["token"],
                "displayName": "E2E Buyer",
                "password": password,
            }
        },
    )
    assert accept.status == 200 and accept.data["invitationAccept"]["userErrors"] == [], accept.body
    # (An anonymous caller has no tenant, so the tenant guard would null the new `User` object: the
    # user reads its own id once logged in.)
    token = await e2e.login(email, password=password, cached=False)
    before = await e2e.query("{ me { id email } }", token=token)
    assert before.status == 200 and before.data["me"]["email"] == email, before.body
    user_id = before.data["me"]["id"]

    deactivate = await e2e.query(
        """mutation($input: UserDeactivateInput!) { userDeactivate(input: $input) {
             user { id } userErrors { field code message } } }""",
        {"input": {"userId": user_id}},
        token=admin,
    )
    assert deactivate.status == 200 and deactivate.data["userDeactivate"]["userErrors"] == [], deactivate.body
    again = await e2e.query(
        "mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }",
        {"input": {"email": email, "password": password, "tenant": "acme-mro"}},
    )
    assert again.data["login"]["token"] is None, again.body  # no new logins
    deadline = time.monotonic() + 3.0  # the gateway caches a user's session version for <= 1 s
    while True:
        after = await e2e.query("{ me { email } }", token=token)
        if after.status != 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert after.status == 401 and after.codes() == ["UNAUTHENTICATED"], after.body


# --------------------------------------------------------------------------- API keys


async def test_a_partner_api_key_works_until_revoked(e2e: Stack) -> None:
    admin = await e2e.login("admin@acme-mro.example")
    created = await e2e.query(
        """mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) {
             key apiKey { id } userErrors { field code message } } }""",
        {
            "input": {
                "organizationId": str(orgs.BUYER_ID),
                "name": "Northwind ERP",
                "scopes": ["catalog:read"],
            }
        },
        token=admin,
    )
    assert created.status == 200 and created.data["apiKeyCreate"]["userErrors"] == [], created.body
    key = created.data["apiKeyCreate"]["key"]
    key_id = created.data["apiKeyCreate"]["apiKey"]["id"]
    query = """{ tenant { slug } searchProducts(query: "gloves", first: 1) { totalCount } }"""
    used = await e2e.query(query, headers={"x-api-key": key})
    assert used.status == 200 and not used.errors, used.body
    assert used.data["tenant"] == {"slug": "acme-mro"} and used.data["searchProducts"]["totalCount"] > 0

    revoked = await e2e.query(
        """mutation($input: ApiKeyRevokeInput!) { apiKeyRevoke(input: $input) { userErrors { code } } }""",
        {"input": {"id": key_id}},
        token=admin,
    )
    assert revoked.status == 200 and revoked.data["apiKeyRevoke"]["userErrors"] == [], revoked.body
    deadline = time.monotonic() + 5.0
    while True:
        after = await e2e.query(query, headers={"x-api-key": key})
        if after.status == 401 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    assert after.status == 401 and after.codes() == ["UNAUTHENTICATED"], after.body
    unknown = await e2e.query(query, headers={"x-api-key": key + "x"})
    assert unknown.status == 401, unknown.body
