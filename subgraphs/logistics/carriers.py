"""Carriers and 3PLs behind one adapter interface (no database, no GraphQL).

An adapter creates a label (tracking number + printable documents) and cancels it. `SANDBOX` is
built in: it invents tracking numbers (stable per shipment, so a retried label call gets the same
one) and draws a real PDF label with fpdf2, the tracking number as a Code 39 barcode, and the same
label in ZPL II for thermal printers (`render_label_zpl`, the tracking number as Code 128). A real
carrier's adapter would call its API here; tracking comes back through the signed webhook.

The ZPL is written by hand, on purpose: it is a dozen commands (`^XA`, `^FO`, `^A0`, `^FD`,
`^GB`, `^BC`, `^XZ`), and of the Python packages that generate ZPL none is both well kept and
usable here (the most used one is AGPL-3.0 and marked beta, the others have had no release for
years or only a first one). What matters is done carefully: field data goes through `^FH` hex
escapes so a `^` or `~` in an address cannot end a field or inject a command, and text is UTF-8
(`^CI28`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fpdf import FPDF

SANDBOX = "SANDBOX"
KINDS: tuple[str, ...] = (SANDBOX,)


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    lines: tuple[str, ...]
    country: str | None


@dataclass(frozen=True, slots=True)
class LabelRequest:
    shipment_id: uuid.UUID
    order_number: str
    carrier_code: str
    carrier_name: str
    ship_from: Address
    ship_to: Address
    items: Sequence[tuple[str, int]]  # (SKU id, quantity)
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Label:
    tracking_number: str
    document: bytes  # the PDF
    media_type: str = "application/pdf"
    zpl: str | None = None  # the same label in ZPL II, when the carrier gives one


class CarrierAdapterError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CarrierAdapter(Protocol):
    kind: str

    def create_label(self, request: LabelRequest) -> Label: ...

    def cancel_label(self, tracking_number: str) -> None: ...


def sandbox_tracking_number(shipment_id: uuid.UUID) -> str:
    """`SBX` + 12 digits derived from the shipment id (Code 39 encodes it as is)."""
    digest = int.from_bytes(hashlib.sha256(shipment_id.bytes).digest()[:8], "big")
    return f"SBX{digest % 10**12:012d}"


def render_label_pdf(request: LabelRequest, tracking_number: str) -> bytes:
    """A 4 x 6 inch label: carrier, addresses, items, and the tracking number as a barcode."""
    pdf = FPDF(orientation="P", unit="mm", format=(101.6, 152.4))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(6, 6, 6)
    pdf.add_page()
    pdf.set_title(f"Label {tracking_number}")
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, request.carrier_name[:30], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(
        0, 4, f"Order {request.order_number}  -  {request.created_at:%Y-%m-%d}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.line(6, pdf.get_y() + 1, 95.6, pdf.get_y() + 1)
    pdf.ln(3)
    for title, address in (("FROM", request.ship_from), ("TO", request.ship_to)):
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(0, 4, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B" if title == "TO" else "", 12 if title == "TO" else 9)
        for text in (address.name, *address.lines, address.country or ""):
            if text:
                pdf.cell(0, 6 if title == "TO" else 4.5, text[:40], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.line(6, pdf.get_y(), 95.6, pdf.get_y())
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 7)
    for sku, quantity in list(request.items)[:6]:
        pdf.cell(0, 3.5, f"{quantity} x {sku}", new_x="LMARGIN", new_y="NEXT")
    if len(request.items) > 6:
        pdf.cell(0, 3.5, f"... {len(request.items) - 6} more", new_x="LMARGIN", new_y="NEXT")
    pdf.code39(f"*{tracking_number}*", x=8, y=118, w=0.5, h=18)
    pdf.set_xy(6, 138)
    pdf.set_font("Courier", "B", 12)
    pdf.cell(89.6, 6, tracking_number, align="C")
    return bytes(pdf.output())


# A 4 x 6 inch label at 203 dpi (8 dots per mm).
ZPL_WIDTH, ZPL_HEIGHT = 812, 1218


def zpl_field(text: str) -> str:
    """Field data for `^FH^FD...^FS`: the characters ZPL treats as commands (`^`, `~`) and the
    hex indicator itself (`_`) as `_XX` escapes; no control characters."""
    out = []
    for ch in text:
        if ch in "^~_" or ord(ch) < 32:
            out.append("".join(f"_{b:02X}" for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


def render_label_zpl(request: LabelRequest, tracking_number: str) -> str:
    """The label of `render_label_pdf` as ZPL II: carrier, order, from/to, items, barcode."""
    cmds = ["^XA", "^CI28", f"^PW{ZPL_WIDTH}", f"^LL{ZPL_HEIGHT}", "^LH0,0"]

    def text(x: int, y: int, size: int, value: str) -> None:
        cmds.append(f"^FO{x},{y}^A0N,{size},{size}^FH^FD{zpl_field(value)}^FS")

    text(40, 40, 56, request.carrier_name[:30])
    text(40, 108, 24, f"Order {request.order_number}  -  {request.created_at:%Y-%m-%d}")
    cmds.append("^FO40,144^GB732,3,3^FS")
    y = 160
    for title, address, size in (("FROM", request.ship_from, 26), ("TO", request.ship_to, 40)):
        text(40, y, 22, title)
        y += 28
        for value in (address.name, *address.lines, address.country or ""):
            if value:
                text(40, y, size, value[:40])
                y += size + 8
        y += 12
    cmds.append(f"^FO40,{y}^GB732,3,3^FS")
    y += 16
    items = list(request.items)
    for sku, quantity in items[:6]:
        text(40, y, 20, f"{quantity} x {sku}")
        y += 26
    if len(items) > 6:
        text(40, y, 20, f"... {len(items) - 6} more")
    cmds.append(f"^FO60,930^BY3,3,160^BCN,160,Y,N,N^FH^FD{zpl_field(tracking_number)}^FS")
    cmds.append("^XZ")
    return "\n".join(cmds) + "\n"


class SandboxCarrier:
    """The built-in test carrier: no network, deterministic tracking numbers, real PDF labels."""

    kind = SANDBOX

    def __init__(self) -> None:
        self.cancelled: set[str] = set()

    def create_label(self, request: LabelRequest) -> Label:
        tracking = sandbox_tracking_number(request.shipment_id)
        return Label(
            tracking_number=tracking,
            document=render_label_pdf(request, tracking),
            zpl=render_label_zpl(request, tracking),
        )

    def cancel_label(self, tracking_number: str) -> None:
        if not tracking_number.startswith("SBX"):
            raise CarrierAdapterError("UNKNOWN_LABEL", "not a sandbox tracking number")
        self.cancelled.add(tracking_number)


def adapter_for(kind: str) -> CarrierAdapter:
    if kind == SANDBOX:
        return SandboxCarrier()
    raise CarrierAdapterError("UNKNOWN_CARRIER_KIND", f"no adapter for carrier kind {kind}")
