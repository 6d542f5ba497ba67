"""The demo MRO catalog: categories with typed attribute schemas, 200+ products, ~1000 SKUs.

Plain data, generated deterministically from product-line tables (same output on every run).
Brands are fictional. Vendors are symbolic (`supplier-a`, `supplier-b`); `seed.py` maps them to
the orgs seed's supplier organizations. Ids come from `demo_ids` (uuid5 over natural keys).

- supplier-a (PPE, power tools, abrasives): gloves, drills, angle grinders, discs.
- supplier-b (metals): welding wire, electrodes, steel bars, sheets and tubes, and some discs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from subgraphs.catalog.service import AttributeDef, AttributeScope, AttributeType, ProductStatus

SUPPLIER_A = "supplier-a"
SUPPLIER_B = "supplier-b"

E, INT, D, B, S = (
    AttributeType.ENUM,
    AttributeType.INT,
    AttributeType.DECIMAL,
    AttributeType.BOOL,
    AttributeType.STRING,
)
SKU = AttributeScope.SKU


def _a(
    name: str,
    type_: AttributeType,
    label: str,
    *,
    required: bool = False,
    sku: bool = False,
    values: tuple[str, ...] = (),
    unit: str | None = None,
) -> AttributeDef:
    return AttributeDef(
        name, type_, label, required, SKU if sku else AttributeScope.PRODUCT, tuple(values), unit
    )


@dataclass(frozen=True, slots=True)
class DemoCategory:
    code: str
    name: str
    parent: str | None
    attributes: tuple[AttributeDef, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoSku:
    code: str
    name: str
    attributes: dict[str, str | int | bool]
    uom: str
    pack_quantity: str = "1"
    content_uom: str = "EA"


@dataclass(frozen=True, slots=True)
class DemoProduct:
    ref: str
    name: str
    category: str
    vendor: str
    brand: str
    description: str
    attributes: dict[str, str | int | bool]
    skus: tuple[DemoSku, ...]
    status: ProductStatus = ProductStatus.ACTIVE
    media_urls: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class DemoPublication:
    """A buyer catalog: the categories (with their subtrees) it publishes. `buyers` are symbolic
    orgs-seed keys; `all_buyers` assigns it to every buyer organization of the tenant."""

    code: str
    name: str
    categories: tuple[str, ...]
    all_buyers: bool = False
    buyers: tuple[str, ...] = ()


SIZES = ("S", "M", "L", "XL")

DEMO_CATEGORIES: tuple[DemoCategory, ...] = (
    DemoCategory("ppe", "Personal protective equipment", None),
    DemoCategory(
        "gloves",
        "Gloves",
        "ppe",
        (
            _a("size", E, "Size", required=True, sku=True, values=("XS", "S", "M", "L", "XL", "XXL")),
            _a(
                "material",
                E,
                "Material",
                required=True,
                values=("Nitrile", "Latex", "Vinyl", "Leather", "HPPE", "Polyester"),
            ),
            _a("color", S, "Colour"),
        ),
    ),
    DemoCategory(
        "disposable-gloves",
        "Disposable gloves",
        "gloves",
        (
            _a("thickness_mil", D, "Thickness", required=True, unit="mil"),
            _a("powder_free", B, "Powder-free", required=True),
            _a("food_safe", B, "Food safe"),
        ),
    ),
    DemoCategory(
        "work-gloves",
        "Work gloves",
        "gloves",
        (
            _a("cut_level", E, "Cut level (EN 388)", values=("A", "B", "C", "D", "E", "F")),
            _a("coating", E, "Coating", values=("Nitrile foam", "Polyurethane", "Latex crinkle", "None")),
        ),
    ),
    DemoCategory(
        "power-tools",
        "Power tools",
        None,
        (
            _a("power_source", E, "Power source", required=True, values=("Cordless", "Corded")),
            _a("voltage", INT, "Voltage", required=True, values=("12", "18", "20", "230"), unit="V"),
            _a("brushless", B, "Brushless motor"),
            _a(
                "kit",
                E,
                "Kit",
                sku=True,
                values=("Bare tool", "2 x 2.0 Ah", "2 x 4.0 Ah", "2 x 5.0 Ah", "Case", "Cable"),
            ),
        ),
    ),
    DemoCategory(
        "drills",
        "Drills and drivers",
        "power-tools",
        (
            _a(
                "drill_type", E, "Type", required=True, values=("Drill driver", "Combi drill", "Hammer drill")
            ),
            _a("chuck_mm", D, "Chuck capacity", unit="mm"),
            _a("max_torque_nm", INT, "Max torque", unit="Nm"),
        ),
    ),
    DemoCategory(
        "angle-grinders",
        "Angle grinders",
        "power-tools",
        (
            _a(
                "disc_diameter_mm",
                INT,
                "Disc diameter",
                required=True,
                values=("115", "125", "150", "230"),
                unit="mm",
            ),
            _a("power_w", INT, "Rated power", unit="W"),
        ),
    ),
    DemoCategory(
        "abrasives",
        "Abrasives",
        None,
        (
            _a(
                "disc_diameter_mm",
                INT,
                "Disc diameter",
                required=True,
                sku=True,
                values=("115", "125", "150", "178", "230"),
                unit="mm",
            ),
            _a("bore_mm", D, "Bore", unit="mm"),
            _a(
                "application",
                E,
                "For",
                required=True,
                values=("Steel", "Stainless steel", "Aluminium", "Stone"),
            ),
        ),
    ),
    DemoCategory(
        "cutting-discs",
        "Cutting discs",
        "abrasives",
        (_a("thickness_mm", D, "Thickness", required=True, sku=True, unit="mm"),),
    ),
    DemoCategory(
        "flap-discs",
        "Flap discs",
        "abrasives",
        (
            _a("grit", INT, "Grit", required=True, sku=True, values=("40", "60", "80", "120")),
            _a("backing", E, "Backing", values=("Fibreglass", "Plastic")),
        ),
    ),
    DemoCategory(
        "grinding-discs",
        "Grinding discs",
        "abrasives",
        (_a("thickness_mm", D, "Thickness", required=True, sku=True, unit="mm"),),
    ),
    DemoCategory("welding", "Welding", None),
    DemoCategory(
        "welding-wire",
        "Welding wire",
        "welding",
        (
            _a(
                "classification",
                E,
                "AWS classification",
                required=True,
                values=("ER70S-6", "ER308LSi", "ER316LSi", "ER4043", "ER5356"),
            ),
            _a(
                "wire_diameter_mm",
                D,
                "Wire diameter",
                required=True,
                sku=True,
                values=("0.6", "0.8", "1.0", "1.2"),
                unit="mm",
            ),
            _a("process", E, "Process", values=("MIG/MAG", "TIG")),
        ),
    ),
    DemoCategory(
        "electrodes",
        "Stick electrodes",
        "welding",
        (
            _a(
                "classification",
                E,
                "AWS classification",
                required=True,
                values=("E6013", "E7018", "E308L-16", "E316L-16"),
            ),
            _a(
                "electrode_diameter_mm",
                D,
                "Diameter",
                required=True,
                sku=True,
                values=("2.0", "2.5", "3.2", "4.0"),
                unit="mm",
            ),
        ),
    ),
    DemoCategory(
        "steel",
        "Steel",
        None,
        (
            _a(
                "grade",
                E,
                "Steel grade",
                required=True,
                values=("S235JR", "S275JR", "S355J2", "1.4301", "1.4404"),
            ),
            _a(
                "finish",
                E,
                "Finish",
                values=("Hot rolled", "Cold rolled", "Galvanized", "Bright drawn", "Pickled"),
            ),
        ),
    ),
    DemoCategory(
        "steel-bars",
        "Steel bars",
        "steel",
        (
            _a("shape", E, "Shape", required=True, values=("Round", "Square", "Flat")),
            _a("dimension", S, "Section", required=True, sku=True, unit="mm"),
        ),
    ),
    DemoCategory(
        "steel-sheets",
        "Steel sheets",
        "steel",
        (
            _a("thickness_mm", D, "Thickness", required=True, sku=True, unit="mm"),
            _a("sheet_size", S, "Sheet size", required=True, sku=True, unit="mm"),
        ),
    ),
    DemoCategory(
        "steel-tubes",
        "Steel tubes",
        "steel",
        (
            _a("profile", E, "Profile", required=True, values=("Round", "Square", "Rectangular")),
            _a("section", S, "Section", required=True, sku=True, unit="mm"),
        ),
    ),
)

DEMO_PUBLICATIONS: tuple[DemoPublication, ...] = (
    DemoPublication(
        "standard-mro",
        "Standard MRO catalog",
        ("ppe", "power-tools", "abrasives", "welding"),
        all_buyers=True,
    ),
    DemoPublication("steel-contract", "Steel contract catalog", ("steel",), buyers=("buyer-construction",)),
)


def _media(ref: str) -> tuple[str, ...]:
    return (f"https://media.example.com/catalog/{ref.lower()}.jpg",)


def _gloves() -> list[DemoProduct]:
    out: list[DemoProduct] = []
    disposable = [
        # material, thickness mil, colours, powder-free, food safe
        ("Nitrile", "3", ("Blue", "Black", "White"), True, True),
        ("Nitrile", "4", ("Blue", "Black", "Violet"), True, True),
        ("Nitrile", "6", ("Black", "Orange"), True, False),
        ("Nitrile", "8", ("Orange", "Black"), True, False),
        ("Latex", "5", ("Natural",), True, True),
        ("Latex", "5", ("White",), False, False),
        ("Vinyl", "4", ("Clear", "Blue"), True, True),
    ]
    for brand, bcode in (("DexaGrip", "DX"), ("SafeHand", "SH")):
        for material, mil, colors, powder_free, food in disposable:
            for color in colors:
                pf = "" if powder_free else "-P"
                ref = f"GLV-{material[:3].upper()}{mil}{pf}-{color[:2].upper()}-{bcode}"
                if any(p.ref == ref for p in out):
                    continue
                name = f"{brand} {material.lower()} disposable gloves {mil} mil, {color.lower()}" + (
                    ", powder-free" if powder_free else ", powdered"
                )
                skus = tuple(
                    DemoSku(
                        f"{ref}-{size}",
                        f"{name}, size {size}, box of 100",
                        {"size": size},
                        "BOX",
                        "100",
                        "EA",
                    )
                    for size in SIZES
                ) + tuple(
                    DemoSku(
                        f"{ref}-{size}-C",
                        f"{name}, size {size}, case of 1000",
                        {"size": size},
                        "CASE",
                        "1000",
                    )
                    for size in ("M", "L")
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "disposable-gloves",
                        SUPPLIER_A,
                        brand,
                        f"Single-use {material.lower()} examination and work gloves, {mil} mil thickness, "
                        f"textured fingertips, ambidextrous, beaded cuff. Sold in dispenser boxes of 100.",
                        {
                            "material": material,
                            "thickness_mil": mil,
                            "powder_free": powder_free,
                            "food_safe": food,
                            "color": color,
                        },
                        skus,
                        media_urls=_media(ref),
                    )
                )
    work = [
        ("Polyester", "Nitrile foam", None, "general handling, assembly"),
        ("Polyester", "Polyurethane", None, "precision assembly"),
        ("HPPE", "Polyurethane", "B", "sheet metal handling"),
        ("HPPE", "Nitrile foam", "C", "glass and metal handling"),
        ("HPPE", "Nitrile foam", "D", "cutting and stamping work"),
        ("HPPE", "Latex crinkle", "E", "heavy-duty cut protection"),
        ("Leather", "None", None, "welding and heavy construction work"),
        ("Leather", "None", "B", "rigging and steel handling"),
        ("Nitrile", "None", None, "oil and chemical handling"),
        ("Polyester", "Latex crinkle", None, "construction and masonry"),
    ]
    for brand, bcode in (("DexaGrip", "DX"), ("SafeHand", "SH")):
        for i, (material, coating, cut, use) in enumerate(work, start=1):
            ref = f"GLV-WRK{i:02d}-{bcode}"
            cut_txt = f", cut level {cut}" if cut else ""
            coat_txt = f" {coating.lower()} coated" if coating != "None" else ""
            name = f"{brand} {material} work gloves{coat_txt}{cut_txt}"
            attrs: dict[str, str | int | bool] = {"material": material, "coating": coating}
            if cut:
                attrs["cut_level"] = cut
            skus = tuple(
                DemoSku(
                    f"{ref}-{size}",
                    f"{name}, size {size}, pack of 12 pairs",
                    {"size": size},
                    "PACK",
                    "12",
                    "PR",
                )
                for size in ("M", "L", "XL", "XXL")
            )
            out.append(
                DemoProduct(
                    ref,
                    name,
                    "work-gloves",
                    SUPPLIER_A,
                    brand,
                    f"Reusable {material.lower()} work gloves for {use}. EN 388 certified"
                    f"{cut_txt}. Sold in packs of 12 pairs.",
                    attrs,
                    skus,
                    media_urls=_media(ref),
                )
            )
    return out


def _power_tools() -> list[DemoProduct]:
    out: list[DemoProduct] = []
    drills = [
        # volts, type, chuck, torque, brushless
        (12, "Drill driver", "10", 30, False),
        (12, "Drill driver", "10", 40, True),
        (12, "Combi drill", "10", 35, True),
        (18, "Drill driver", "13", 60, False),
        (18, "Drill driver", "13", 80, True),
        (18, "Combi drill", "13", 90, True),
        (18, "Combi drill", "13", 135, True),
        (18, "Hammer drill", "13", 110, True),
        (20, "Drill driver", "13", 65, True),
        (20, "Combi drill", "13", 95, True),
        (20, "Hammer drill", "13", 120, True),
    ]
    for brand, bcode in (("Voltaro", "VO"), ("Nordhammer", "NH")):
        for volts, kind, chuck, torque, brushless in drills:
            ref = f"PT-DRL-{bcode}{volts}-{kind.split()[0][:3].upper()}{torque}"
            name = f"{brand} {volts} V cordless {kind.lower()} {torque} Nm" + (
                " brushless" if brushless else ""
            )
            skus = tuple(
                DemoSku(f"{ref}-{kcode}", f"{name}, {kit.lower()}", {"kit": kit}, "EA")
                for kit, kcode in (("Bare tool", "B"), ("2 x 2.0 Ah", "K2"), ("2 x 5.0 Ah", "K5"))
            )
            out.append(
                DemoProduct(
                    ref,
                    name,
                    "drills",
                    SUPPLIER_A,
                    brand,
                    f"{volts} V lithium-ion {kind.lower()} with {chuck} mm keyless chuck, two-speed gearbox, "
                    f"LED work light and {torque} Nm hard torque. "
                    "Bare tool or kit with batteries and charger.",
                    {
                        "power_source": "Cordless",
                        "voltage": volts,
                        "brushless": brushless,
                        "drill_type": kind,
                        "chuck_mm": chuck,
                        "max_torque_nm": torque,
                    },
                    skus,
                    media_urls=_media(ref),
                )
            )
    grinders = [
        # source, volts, disc, watts, brushless
        ("Cordless", 18, 115, 0, False),
        ("Cordless", 18, 125, 0, True),
        ("Cordless", 20, 125, 0, True),
        ("Corded", 230, 115, 750, False),
        ("Corded", 230, 125, 900, False),
        ("Corded", 230, 125, 1400, False),
        ("Corded", 230, 150, 1700, False),
        ("Corded", 230, 230, 2200, False),
        ("Corded", 230, 230, 2600, False),
    ]
    for brand, bcode in (("Voltaro", "VO"), ("Nordhammer", "NH")):
        for source, volts, disc, watts, brushless in grinders:
            ref = f"PT-AG-{bcode}{disc}-{volts}V{watts or ''}"
            power = f"{watts} W" if watts else f"{volts} V"
            name = f"{brand} {disc} mm angle grinder {power}" + (" cordless" if source == "Cordless" else "")
            kits = (
                (("Bare tool", "B"), ("2 x 4.0 Ah", "K4"))
                if source == "Cordless"
                else (("Cable", "C"), ("Case", "K"))
            )
            skus = tuple(
                DemoSku(f"{ref}-{kcode}", f"{name}, {kit.lower()}", {"kit": kit}, "EA") for kit, kcode in kits
            )
            attrs: dict[str, str | int | bool] = {
                "power_source": source,
                "voltage": volts,
                "brushless": brushless,
                "disc_diameter_mm": disc,
            }
            if watts:
                attrs["power_w"] = watts
            out.append(
                DemoProduct(
                    ref,
                    name,
                    "angle-grinders",
                    SUPPLIER_A,
                    brand,
                    f"{disc} mm angle grinder for cutting and grinding steel and stone, {power}, restart "
                    f"protection, tool-free guard adjustment, side handle included.",
                    attrs,
                    skus,
                    media_urls=_media(ref),
                )
            )
    return out


def _abrasives() -> list[DemoProduct]:
    out: list[DemoProduct] = []
    apps = (("Steel", "ST"), ("Stainless steel", "INOX"), ("Aluminium", "ALU"), ("Stone", "STN"))
    brands = (("Abrasix", "AX", SUPPLIER_A), ("Kornfeld", "KF", SUPPLIER_A), ("Arcline", "AL", SUPPLIER_B))
    for brand, bcode, vendor in brands:
        for app, acode in apps:
            for line, thicknesses in (("Thin", ("1.0", "1.6")), ("Standard", ("2.5", "3.0"))):
                ref = f"ABR-CUT-{acode}-{line[:2].upper()}-{bcode}"
                name = f"{brand} {line.lower()} cutting disc for {app.lower()}"
                skus = tuple(
                    DemoSku(
                        f"{ref}-{diam}-{t.replace('.', '')}",
                        f"{name} {diam} x {t} x 22.23 mm, box of 25",
                        {"disc_diameter_mm": diam, "thickness_mm": t},
                        "BOX",
                        "25",
                    )
                    for diam in (115, 125, 230)
                    for t in thicknesses
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "cutting-discs",
                        vendor,
                        brand,
                        f"Bonded abrasive cutting disc for {app.lower()}, aluminium oxide grain, reinforced "
                        f"with fibreglass. {line} line: "
                        f"{'fast, burr-free cuts' if line == 'Thin' else 'long life'}.",
                        {"application": app, "bore_mm": "22.23"},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    for brand, bcode, vendor in brands[:2]:
        for app, acode in apps[:3]:
            for backing in ("Fibreglass", "Plastic"):
                ref = f"ABR-FLP-{acode}-{backing[:2].upper()}-{bcode}"
                name = f"{brand} flap disc for {app.lower()}, {backing.lower()} backing"
                skus = tuple(
                    DemoSku(
                        f"{ref}-{diam}-G{grit}",
                        f"{name} {diam} mm grit {grit}, box of 10",
                        {"disc_diameter_mm": diam, "grit": grit},
                        "BOX",
                        "10",
                    )
                    for diam in (115, 125)
                    for grit in (40, 60, 80, 120)
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "flap-discs",
                        vendor,
                        brand,
                        f"Zirconia flap disc for grinding and finishing {app.lower()} in one step, "
                        f"{backing.lower()} backing plate, conical type 29.",
                        {"application": app, "bore_mm": "22.23", "backing": backing},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    for brand, bcode, vendor in brands:
        for app, acode in apps:
            ref = f"ABR-GRD-{acode}-{bcode}"
            name = f"{brand} grinding disc for {app.lower()}"
            skus = tuple(
                DemoSku(
                    f"{ref}-{diam}-{t.replace('.', '')}",
                    f"{name} {diam} x {t} mm, box of 10",
                    {"disc_diameter_mm": diam, "thickness_mm": t},
                    "BOX",
                    "10",
                )
                for diam, t in ((115, "6.0"), (125, "6.0"), (178, "7.0"), (230, "6.0"))
            )
            out.append(
                DemoProduct(
                    ref,
                    name,
                    "grinding-discs",
                    vendor,
                    brand,
                    f"Depressed centre grinding disc for heavy stock removal on {app.lower()}, type 27.",
                    {"application": app, "bore_mm": "22.23"},
                    skus,
                    media_urls=_media(ref),
                )
            )
    return out


def _welding() -> list[DemoProduct]:
    out: list[DemoProduct] = []
    wires = [
        ("ER70S-6", "MIG/MAG", "copper-coated mild steel MIG wire", ("0.8", "1.0", "1.2"), ("5", "15", "25")),
        ("ER308LSi", "MIG/MAG", "stainless steel MIG wire for 304 grades", ("0.8", "1.0"), ("5", "15")),
        ("ER316LSi", "MIG/MAG", "stainless steel MIG wire for 316 grades", ("0.8", "1.0"), ("5", "15")),
        ("ER4043", "MIG/MAG", "aluminium-silicon MIG wire", ("0.8", "1.0", "1.2"), ("2", "7")),
        ("ER5356", "MIG/MAG", "aluminium-magnesium MIG wire", ("1.0", "1.2"), ("2", "7")),
    ]
    for brand, bcode in (("Arcline", "AL"), ("Weldmark", "WM")):
        for cls, process, what, diameters, spools in wires:
            for premium in (False, True):
                tier = "Premium" if premium else "Standard"
                ref = f"WLD-WIRE-{cls.replace('-', '').upper()}-{tier[:1]}-{bcode}"
                name = f"{brand} {cls} {tier.lower()} welding wire"
                skus = tuple(
                    DemoSku(
                        f"{ref}-{d.replace('.', '')}-{kg}K",
                        f"{name} {d} mm, {kg} kg spool",
                        {"wire_diameter_mm": d},
                        "SPOOL",
                        kg,
                        "KG",
                    )
                    for d in diameters
                    for kg in spools
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "welding-wire",
                        SUPPLIER_B,
                        brand,
                        f"Solid {what}, precision layer wound for smooth feeding"
                        f"{', low spatter' if premium else ''}. Spools of {', '.join(spools)} kg.",
                        {"classification": cls, "process": process},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    electrodes = [
        ("E6013", "rutile electrode for general fabrication, all positions", ("2.0", "2.5", "3.2", "4.0")),
        ("E7018", "basic low-hydrogen electrode for structural steel", ("2.5", "3.2", "4.0")),
        ("E308L-16", "stainless steel electrode for 304/304L", ("2.0", "2.5", "3.2")),
        ("E316L-16", "stainless steel electrode for 316/316L", ("2.5", "3.2")),
    ]
    for brand, bcode in (("Arcline", "AL"), ("Weldmark", "WM")):
        for cls, what, diameters in electrodes:
            for pack_kg in ("2.5", "5"):
                ref = f"WLD-ELC-{cls.replace('-', '')}-{pack_kg.replace('.', '')}K-{bcode}"
                name = f"{brand} {cls} stick electrodes, {pack_kg} kg pack"
                skus = tuple(
                    DemoSku(
                        f"{ref}-{d.replace('.', '')}",
                        f"{name}, {d} mm",
                        {"electrode_diameter_mm": d},
                        "PACK",
                        pack_kg,
                        "KG",
                    )
                    for d in diameters
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "electrodes",
                        SUPPLIER_B,
                        brand,
                        f"{cls} {what}. Vacuum-sealed packs of {pack_kg} kg.",
                        {"classification": cls},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    return out


def _steel() -> list[DemoProduct]:
    out: list[DemoProduct] = []
    bar_sections = {
        "Round": ("Ø10", "Ø12", "Ø16", "Ø20", "Ø25", "Ø30", "Ø40"),
        "Square": ("10x10", "16x16", "20x20", "25x25", "30x30"),
        "Flat": ("20x5", "30x5", "40x8", "50x10", "60x10", "80x10"),
    }
    for grade in ("S235JR", "S355J2", "1.4301", "1.4404"):
        for shape, sections in bar_sections.items():
            for finish in ("Bright drawn", "Hot rolled") if grade.startswith("S") else ("Bright drawn",):
                ref = f"STL-BAR-{shape[:2].upper()}-{grade.replace('.', '')}-{finish[:1]}"
                name = f"{shape} steel bar {grade} {finish.lower()}"
                skus = tuple(
                    DemoSku(
                        f"{ref}-{sec.replace('Ø', 'D').replace('x', 'X')}",
                        f"{name} {sec} mm, 6 m bar",
                        {"dimension": sec},
                        "BAR",
                        "6",
                        "M",
                    )
                    for sec in sections
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "steel-bars",
                        SUPPLIER_B,
                        "NordSteel" if grade.startswith("S") else "Ferrona",
                        f"{shape} bar in grade {grade} "
                        f"({'structural carbon' if grade.startswith('S') else 'stainless'} steel), "
                        f"{finish.lower()}, supplied in 6 m lengths with mill certificate EN 10204 3.1.",
                        {"grade": grade, "finish": finish, "shape": shape},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    for grade, finishes in (
        ("S235JR", ("Hot rolled", "Cold rolled", "Galvanized")),
        ("S355J2", ("Hot rolled",)),
        ("1.4301", ("Cold rolled", "Pickled")),
        ("1.4404", ("Cold rolled",)),
    ):
        for finish in finishes:
            for size in ("2000x1000", "2500x1250", "3000x1500"):
                ref = f"STL-SHT-{grade.replace('.', '')}-{finish[:2].upper()}-{size.split('x')[0]}"
                name = f"Steel sheet {grade} {finish.lower()} {size} mm"
                area = (
                    str(int(size.split("x")[0]) * int(size.split("x")[1]) / 1_000_000).rstrip("0").rstrip(".")
                )
                thicknesses = (
                    ("1.0", "1.5", "2.0", "3.0")
                    if finish != "Hot rolled"
                    else ("3.0", "4.0", "5.0", "6.0", "8.0")
                )
                skus = tuple(
                    DemoSku(
                        f"{ref}-T{t.replace('.', '')}",
                        f"{name}, {t} mm",
                        {"thickness_mm": t, "sheet_size": size},
                        "SHEET",
                        area,
                        "M2",
                    )
                    for t in thicknesses
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "steel-sheets",
                        SUPPLIER_B,
                        "NordSteel" if grade.startswith("S") else "Ferrona",
                        f"Flat steel sheet, grade {grade}, {finish.lower()}, {size} mm, sold per sheet.",
                        {"grade": grade, "finish": finish},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    tubes = {
        "Round": ("21.3x2.0", "26.9x2.3", "33.7x2.6", "42.4x2.6", "48.3x3.2", "60.3x3.6"),
        "Square": ("20x20x2", "30x30x2", "40x40x3", "50x50x3", "60x60x4", "80x80x4"),
        "Rectangular": ("40x20x2", "50x30x3", "60x40x3", "80x40x4", "100x50x4"),
    }
    for grade, finishes in (
        ("S235JR", ("Hot rolled", "Galvanized")),
        ("S355J2", ("Hot rolled",)),
        ("1.4301", ("Pickled",)),
    ):
        for profile, sections in tubes.items():
            for finish in finishes:
                ref = f"STL-TUB-{profile[:2].upper()}-{grade.replace('.', '')}-{finish[:1]}"
                name = f"{profile} steel tube {grade} {finish.lower()}"
                skus = tuple(
                    DemoSku(
                        f"{ref}-{sec.replace('.', '').replace('x', 'X')}",
                        f"{name} {sec} mm, 6 m length",
                        {"section": sec},
                        "TUBE",
                        "6",
                        "M",
                    )
                    for sec in sections
                )
                out.append(
                    DemoProduct(
                        ref,
                        name,
                        "steel-tubes",
                        SUPPLIER_B,
                        "NordSteel" if grade.startswith("S") else "Ferrona",
                        f"{profile} hollow section (EN 10219 / EN 10210), grade {grade}, "
                        f"{finish.lower()}, 6 m lengths.",
                        {"grade": grade, "finish": finish, "profile": profile},
                        skus,
                        media_urls=_media(ref),
                    )
                )
    return out


def _build() -> tuple[DemoProduct, ...]:
    products = _gloves() + _power_tools() + _abrasives() + _welding() + _steel()
    # A few non-active products, so status filters and publishing have something to show.
    drafts = {"GLV-WRK10-SH", "PT-AG-NH230-230V2600", "STL-TUB-RE-14301-P"}
    archived = {"GLV-LAT5-P-WH-SH"}
    adjusted: list[DemoProduct] = []
    for p in products:
        if p.ref in drafts:
            p = replace(p, status=ProductStatus.DRAFT)
        elif p.ref in archived:
            p = replace(p, status=ProductStatus.ARCHIVED)
        adjusted.append(p)
    return tuple(adjusted)


DEMO_PRODUCTS: tuple[DemoProduct, ...] = _build()
