"""Carriers and 3PLs behind one adapter interface (no database, no GraphQL).

An adapter creates a label (tracking number + printable document) and cancels it. `SANDBOX` is
built in: it invents tracking numbers (stable per shipment, so a retried label call gets the same
one) and draws a real PDF label with fpdf2, the tracking number as a Code 39 barcode. A real
carrier's adapter would call its API here; tracking comes back through the signed webhook.
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
    document: bytes
    media_type: str = "application/pdf"


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


class SandboxCarrier:
    """The built-in test carrier: no network, deterministic tracking numbers, real PDF labels."""

    kind = SANDBOX

    def __init__(self) -> None:
        self.cancelled: set[str] = set()

    def create_label(self, request: LabelRequest) -> Label:
        tracking = sandbox_tracking_number(request.shipment_id)
        return Label(tracking_number=tracking, document=render_label_pdf(request, tracking))

    def cancel_label(self, tracking_number: str) -> None:
        if not tracking_number.startswith("SBX"):
            raise CarrierAdapterError("UNKNOWN_LABEL", "not a sandbox tracking number")
        self.cancelled.add(tracking_number)


def adapter_for(kind: str) -> CarrierAdapter:
    if kind == SANDBOX:
        return SandboxCarrier()
    raise CarrierAdapterError("UNKNOWN_CARRIER_KIND", f"no adapter for carrier kind {kind}")
