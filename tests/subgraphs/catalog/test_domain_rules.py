"""Catalog domain rules without a database: trees, attributes, packs, statuses, import parsing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from subgraphs.catalog.demo_data import DEMO_CATEGORIES, DEMO_PRODUCTS
from subgraphs.catalog.demo_ids import CATALOG_NAMESPACE, category_id, demo_sku_codes, product_id, sku_id
from subgraphs.catalog.importing import ImportFormat, parse_import, plan_import
from subgraphs.catalog.service import (
    AttributeDef,
    AttributeScope,
    AttributeType,
    CategoryNode,
    CategoryTree,
    Codes,
    DomainError,
    ProductInput,
    ProductStatus,
    SkuInput,
    Unit,
    ViewerKind,
    check_transition,
    check_version,
    coerce_attribute,
    facet_values,
    parse_pack_size,
    query_tokens,
    sku_prefix,
    validate_attributes,
    validate_category,
    validate_product,
    viewer_for,
)

VENDOR = uuid.UUID("00000000-0000-0000-0000-00000000000a")


def demo_tree() -> CategoryTree:
    return CategoryTree(
        CategoryNode(
            category_id(c.code), category_id(c.parent) if c.parent else None, c.code, c.name, c.attributes
        )
        for c in DEMO_CATEGORIES
    )


def codes(issues: object) -> set[str]:
    return {i.code for i in issues}  # type: ignore[attr-defined]


# ---------------------------------------------------------------- category tree


def test_subtree_and_inherited_schema() -> None:
    tree = demo_tree()
    sub = tree.subtree_ids(category_id("gloves"))
    assert set(sub) == {category_id(c) for c in ("gloves", "disposable-gloves", "work-gloves")}
    names = {d.name for d in tree.effective_schema(category_id("disposable-gloves"))}
    assert {"size", "material", "thickness_mil", "powder_free"} <= names
    assert [n.code for n in tree.path(category_id("flap-discs"))] == ["abrasives", "flap-discs"]


def test_moving_a_category_under_its_descendant_is_a_cycle() -> None:
    tree = demo_tree()
    assert tree.would_create_cycle(category_id("gloves"), category_id("work-gloves"))
    assert tree.would_create_cycle(category_id("gloves"), category_id("gloves"))
    assert not tree.would_create_cycle(category_id("work-gloves"), category_id("ppe"))
    issues = validate_category(
        tree,
        category_id=category_id("ppe"),
        code="ppe",
        name="PPE",
        parent_id=category_id("disposable-gloves"),
        attributes=(),
    )
    assert codes(issues) == {Codes.CATEGORY_CYCLE}


def test_category_code_taken_and_bad_schema() -> None:
    tree = demo_tree()
    issues = validate_category(
        tree,
        category_id=uuid.uuid4(),
        code="gloves",
        name="x",
        parent_id=None,
        attributes=(AttributeDef("kind", AttributeType.ENUM), AttributeDef("kind", AttributeType.INT)),
    )
    assert Codes.INVALID_VALUE in codes(issues) and Codes.INVALID_ATTRIBUTE_SCHEMA in codes(issues)


# ---------------------------------------------------------------- attributes


def test_typed_attribute_coercion() -> None:
    size = AttributeDef("size", AttributeType.ENUM, allowed_values=("S", "M", "L", "XL"))
    assert coerce_attribute(size, "xl") == "XL"
    with pytest.raises(ValueError):
        coerce_attribute(size, "XXXL")
    volts = AttributeDef("voltage", AttributeType.INT, allowed_values=("12", "18", "20"))
    assert coerce_attribute(volts, "18") == 18
    with pytest.raises(ValueError):
        coerce_attribute(volts, 24)
    with pytest.raises(ValueError):
        coerce_attribute(volts, "18.5")
    dia = AttributeDef("d", AttributeType.DECIMAL)
    assert coerce_attribute(dia, "1,20") == "1.2"
    assert coerce_attribute(dia, 0.8) == "0.8"
    flag = AttributeDef("b", AttributeType.BOOL)
    assert coerce_attribute(flag, "yes") is True
    with pytest.raises(ValueError):
        coerce_attribute(flag, "maybe")


def test_attributes_by_scope_required_and_unknown() -> None:
    schema = demo_tree().effective_schema(category_id("steel-bars"))
    clean, issues = validate_attributes(schema, {"grade": "s355j2", "shape": "Round"}, AttributeScope.PRODUCT)
    assert issues == [] and clean == {"grade": "S355J2", "shape": "Round"}
    _, issues = validate_attributes(schema, {"shape": "Round", "dimension": "Ø20"}, AttributeScope.PRODUCT)
    assert codes(issues) == {Codes.MISSING_ATTRIBUTE, Codes.UNKNOWN_ATTRIBUTE}
    assert any("belongs on the SKU" in i.message for i in issues)
    _, issues = validate_attributes(schema, {"grade": "S999"}, AttributeScope.PRODUCT)
    assert Codes.INVALID_ATTRIBUTE_VALUE in codes(issues)


def test_facet_values_merge_product_and_skus() -> None:
    assert facet_values({"grade": "S235JR", "brushless": True}, {"size": "M"}, {"size": "L"}) == {
        "brushless": ["true"],
        "grade": ["S235JR"],
        "size": ["L", "M"],
    }


# ---------------------------------------------------------------- units and packs


def test_pack_sizes() -> None:
    box = parse_pack_size("box", "100", "ea")
    assert (box.uom, box.quantity, box.content_uom) == (Unit.BOX, Decimal(100), Unit.EA)
    assert box.describe() == "BOX of 100 EA"
    spool = parse_pack_size("SPOOL", "25", "KG")
    assert spool.describe() == "SPOOL of 25 KG"
    assert parse_pack_size("BAR", "6", "M").quantity == 6
    assert parse_pack_size("EA", None, None).describe() == "EA"
    for bad in (
        ("BOX", "0", "EA"),
        ("BOX", "-3", "EA"),
        ("KG", "5", "KG"),
        ("BOX", "1", "BOX"),
        ("CRATE", "1", "EA"),
    ):
        with pytest.raises(DomainError):
            parse_pack_size(*bad)


# ---------------------------------------------------------------- products


def _glove(**over: object) -> ProductInput:
    base = ProductInput(
        name="Nitrile gloves 4 mil",
        category_id=category_id("disposable-gloves"),
        vendor_id=VENDOR,
        attributes={"material": "Nitrile", "thickness_mil": "4", "powder_free": "true"},
        skus=[SkuInput("t-glv-m", attributes={"size": "M"}, uom="BOX", pack_quantity="100")],
    )
    for k, v in over.items():
        setattr(base, k, v)
    return base


def test_valid_product_is_normalized() -> None:
    product, issues = validate_product(_glove(), demo_tree())
    assert issues == [] and product is not None
    assert product.skus[0].code == "T-GLV-M"
    assert product.attributes["powder_free"] is True
    assert product.facets["size"] == ["M"]


def test_product_issues_are_all_reported_with_paths() -> None:
    product, issues = validate_product(
        _glove(
            name="",
            attributes={"material": "Wool", "thickness_mil": "4"},
            skus=[
                SkuInput("ok-1", attributes={"size": "M"}, uom="BOX", pack_quantity="100"),
                SkuInput("ok-1", attributes={"size": "L"}, uom="BOX", pack_quantity="100"),
                SkuInput("x", attributes={"size": "M"}, uom="BOX", pack_quantity="100"),
                SkuInput("ok-3", attributes={}, uom="BOX", pack_quantity="100"),
            ],
        ),
        demo_tree(),
    )
    assert product is None
    by_field = {i.field: i.code for i in issues}
    assert by_field["name"] == Codes.REQUIRED
    assert by_field["attributes.material"] == Codes.INVALID_ATTRIBUTE_VALUE
    assert by_field["attributes.powder_free"] == Codes.MISSING_ATTRIBUTE
    assert by_field["skus.1.code"] == Codes.DUPLICATE_SKU_CODE
    assert by_field["skus.2.code"] == Codes.INVALID_SKU_CODE
    assert by_field["skus.3.attributes.size"] == Codes.MISSING_ATTRIBUTE


def test_same_variant_twice_is_refused_but_other_pack_is_a_variant() -> None:
    tree = demo_tree()
    same = [SkuInput(c, attributes={"size": "M"}, uom="BOX", pack_quantity="100") for c in ("A-1", "A-2")]
    _, issues = validate_product(_glove(skus=same), tree)
    assert codes(issues) == {Codes.DUPLICATE_VARIANT}
    packs = [
        SkuInput("A-1", attributes={"size": "M"}, uom="BOX", pack_quantity="100"),
        SkuInput("A-2", attributes={"size": "M"}, uom="CASE", pack_quantity="1000"),
    ]
    assert validate_product(_glove(skus=packs), tree)[1] == []


def test_status_transitions_and_versions() -> None:
    check_transition(ProductStatus.DRAFT, ProductStatus.ACTIVE)
    check_transition(ProductStatus.ACTIVE, ProductStatus.ARCHIVED)
    check_transition(ProductStatus.ARCHIVED, ProductStatus.DRAFT)
    with pytest.raises(DomainError) as e:
        check_transition(ProductStatus.ARCHIVED, ProductStatus.ACTIVE)
    assert e.value.issues[0].code == Codes.INVALID_STATUS_TRANSITION
    with pytest.raises(DomainError):
        check_transition(ProductStatus.ACTIVE, ProductStatus.DRAFT)
    check_version(3, 3)
    with pytest.raises(DomainError) as e:
        check_version(2, 3)
    assert e.value.issues[0].code == Codes.VERSION_CONFLICT


def test_viewers() -> None:
    org = uuid.uuid4()
    assert (
        viewer_for(organization_kind="PLATFORM", organization_ids=[org], scopes=[]).kind == ViewerKind.ADMIN
    )
    assert (
        viewer_for(organization_kind="SUPPLIER", organization_ids=[org], scopes=[]).kind == ViewerKind.VENDOR
    )
    assert viewer_for(organization_kind="BUYER", organization_ids=[org], scopes=[]).kind == ViewerKind.BUYER
    assert viewer_for(organization_kind=None, organization_ids=[], scopes=[]).kind == ViewerKind.NONE
    assert (
        viewer_for(organization_kind="BUYER", organization_ids=[org], scopes=["catalog:admin"]).kind
        == ViewerKind.ADMIN
    )


def test_query_tokens_drop_tsquery_operators() -> None:
    assert query_tokens("nitrile & !gloves:* | (drop)") == ["nitrile", "gloves", "drop"]
    assert sku_prefix("glv-nit") == "GLV-NIT"
    assert sku_prefix("nitrile gloves") is None


# ---------------------------------------------------------------- demo data and ids


def test_demo_data_is_large_valid_and_ids_are_stable() -> None:
    tree = demo_tree()
    assert len(DEMO_PRODUCTS) >= 200
    all_codes = demo_sku_codes()
    assert len(all_codes) == len(set(all_codes)) >= 800
    assert all(code == code.upper() for code in all_codes)  # stored as given, ids match
    for p in DEMO_PRODUCTS:
        _, issues = validate_product(
            ProductInput(
                p.name,
                category_id(p.category),
                VENDOR,
                p.brand,
                p.description,
                dict(p.attributes),
                list(p.media_urls),
                p.ref,
                [
                    SkuInput(s.code, s.name, dict(s.attributes), s.uom, s.pack_quantity, s.content_uom)
                    for s in p.skus
                ],
            ),
            tree,
        )
        assert issues == [], (p.ref, issues)
    assert sku_id("glv-nit4-bl-dx-m") == sku_id("GLV-NIT4-BL-DX-M")
    assert sku_id("GLV-NIT4-BL-DX-M") == uuid.uuid5(CATALOG_NAMESPACE, "sku:GLV-NIT4-BL-DX-M")
    assert product_id("GLV-NIT4-BL-DX") == uuid.uuid5(CATALOG_NAMESPACE, "product:GLV-NIT4-BL-DX")


# ---------------------------------------------------------------- import parsing

CSV_HEADER = (
    "sku,product_ref,product_name,category,brand,uom,pack_quantity,content_uom,"
    "attr:material,attr:thickness_mil,attr:powder_free,attr:size\n"
)
CSV_DATA = (
    CSV_HEADER
    + """IMP-GLV-M,IMP-GLV,Import gloves,disposable-gloves,DexaGrip,BOX,100,EA,Nitrile,4,true,M
IMP-GLV-L,IMP-GLV,Import gloves,disposable-gloves,DexaGrip,BOX,100,EA,Nitrile,4,true,L
IMP-GLV-Q,IMP-GLV,Import gloves,disposable-gloves,DexaGrip,BOX,100,EA,Nitrile,4,true,QQ
IMP-GLV-M,IMP-GLV,Import gloves,disposable-gloves,DexaGrip,BOX,100,EA,Nitrile,4,true,M
IMP-X-1,IMP-X,Other,no-such-category,,EA,,,,,,
IMP-GLV-XL,IMP-GLV,Import gloves RENAMED,disposable-gloves,DexaGrip,BOX,100,EA,Nitrile,4,true,XL
IMP-BAD-UOM,IMP-B,Bad unit,disposable-gloves,DexaGrip,CRATE,100,EA,Nitrile,4,true,M
"""
)


def test_csv_import_plan_reports_each_bad_row() -> None:
    rows, errors = parse_import(ImportFormat.CSV, CSV_DATA)
    assert errors == [] and len(rows) == 7
    planned, errors = plan_import(rows, demo_tree(), default_vendor=VENDOR)
    assert [p.product_ref for p in planned] == ["IMP-GLV"]
    assert sorted(s.code for s in planned[0].product.skus) == ["IMP-GLV-L", "IMP-GLV-M"]
    by_row = {e.row: e.code for e in errors}
    assert by_row == {
        3: Codes.INVALID_ATTRIBUTE_VALUE,
        4: Codes.DUPLICATE_SKU_CODE,
        5: Codes.CATEGORY_NOT_FOUND,
        6: Codes.INCONSISTENT_PRODUCT,
        7: Codes.INVALID_UNIT,
    }


def test_jsonl_import_parse_errors_per_line() -> None:
    data = "\n".join(
        [
            '{"sku": "J-1", "product_ref": "J", "product_name": "Wire", "category": "welding-wire", '
            '"uom": "SPOOL", "pack_quantity": 15, "content_uom": "KG", '
            '"attributes": {"classification": "ER70S-6", "wire_diameter_mm": 1.0}}',
            "not json",
            '["a list"]',
            '{"sku": "J-2", "product_ref": "J", "colour": "red"}',
        ]
    )
    rows, errors = parse_import(ImportFormat.JSONL, data)
    assert [r.sku for r in rows] == ["J-1"]
    assert [e.row for e in errors] == [2, 3, 4]
    planned, errors = plan_import(rows, demo_tree(), default_vendor=VENDOR)
    assert errors == [] and planned[0].product.skus[0].attributes == {"wire_diameter_mm": "1.0"}
    assert planned[0].product.skus[0].pack.describe() == "SPOOL of 15 KG"


def test_import_needs_vendor_and_sku_header() -> None:
    rows, errors = parse_import(ImportFormat.CSV, "code,name\nA,B\n")
    assert rows == [] and errors[0].code == Codes.INVALID_IMPORT
    rows, _ = parse_import(ImportFormat.CSV, "sku,product_ref,product_name,category\nV-1,V,Name,drills\n")
    _, errors = plan_import(rows, demo_tree(), default_vendor=None)
    assert {e.field for e in errors} >= {"vendor"}
