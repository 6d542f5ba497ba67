"""The catalog subgraph end to end over HTTP, as the gateway calls it (signed context), on the real
PostgreSQL (RLS, app role): search and facets, buyer catalogs, tenants, versions, bulk import."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from devstack.asgi import serve_asgi
from devstack.seed import seed_all
from shared.db import Database, app_database_url, libpq_url
from shared.events import EventEnvelope
from shared.settings import Settings
from shared.testing import gateway_headers, graphql
from subgraphs.catalog import demo_ids
from subgraphs.catalog.app import create_app
from subgraphs.catalog.events import OrganizationProjection
from subgraphs.catalog.models import Category
from subgraphs.orgs import seed as orgs_seed

TENANT = orgs_seed.DEMO_TENANT_ID
ADMIN: dict[str, Any] = {
    "organization_id": orgs_seed.PLATFORM_ID,
    "scopes": ["catalog:read", "catalog:admin", "catalog:write"],
}
SUPPLIER: dict[str, Any] = {
    "organization_id": orgs_seed.SUPPLIER_ID,
    "scopes": ["catalog:read", "catalog:write"],
}
BUYER: dict[str, Any] = {"organization_id": orgs_seed.BUYER_ID, "scopes": ["catalog:read", "orders:place"]}
BUYER_UNIT: dict[str, Any] = {"organization_id": orgs_seed.BUYER_PLANT_ID, "scopes": ["catalog:read"]}
SHOP: dict[str, Any] = {"organization_id": orgs_seed.DISTRIBUTOR_ID, "scopes": ["catalog:read"]}

STEEL_BAR = demo_ids.product_id("STL-BAR-RO-S235JR-B")
NITRILE = demo_ids.product_id("GLV-NIT4-BL-DX")

SEARCH = """
query($q: String, $f: ProductSearchFilter, $first: Int, $after: String) {
  searchProducts(query: $q, filter: $f, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name status vendor { id } category { code } skus { code pack { label } } } }
    facets {
      categories { category { code } count }
      vendors { vendor { id } count }
      attributes { name values { value count } }
    }
  }
}
"""


async def _owner_fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def seeded(service_urls: Any) -> str:
    await seed_all(service_urls.database_url, ["orgs", "catalog"])
    return str(service_urls.database_url)


@pytest.fixture(scope="module")
async def app_db(seeded: str) -> AsyncIterator[Database]:
    db = Database.from_url(app_database_url(seeded), pool_size=3)
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def catalog_url(app_db: Database) -> AsyncIterator[str]:
    async with serve_asgi(create_app(Settings(outbox_relay_enabled=False), database=app_db)) as url:
        yield url


async def gql(
    url: str, query: str, variables: dict[str, Any] | None = None, *, tenant: uuid.UUID = TENANT, **who: Any
) -> dict[str, Any]:
    status, body = await graphql(url, query, variables, headers=gateway_headers(tenant, **who))
    assert status == 200, body
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def search(url: str, who: dict[str, Any], **variables: Any) -> dict[str, Any]:
    data = await gql(url, SEARCH, variables, **who)
    result: dict[str, Any] = data["searchProducts"]
    return result


def facet(result: dict[str, Any], name: str) -> dict[str, int]:
    for a in result["facets"]["attributes"]:
        if a["name"] == name:
            return {v["value"]: v["count"] for v in a["values"]}
    return {}


async def test_demo_seed_is_complete_and_idempotent(seeded: str) -> None:
    async def counts() -> dict[str, int]:
        out = {}
        for table in ("categories", "products", "skus", "publications", "organizations", "outbox"):
            rows = await _owner_fetch(
                seeded, f"SELECT count(*) AS n FROM catalog.{table} WHERE tenant_id = $1", TENANT
            )
            out[table] = rows[0]["n"]
        return out

    before = await counts()
    await seed_all(seeded, ["catalog"])
    assert await counts() == before
    demo_skus = await _owner_fetch(
        seeded, "SELECT count(*) AS n FROM catalog.skus WHERE id = ANY($1::uuid[])", demo_ids_all_skus()
    )
    assert demo_skus[0]["n"] == len(demo_ids.demo_sku_codes()) >= 1000
    assert before["products"] >= 219 and before["categories"] >= 16


def demo_ids_all_skus() -> list[uuid.UUID]:
    return [demo_ids.sku_id(code) for code in demo_ids.demo_sku_codes()]


# ---------------------------------------------------------------------------- search


async def test_full_text_ranks_names_first_and_counts_facets(catalog_url: str) -> None:
    result = await search(catalog_url, ADMIN, q="nitrile gloves", first=5)
    assert result["totalCount"] >= 12
    top = result["edges"][0]["node"]
    assert "nitrile" in top["name"].lower()
    cats = {c["category"]["code"]: c["count"] for c in result["facets"]["categories"]}
    # Subtree roll-up: every disposable nitrile glove also counts for gloves and ppe.
    assert cats["ppe"] >= cats["gloves"] >= cats["disposable-gloves"] > 0
    sizes = facet(result, "size")
    assert sizes["M"] == sizes["L"] > 0
    assert sum(v["count"] for v in result["facets"]["vendors"]) == result["totalCount"]


async def test_prefix_match_and_sku_code_prefix(catalog_url: str) -> None:
    grind = await search(catalog_url, ADMIN, q="grin")  # prefix of grinder / grinding
    names = [e["node"]["name"].lower() for e in grind["edges"]]
    assert grind["totalCount"] > 0 and all("grind" in n for n in names)
    by_code = await search(catalog_url, ADMIN, q="WLD-WIRE-ER70S6-P")
    codes = {e["node"]["skus"][0]["code"][:17] for e in by_code["edges"]}
    assert by_code["totalCount"] == 2 and codes == {"WLD-WIRE-ER70S6-P"}


async def test_filters_category_subtree_vendor_attributes_and_paging(catalog_url: str) -> None:
    gloves = str(demo_ids.category_id("gloves"))
    xxl = await search(
        catalog_url, ADMIN, f={"categoryId": gloves, "attributes": [{"name": "size", "values": ["XXL"]}]}
    )
    assert xxl["totalCount"] == 20  # only work gloves come in XXL
    assert {e["node"]["category"]["code"] for e in xxl["edges"]} == {"work-gloves"}
    drills = await search(
        catalog_url,
        ADMIN,
        f={
            "categoryId": str(demo_ids.category_id("power-tools")),
            "attributes": [
                {"name": "voltage", "values": ["18", "20"]},
                {"name": "drill_type", "values": ["Hammer drill"]},
            ],
        },
    )
    assert drills["totalCount"] == 4 and facet(drills, "voltage") == {"18": 2, "20": 2}
    # Pages cover the whole result exactly once.
    seen: list[str] = []
    after = None
    while True:
        page = await search(catalog_url, ADMIN, q="steel", first=7, after=after)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    vendor = str(orgs_seed.SUPPLIER_ID)
    by_vendor = await search(catalog_url, ADMIN, f={"vendorId": vendor}, first=1)
    assert by_vendor["facets"]["vendors"] == [{"vendor": {"id": vendor}, "count": by_vendor["totalCount"]}]


async def test_bad_search_input_is_a_graphql_error_with_code(catalog_url: str) -> None:
    status, body = await graphql(
        catalog_url,
        SEARCH,
        {"first": 1000},
        headers=gateway_headers(TENANT, **ADMIN),
    )
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    status, body = await graphql(
        catalog_url, SEARCH, {"after": "!!"}, headers=gateway_headers(TENANT, **ADMIN)
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await search(catalog_url, ADMIN, q="&|!:*()"))["totalCount"] == 0


# ---------------------------------------------------------------------------- buyer catalogs


PRODUCT = "query($id: ID!) { product(id: $id) { id name status } }"
ENTITIES = """query($r: [_Any!]!) {
  _entities(representations: $r) { ... on Product { id } ... on Sku { id code } }
}"""


async def test_buyer_sees_only_its_publications(catalog_url: str) -> None:
    # The first buyer has the steel contract catalog on top of the standard one; the shop has not.
    assert (await gql(catalog_url, PRODUCT, {"id": str(STEEL_BAR)}, **BUYER))["product"] is not None
    assert (await gql(catalog_url, PRODUCT, {"id": str(STEEL_BAR)}, **SHOP))["product"] is None
    assert (await gql(catalog_url, PRODUCT, {"id": str(NITRILE)}, **SHOP))["product"] is not None
    steel = str(demo_ids.category_id("steel"))
    assert (await search(catalog_url, SHOP, q="steel bar", f={"categoryId": steel}))["totalCount"] == 0
    assert (await search(catalog_url, BUYER, q="steel bar", f={"categoryId": steel}))["totalCount"] > 0
    # A business unit inherits the catalogs of the organization above it.
    assert (await gql(catalog_url, PRODUCT, {"id": str(STEEL_BAR)}, **BUYER_UNIT))["product"] is not None
    # Federation entity references obey the same rule (pricing/orders resolve through them).
    refs = [
        {"__typename": "Product", "id": str(STEEL_BAR)},
        {"__typename": "Sku", "id": str(demo_ids.sku_id("STL-BAR-RO-S235JR-B-D20"))},
        {"__typename": "Product", "id": str(NITRILE)},
    ]
    shop_entities = (await gql(catalog_url, ENTITIES, {"r": refs}, **SHOP))["_entities"]
    assert shop_entities[0] is None and shop_entities[1] is None and shop_entities[2]["id"] == str(NITRILE)


async def test_buyers_never_see_drafts_or_archived(catalog_url: str) -> None:
    draft = demo_ids.product_id("GLV-WRK10-SH")
    assert (await gql(catalog_url, PRODUCT, {"id": str(draft)}, **ADMIN))["product"]["status"] == "DRAFT"
    assert (await gql(catalog_url, PRODUCT, {"id": str(draft)}, **BUYER))["product"] is None
    result = await search(catalog_url, BUYER, f={"status": "ARCHIVED"})
    assert result["totalCount"] == 0
    all_buyer = await search(catalog_url, BUYER, first=1)
    assert all(s == "ACTIVE" for s in [e["node"]["status"] for e in all_buyer["edges"]])


async def test_no_organization_sees_nothing(catalog_url: str) -> None:
    result = await search(catalog_url, {"scopes": ["catalog:read"]}, q="gloves")
    assert result["totalCount"] == 0
    assert (await gql(catalog_url, PRODUCT, {"id": str(NITRILE)}, scopes=["catalog:read"]))["product"] is None


async def test_projection_consumer_records_new_buyer_units(app_db: Database, catalog_url: str) -> None:
    unit = uuid.uuid4()
    event = EventEnvelope.new(
        "orgs",
        "organization_created",
        tenant_id=TENANT,
        subject_id=unit,
        data={"id": str(unit), "kind": "BUYER", "parent_id": str(orgs_seed.BUYER_ID), "name": "Plant 9"},
    )
    consumer = OrganizationProjection(app_db, None)  # type: ignore[arg-type]
    assert await consumer.process(event) is True
    assert await consumer.process(event) is False  # idempotent
    who: dict[str, Any] = {"organization_id": unit, "scopes": ["catalog:read"]}
    assert (await gql(catalog_url, PRODUCT, {"id": str(STEEL_BAR)}, **who))["product"] is not None


# ---------------------------------------------------------------------------- tenants

CREATE = """
mutation($input: ProductCreateInput!) {
  productCreate(input: $input) {
    product { id version status skus { id code pack { label } } }
    userErrors { field message code }
  }
}
"""


async def test_another_tenants_products_are_invisible(app_db: Database, catalog_url: str) -> None:
    other = orgs_seed.OTHER_TENANT_ID
    category = uuid.uuid4()
    async with app_db.tenant_session(other) as session:
        session.add(Category(id=category, tenant_id=other, code="bars", name="Bars", attribute_schema=[]))
    other_admin = {"organization_id": uuid.uuid4(), "scopes": ["catalog:admin", "catalog:write"]}
    data = await gql(
        catalog_url,
        CREATE,
        {
            "input": {
                "name": "Globex secret nitrile bar",
                "categoryId": str(category),
                "vendorId": str(orgs_seed.OTHER_SUPPLIER_ID),
                "mediaUrls": ["https://media.example.com/globex/bar.jpg"],
                # The same code as a demo SKU of the first tenant: codes are unique per tenant.
                "skus": [{"code": "GLV-NIT4-BL-DX-M", "uom": "BAR", "packQuantity": "6", "contentUom": "M"}],
            }
        },
        tenant=other,
        **other_admin,
    )
    payload = data["productCreate"]
    assert payload["userErrors"] == [] and payload["product"]["skus"][0]["pack"]["label"] == "BAR of 6 M"
    pid = payload["product"]["id"]
    assert (await gql(catalog_url, PRODUCT, {"id": pid}, **ADMIN))["product"] is None
    assert (await search(catalog_url, ADMIN, q="globex secret"))["totalCount"] == 0
    # ...and the first tenant's catalog is invisible from the other tenant, even to its admin.
    assert (await gql(catalog_url, PRODUCT, {"id": str(NITRILE)}, tenant=other, **other_admin))[
        "product"
    ] is None
    found = await gql(catalog_url, SEARCH, {"q": "secret"}, tenant=other, **other_admin)
    assert found["searchProducts"]["totalCount"] == 1


# ---------------------------------------------------------------------------- writes

UPDATE = """
mutation($input: ProductUpdateInput!) {
  productUpdate(input: $input) {
    product { id version name skus { code } attributes { name value } }
    userErrors { field message code }
  }
}
"""
PUBLISH = """mutation($input: ProductStatusInput!) {
  productPublish(input: $input) { product { status version } userErrors { field code } } }"""
ARCHIVE = """mutation($input: ProductStatusInput!) {
  productArchive(input: $input) { product { status version } userErrors { field code } } }"""


def _drill(code: str) -> dict[str, Any]:
    return {
        "name": f"Test drill {code}",
        "categoryId": str(demo_ids.category_id("drills")),
        "brand": "Voltaro",
        "attributes": [
            {"name": "power_source", "value": "Cordless"},
            {"name": "voltage", "value": "18"},
            {"name": "drill_type", "value": "Combi drill"},
        ],
        "skus": [{"code": code, "attributes": [{"name": "kit", "value": "Bare tool"}]}],
    }


async def test_create_validates_and_supplier_owns_its_products(seeded: str, catalog_url: str) -> None:
    bad = _drill("t-bad")
    bad["attributes"][1]["value"] = "24"
    bad["skus"].append({"code": "t-bad", "uom": "BOX", "packQuantity": "0"})
    errors = (await gql(catalog_url, CREATE, {"input": bad}, **SUPPLIER))["productCreate"]["userErrors"]
    assert {(tuple(e["field"]), e["code"]) for e in errors} >= {
        (("attributes", "voltage"), "INVALID_ATTRIBUTE_VALUE"),
        (("skus", "1", "packQuantity"), "INVALID_PACK_SIZE"),
    }
    taken = _drill("GLV-NIT4-BL-DX-M")
    errors = (await gql(catalog_url, CREATE, {"input": taken}, **SUPPLIER))["productCreate"]["userErrors"]
    assert [e["code"] for e in errors] == ["DUPLICATE_SKU_CODE"]
    created = (await gql(catalog_url, CREATE, {"input": _drill("T-DRL-1")}, **SUPPLIER))["productCreate"]
    assert created["userErrors"] == [] and created["product"]["status"] == "DRAFT"
    pid = created["product"]["id"]
    # The supplier sees its draft; a buyer does not; another supplier cannot name itself vendor of it.
    assert (await gql(catalog_url, PRODUCT, {"id": pid}, **SUPPLIER))["product"]["status"] == "DRAFT"
    assert (await gql(catalog_url, PRODUCT, {"id": pid}, **BUYER))["product"] is None
    stranger: dict[str, Any] = {"organization_id": uuid.uuid4(), "scopes": ["catalog:write"]}
    other = dict(_drill("T-DRL-2"), vendorId=str(orgs_seed.SUPPLIER_ID))
    errors = (await gql(catalog_url, CREATE, {"input": other}, **stranger))["productCreate"]["userErrors"]
    assert [e["code"] for e in errors] == ["FORBIDDEN"]
    rows = await _owner_fetch(
        seeded, "SELECT type, envelope FROM catalog.outbox WHERE envelope->>'subject_id' = $1", pid
    )
    assert [r["type"] for r in rows] == ["catalog.product_created"]


async def test_buyers_cannot_write(catalog_url: str) -> None:
    status, body = await graphql(
        catalog_url, CREATE, {"input": _drill("T-DRL-9")}, headers=gateway_headers(TENANT, **BUYER)
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    status, body = await graphql(catalog_url, CREATE, {"input": _drill("T-DRL-9")})
    assert status == 401


async def test_update_with_stale_version_is_a_version_conflict(catalog_url: str) -> None:
    created = (await gql(catalog_url, CREATE, {"input": _drill("T-DRL-V")}, **ADMIN))["productCreate"]
    assert created["userErrors"] == [], created
    pid, v1 = created["product"]["id"], created["product"]["version"]
    first = (
        await gql(
            catalog_url,
            UPDATE,
            {
                "input": {
                    "id": pid,
                    "version": v1,
                    "name": "Renamed drill",
                    "skus": [{"code": "T-DRL-V-K2", "attributes": [{"name": "kit", "value": "2 x 2.0 Ah"}]}],
                }
            },
            **ADMIN,
        )
    )["productUpdate"]
    assert first["userErrors"] == [] and first["product"]["version"] == v1 + 1
    assert [s["code"] for s in first["product"]["skus"]] == ["T-DRL-V", "T-DRL-V-K2"]
    stale = (await gql(catalog_url, UPDATE, {"input": {"id": pid, "version": v1, "name": "Lost"}}, **ADMIN))[
        "productUpdate"
    ]
    assert stale["product"] is None
    assert stale["userErrors"] == [
        {"field": ["version"], "message": stale["userErrors"][0]["message"], "code": "VERSION_CONFLICT"}
    ]
    assert (await gql(catalog_url, PRODUCT, {"id": pid}, **ADMIN))["product"]["name"] == "Renamed drill"
    # Status: draft -> active -> archived; archived cannot go straight back to active.
    published = await gql(catalog_url, PUBLISH, {"input": {"id": pid, "version": v1 + 1}}, **ADMIN)
    assert published["productPublish"]["product"] == {"status": "ACTIVE", "version": v1 + 2}
    archived = (await gql(catalog_url, ARCHIVE, {"input": {"id": pid}}, **ADMIN))["productArchive"]
    assert archived["product"]["status"] == "ARCHIVED"
    again = (await gql(catalog_url, PUBLISH, {"input": {"id": pid}}, **ADMIN))["productPublish"]
    assert again["userErrors"] == [{"field": ["status"], "code": "INVALID_STATUS_TRANSITION"}]


# ---------------------------------------------------------------------------- bulk import

IMPORT = """
mutation($input: CatalogImportInput!) {
  catalogImport(input: $input) {
    createdProducts updatedProducts createdSkus updatedSkus
    rowErrors { row sku field code message }
    userErrors { code }
  }
}
"""
_GLV = "IMP-GLV,Imported nitrile gloves,disposable-gloves,DexaGrip"
IMPORT_CSV = (
    "sku,product_ref,product_name,category,brand,uom,pack_quantity,content_uom,status,"
    "attr:material,attr:thickness_mil,attr:powder_free,attr:size\n"
    f"IMP-GLV-S,{_GLV},BOX,100,EA,active,Nitrile,5,true,S\n"
    f"IMP-GLV-M,{_GLV},BOX,100,EA,active,Nitrile,5,true,M\n"
    f"IMP-GLV-Q,{_GLV},BOX,100,EA,active,Nitrile,5,true,QQ\n"
    "GLV-NIT4-BL-DX-L,IMP-OTHER,Thief,disposable-gloves,DexaGrip,BOX,100,EA,,Nitrile,5,true,L\n"
    "IMP-X-1,IMP-X,Nowhere,no-such-category,,EA,,,,,,,\n"
    f"IMP-GLV-C,{_GLV},CRATE,1,EA,active,Nitrile,5,true,M\n"
)


async def test_bulk_import_commits_valid_rows_reports_bad_ones_and_is_idempotent(catalog_url: str) -> None:
    first = (await gql(catalog_url, IMPORT, {"input": {"format": "CSV", "data": IMPORT_CSV}}, **SUPPLIER))[
        "catalogImport"
    ]
    assert (first["createdProducts"], first["createdSkus"]) == (1, 2)
    errors = {(e["row"], e["code"]) for e in first["rowErrors"]}
    assert errors == {
        (3, "INVALID_ATTRIBUTE_VALUE"),
        (4, "SKU_BELONGS_TO_OTHER_PRODUCT"),
        (5, "CATEGORY_NOT_FOUND"),
        (6, "INVALID_UNIT"),
    }
    found = await search(catalog_url, BUYER, q="imported nitrile")
    assert found["totalCount"] == 1 and {s["code"] for s in found["edges"][0]["node"]["skus"]} == {
        "IMP-GLV-M",
        "IMP-GLV-S",
    }
    again = (await gql(catalog_url, IMPORT, {"input": {"format": "CSV", "data": IMPORT_CSV}}, **SUPPLIER))[
        "catalogImport"
    ]
    assert (again["createdProducts"], again["updatedProducts"], again["createdSkus"]) == (0, 0, 0)
    assert {(e["row"], e["code"]) for e in again["rowErrors"]} == errors
    # JSON lines update the same product by SKU code and add a size.
    jsonl = "\n".join(
        json.dumps(
            {
                "sku": code,
                "product_ref": "IMP-GLV",
                "product_name": "Imported nitrile gloves",
                "category": "disposable-gloves",
                "brand": "DexaGrip",
                "uom": "BOX",
                "pack_quantity": 100,
                "status": "active",
                "attributes": {"material": "Nitrile", "thickness_mil": 5, "powder_free": True, "size": size},
            }
        )
        for code, size in (("IMP-GLV-M", "M"), ("IMP-GLV-L", "L"))
    )
    third = (await gql(catalog_url, IMPORT, {"input": {"format": "JSONL", "data": jsonl}}, **SUPPLIER))[
        "catalogImport"
    ]
    assert third["rowErrors"] == []
    assert (third["createdProducts"], third["updatedProducts"], third["createdSkus"]) == (0, 1, 1)
    found = await search(catalog_url, BUYER, q="IMP-GLV")
    assert len(found["edges"][0]["node"]["skus"]) == 3
    # A row without a status leaves an existing product's status alone (no ACTIVE -> DRAFT).
    no_status = (
        "sku,product_ref,product_name,category,brand,uom,pack_quantity,content_uom,"
        "attr:material,attr:thickness_mil,attr:powder_free,attr:size\n"
        f"IMP-GLV-S,{_GLV},BOX,100,EA,Nitrile,5,true,S\n"
    )
    fourth = (await gql(catalog_url, IMPORT, {"input": {"format": "CSV", "data": no_status}}, **SUPPLIER))[
        "catalogImport"
    ]
    assert fourth["rowErrors"] == [] and (fourth["createdProducts"], fourth["updatedProducts"]) == (0, 0)
    assert (await search(catalog_url, BUYER, q="IMP-GLV"))["edges"][0]["node"]["status"] == "ACTIVE"


# ---------------------------------------------------------------------------- categories, publications

CATEGORY_CREATE = """
mutation($input: CategoryCreateInput!) {
  categoryCreate(input: $input) {
    category { id code path { code } attributeSchema { name type scope required allowedValues } }
    userErrors { field code }
  }
}
"""
CATEGORY_UPDATE = """
mutation($input: CategoryUpdateInput!) {
  categoryUpdate(input: $input) { category { code parent { code } } userErrors { field code } }
}
"""
PUBLICATION = """
mutation($input: PublicationUpsertInput!) {
  publicationUpsert(input: $input) {
    publication { code allBuyers productIds buyers { id } }
    userErrors { field code }
  }
}
"""


async def test_categories_inherit_attributes_and_refuse_cycles(catalog_url: str) -> None:
    created = (
        await gql(
            catalog_url,
            CATEGORY_CREATE,
            {
                "input": {
                    "code": "impact-drivers",
                    "name": "Impact drivers",
                    "parentId": str(demo_ids.category_id("power-tools")),
                    "attributes": [
                        {
                            "name": "bit_holder",
                            "type": "ENUM",
                            "allowedValues": ["1/4 in hex", "1/2 in square"],
                        }
                    ],
                }
            },
            **ADMIN,
        )
    )["categoryCreate"]
    assert created["userErrors"] == []
    assert [c["code"] for c in created["category"]["path"]] == ["power-tools", "impact-drivers"]
    names = {a["name"] for a in created["category"]["attributeSchema"]}
    assert {"voltage", "power_source", "kit", "bit_holder"} <= names
    bad = (
        await gql(
            catalog_url,
            CATEGORY_CREATE,
            {"input": {"code": "gloves", "name": "x", "attributes": [{"name": "Bad Name", "type": "ENUM"}]}},
            **ADMIN,
        )
    )["categoryCreate"]
    assert {e["code"] for e in bad["userErrors"]} == {"INVALID_VALUE", "INVALID_ATTRIBUTE_SCHEMA"}
    cycle = (
        await gql(
            catalog_url,
            CATEGORY_UPDATE,
            {
                "input": {
                    "id": str(demo_ids.category_id("power-tools")),
                    "parentId": created["category"]["id"],
                }
            },
            **ADMIN,
        )
    )["categoryUpdate"]
    assert cycle["userErrors"] == [{"field": ["parentId"], "code": "CATEGORY_CYCLE"}]
    moved = (
        await gql(
            catalog_url,
            CATEGORY_UPDATE,
            {"input": {"id": created["category"]["id"], "makeRoot": True}},
            **ADMIN,
        )
    )["categoryUpdate"]
    assert moved["category"] == {"code": "impact-drivers", "parent": None}
    _, body = await graphql(
        catalog_url,
        CATEGORY_CREATE,
        {"input": {"code": "x", "name": "x"}},
        headers=gateway_headers(TENANT, **SUPPLIER),
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_publication_of_single_products_for_one_buyer(catalog_url: str) -> None:
    tube = demo_ids.product_id("STL-TUB-SQ-S235JR-H")
    other_tube = demo_ids.product_id("STL-TUB-RO-S235JR-H")
    assert (await gql(catalog_url, PRODUCT, {"id": str(tube)}, **SHOP))["product"] is None
    payload = (
        await gql(
            catalog_url,
            PUBLICATION,
            {
                "input": {
                    "code": "shop-tubes",
                    "name": "Tubes for the corner shop",
                    "productIds": [str(tube)],
                    "buyerIds": [str(orgs_seed.DISTRIBUTOR_ID)],
                }
            },
            **ADMIN,
        )
    )["publicationUpsert"]
    assert payload["userErrors"] == [] and payload["publication"]["productIds"] == [str(tube)]
    assert (await gql(catalog_url, PRODUCT, {"id": str(tube)}, **SHOP))["product"] is not None
    assert (await gql(catalog_url, PRODUCT, {"id": str(other_tube)}, **SHOP))["product"] is None
    # Replacing the publication without the product takes it away again.
    await gql(
        catalog_url,
        PUBLICATION,
        {"input": {"code": "shop-tubes", "name": "Tubes", "buyerIds": [str(orgs_seed.DISTRIBUTOR_ID)]}},
        **ADMIN,
    )
    assert (await gql(catalog_url, PRODUCT, {"id": str(tube)}, **SHOP))["product"] is None
    listed = await gql(catalog_url, "{ publications { code allBuyers } }", **ADMIN)
    assert {"code": "standard-mro", "allBuyers": True} in listed["publications"]
    bad = (
        await gql(
            catalog_url,
            PUBLICATION,
            {"input": {"code": "x", "name": "x", "productIds": [str(uuid.uuid4())], "categoryIds": ["nope"]}},
            **ADMIN,
        )
    )["publicationUpsert"]
    assert {e["code"] for e in bad["userErrors"]} == {"INVALID_VALUE"}


async def test_facets_only_when_selected_also_through_fragments(catalog_url: str) -> None:
    plain = await gql(catalog_url, '{ searchProducts(query: "nitrile") { totalCount } }', **ADMIN)
    query = """
    query { searchProducts(query: "nitrile") { ...Result } }
    fragment Result on ProductSearchConnection { totalCount ... on ProductSearchConnection { facets {
      vendors { count } } } }
    """
    with_facets = await gql(catalog_url, query, **ADMIN)
    total = plain["searchProducts"]["totalCount"]
    assert total == with_facets["searchProducts"]["totalCount"] > 0
    assert sum(v["count"] for v in with_facets["searchProducts"]["facets"]["vendors"]) == total


async def test_tenant_scoped_types_expose_their_tenant_for_the_gateway_guard(catalog_url: str) -> None:
    data = await gql(
        catalog_url,
        """query($id: ID!) {
             product(id: $id) { tenantId category { tenantId path { tenantId } } skus { tenantId } }
             categories { tenantId }
             publications { tenantId }
           }""",
        {"id": str(NITRILE)},
        **ADMIN,
    )
    tenant = str(TENANT)
    product = data["product"]
    assert product["tenantId"] == tenant and product["category"]["tenantId"] == tenant
    assert {c["tenantId"] for c in product["category"]["path"]} == {tenant}
    assert {s["tenantId"] for s in product["skus"]} == {tenant}
    assert {c["tenantId"] for c in data["categories"]} == {tenant}
    assert data["publications"] and {p["tenantId"] for p in data["publications"]} == {tenant}
    # Entity references (what the gateway's tenant guard reads after an _entities fetch) carry it too.
    refs = await gql(
        catalog_url,
        """query($reps: [_Any!]!) { _entities(representations: $reps) {
             ... on Product { tenantId } ... on Sku { tenantId } } }""",
        {"reps": [{"__typename": "Product", "id": str(NITRILE)}]},
        **BUYER,
    )
    assert refs["_entities"] == [{"tenantId": tenant}]


async def test_total_and_facets_equal_a_naive_count_over_every_match(catalog_url: str, seeded: str) -> None:
    """The one-pass counts (matches grouped by category, vendor and tag array, then summed) agree
    with counting every matching product one by one, for several viewers and filters."""
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (ADMIN, {"q": "gloves"}),
        (BUYER, {"q": "steel"}),
        (SHOP, {"q": "disc"}),
        (ADMIN, {"q": None, "f": {"attributes": [{"name": "size", "values": ["M", "L"]}]}}),
        (SUPPLIER, {"q": "grin"}),
    ]
    for who, variables in cases:
        first = await search(catalog_url, who, first=100, **variables)
        assert first["totalCount"] > 0, variables
        ids: list[uuid.UUID] = []
        page = first
        while True:
            ids += [uuid.UUID(e["node"]["id"]) for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            page = await search(catalog_url, who, first=100, after=page["pageInfo"]["endCursor"], **variables)
        assert len(ids) == len(set(ids)) == first["totalCount"], variables
        rows = await _owner_fetch(
            seeded, "SELECT vendor_id, facet_tags FROM catalog.products WHERE id = ANY($1::uuid[])", ids
        )
        vendors: dict[str, int] = {}
        tags: dict[str, dict[str, int]] = {}
        for row in rows:
            vendors[str(row["vendor_id"])] = vendors.get(str(row["vendor_id"]), 0) + 1
            for tag in row["facet_tags"]:
                name, _, value = tag.partition("=")
                tags.setdefault(name, {})[value] = tags.setdefault(name, {}).get(value, 0) + 1
        assert {v["vendor"]["id"]: v["count"] for v in first["facets"]["vendors"]} == vendors, variables
        assert {a["name"]: facet(first, a["name"]) for a in first["facets"]["attributes"]} == tags, variables


async def test_search_gin_indexes_have_no_pending_list(seeded: str) -> None:
    """Migration 0003: new entries go straight into the GIN trees, so no search reads a pending list."""
    rows = await _owner_fetch(
        seeded,
        "SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY relname",
        ["ix_catalog_products_facet_tags", "ix_catalog_products_search"],
    )
    assert [(r["relname"], r["reloptions"]) for r in rows] == [
        ("ix_catalog_products_facet_tags", ["fastupdate=off"]),
        ("ix_catalog_products_search", ["fastupdate=off"]),
    ]
