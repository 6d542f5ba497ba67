"""The invoice as a PDF (fpdf2): header with number and dates, seller and buyer, the order's
lines, totals, payment status and terms, as a person expects an invoice to look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fpdf import FPDF

from subgraphs.finance.money import normalize

TERMS_TEXT = {
    "PREPAID": "Prepaid: payment due before dispatch",
    "NET_15": "Net 15: payment due 15 days after the invoice date",
    "NET_30": "Net 30: payment due 30 days after the invoice date",
    "NET_60": "Net 60: payment due 60 days after the invoice date",
    "ON_FULFILMENT": "On fulfilment: payment due on delivery",
}


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    number: str
    order_number: str
    status: str
    issued_at: datetime
    due_at: datetime
    terms: str
    currency: str
    total: Decimal
    paid: Decimal
    seller_name: str
    buyer_name: str
    lines: list[dict[str, Any]]
    credited: Decimal = Decimal(0)


def _money(amount: Decimal, currency: str) -> str:
    """1234.5000 EUR -> "1,234.50 EUR" (the currency's own number of decimals)."""
    return f"{normalize(amount, currency):,} {currency}"


def _item(line: dict[str, Any]) -> str:
    """Product name and SKU code as orders sent them (older events carry the SKU id only)."""
    name, code = line.get("product_name"), line.get("sku_code")
    if name and code:
        return f"{name} ({code})"[:60]
    return str(name or code or line.get("sku_id", ""))[:60]


def _price(value: Any, currency: str) -> str:
    """A price as orders computed it; a unit price may carry more decimals than the currency."""
    if value in (None, ""):
        return ""
    amount = Decimal(str(value))
    try:
        return f"{normalize(amount, currency):,}"
    except ValueError:
        return f"{amount.normalize():,f}"


def render(doc: InvoiceDocument) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {doc.number}")
    pdf.set_author(doc.seller_name)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("Helvetica", "B", 22)
    pdf.cell(width / 2, 12, "INVOICE")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        width / 2,
        5,
        f"Invoice no.  {doc.number}\nOrder no.  {doc.order_number}\n"
        f"Invoice date  {doc.issued_at:%d %b %Y}\nDue date  {doc.due_at:%d %b %Y}",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(6)
    y = pdf.get_y()
    for x, title, name in (
        (pdf.l_margin, "From", doc.seller_name),
        (pdf.l_margin + width / 2, "Bill to", doc.buyer_name),
    ):
        pdf.set_xy(x, y)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width / 2, 6, title, new_x="LEFT", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(width / 2, 5, name)
    pdf.ln(8)

    columns = (
        ("#", 0.06, "L"),
        ("Item", 0.46, "L"),
        ("Quantity", 0.12, "R"),
        ("Unit price", 0.18, "R"),
        ("Amount", 0.18, "R"),
    )
    pdf.set_fill_color(230, 234, 240)
    pdf.set_font("Helvetica", "B", 10)
    for title, share, align in columns:
        pdf.cell(width * share, 8, title, border="B", align=align, fill=True)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for index, line in enumerate(doc.lines, start=1):
        values = (
            str(index),
            _item(line),
            str(line.get("quantity", "")),
            _price(line.get("unit_price"), doc.currency),
            _price(line.get("line_total"), doc.currency),
        )
        for (_, share, align), value in zip(columns, values, strict=True):
            pdf.cell(width * share, 7, value, border="B", align=align)
        pdf.ln()
    pdf.ln(4)

    outstanding = max(doc.total - doc.credited - doc.paid, Decimal(0))
    pdf.set_font("Helvetica", "", 10)
    totals: list[tuple[str, Decimal, bool]] = [("Invoice total", doc.total, True)]
    if doc.credited:
        totals.append(("Credit notes (returns)", -doc.credited, False))
    totals += [("Paid", doc.paid, False), ("Amount due", outstanding, True)]
    for label, amount, bold in totals:
        pdf.set_font("Helvetica", "B" if bold else "", 11 if bold else 10)
        pdf.cell(width * 0.7, 7, label, align="R")
        pdf.cell(width * 0.3, 7, _money(amount, doc.currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(width, 6, f"Status: {doc.status.replace('_', ' ').title()}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(width, 5, f"Payment terms: {TERMS_TEXT.get(doc.terms, doc.terms)}.")
    pdf.ln(2)
    pdf.set_text_color(90, 90, 90)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(width, 4, f"Please quote {doc.number} with your payment. Amounts in {doc.currency}.")
    return bytes(pdf.output())
