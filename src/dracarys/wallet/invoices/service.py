"""Invoices and receipts: one gap-free numbered document per charge per year
(`DRC-2026-000001`), VAT-inclusive amounts split by the buyer's country's rate, credit
notes for refunds, PDFs rendered with fpdf2, and the monthly tax export as CSV.
`issue_invoice` and `issue_credit_note` work inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dracarys import csv_export
from dracarys.db import Connection
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import CurrentUser, contact_of, tax_country
from dracarys.money import format_money
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet.invoices import store
from dracarys.wallet.invoices.models import Invoice, InvoiceDocument, InvoicePdf, InvoiceView
from dracarys.wallet.policy import split_vat, vat_rate_bps


def invoice_number(year: int, seq: int) -> str:
    return f"DRC-{year}-{seq:06d}"


# ---- issuing --------------------------------------------------------------------------


async def vat_country(conn: Connection, settings: Settings, buyer_id: uuid.UUID) -> str:
    """The buyer's country of supply: their profile's, else their verified phone number's,
    else the platform's home country."""
    return await tax_country(conn, settings, buyer_id) or settings.wallet_home_country


async def issue_invoice(
    conn: Connection,
    *,
    settings: Settings,
    user_id: uuid.UUID,
    charge_id: uuid.UUID,
    description: str,
    gross_minor: int,
    currency: str,
    now: datetime,
) -> Invoice:
    """Number and record the invoice of a VAT-inclusive sale to `user_id`, taxed in the
    buyer's country as our records know it (never as a request says)."""
    country = await vat_country(conn, settings, user_id)
    rate = vat_rate_bps(settings, country)
    net, vat = split_vat(gross_minor, rate)
    year = now.astimezone(UTC).year
    seq = await store.take_invoice_number(conn, year)
    invoice = Invoice(
        id=uuid.uuid4(),
        number=invoice_number(year, seq),
        year=year,
        seq=seq,
        user_id=user_id,
        description=description,
        net_minor=net,
        vat_minor=vat,
        gross_minor=gross_minor,
        currency=currency,
        country=country,
        vat_rate_bps=rate,
        charge_id=charge_id,
        issued_at=now,
    )
    await store.insert_invoice(conn, invoice)
    return invoice


async def issue_credit_note(
    conn: Connection, *, charge_id: uuid.UUID, refund_minor: int, now: datetime
) -> Invoice | None:
    """A numbered credit note for `refund_minor` (VAT-inclusive) of the charge's invoice,
    at the invoice's VAT rate; None when the charge has no invoice."""
    invoice = await store.invoice_of_charge(conn, charge_id)
    if invoice is None or refund_minor <= 0:
        return None
    net, vat = split_vat(refund_minor, invoice.vat_rate_bps)
    year = now.astimezone(UTC).year
    seq = await store.take_invoice_number(conn, year)
    note = Invoice(
        id=uuid.uuid4(),
        number=invoice_number(year, seq),
        year=year,
        seq=seq,
        user_id=invoice.user_id,
        description=f"Refund of {invoice.number}: {invoice.description}",
        net_minor=-net,
        vat_minor=-vat,
        gross_minor=-refund_minor,
        currency=invoice.currency,
        country=invoice.country,
        vat_rate_bps=invoice.vat_rate_bps,
        charge_id=charge_id,
        issued_at=now,
        kind="credit_note",
        corrects_id=invoice.id,
    )
    await store.insert_invoice(conn, note)
    return note


async def invoice_of_charge(conn: Connection, charge_id: uuid.UUID) -> Invoice | None:
    return await store.invoice_of_charge(conn, charge_id)


# ---- reading --------------------------------------------------------------------------


def _invoice_view(invoice: Invoice) -> InvoiceView:
    return InvoiceView(
        id=invoice.id,
        number=invoice.number,
        description=invoice.description,
        net_minor=invoice.net_minor,
        vat_minor=invoice.vat_minor,
        gross_minor=invoice.gross_minor,
        currency=invoice.currency,
        country=invoice.country,
        vat_rate_bps=invoice.vat_rate_bps,
        issued_at=invoice.issued_at,
        kind=invoice.kind,
    )


async def my_invoices(platform: Platform, actor: CurrentUser) -> list[InvoiceView]:
    """The actor's invoices and credit notes, newest first."""
    async with platform.pool.acquire() as conn:
        return [_invoice_view(i) for i in await store.invoices_of_user(conn, actor.id)]


async def invoice_pdf(platform: Platform, actor: CurrentUser, invoice_id: uuid.UUID) -> InvoicePdf:
    """The invoice as a PDF for its customer (or staff), with the customer's name and
    e-mail (from identity: sealed at rest)."""
    async with platform.pool.acquire() as conn:
        invoice = await store.get_invoice(conn, invoice_id)
        if invoice is None or not actor.may_read_as_owner(invoice.user_id):
            raise NotFound("no such invoice", field="invoice_id")
        contact = await contact_of(conn, platform.settings, invoice.user_id)
    document = InvoiceDocument(
        number=invoice.number,
        kind=invoice.kind,
        issued_at=invoice.issued_at,
        user_id=invoice.user_id,
        name=contact.name if contact else None,
        email=contact.email if contact else None,
        country=invoice.country,
        description=invoice.description,
        net_minor=invoice.net_minor,
        vat_minor=invoice.vat_minor,
        gross_minor=invoice.gross_minor,
        currency=invoice.currency,
        vat_rate_bps=invoice.vat_rate_bps,
    )
    return InvoicePdf(filename=f"{invoice.number}.pdf", content=render_invoice_pdf(document))


def render_invoice_pdf(invoice: InvoiceDocument) -> bytes:
    """A one-page tax invoice and receipt (the charge is paid when it is issued)."""
    # Imported on first use: fpdf2 (with fontTools) takes 0.7 s to import, paid by every
    # API and worker process at start otherwise, though few ever render a PDF.
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    credit = invoice.kind == "credit_note"
    title = "Credit note" if credit else "Tax invoice and receipt"
    pdf.set_title(f"{title} {invoice.number}")
    pdf.set_creator("Dracarys")
    pdf.set_creation_date(invoice.issued_at)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, f"Dracarys - {title}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    currency = invoice.currency
    lines = [
        f"Invoice number: {invoice.number}",
        f"Issued: {invoice.issued_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"Customer: {invoice.name or ''} <{invoice.email or invoice.user_id}>",
        f"Country of supply: {invoice.country}",
        "",
        f"Description: {invoice.description}",
        f"Net amount: {format_money(invoice.net_minor, currency)}",
        # A rate in basis points as a percentage (1,600 bps is 16.00%).
        f"VAT ({invoice.vat_rate_bps / 100:.2f}%): {format_money(invoice.vat_minor, currency)}",
        f"Total {'refunded' if credit else 'paid'}: {format_money(invoice.gross_minor, currency)}",
        "",
        "Refunded to the Dracarys wallet."
        if credit
        else "Status: PAID from the Dracarys wallet. Keep this document as your receipt.",
    ]
    for line in lines:
        # The core PDF fonts cover Latin-1 only; anything else prints as "?".
        printable = line.encode("latin-1", "replace").decode("latin-1")
        pdf.cell(0, 8, printable, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# ---- the monthly tax export -----------------------------------------------------------


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    if not (1 <= month <= 12 and 2000 <= year <= 2200):
        raise InvalidInput("no such month", field="month")
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


async def monthly_tax_export(platform: Platform, year: int, month: int) -> bytes:
    """Every invoice and credit note of the month as CSV, one row each, for the VAT
    return (credit notes carry negative amounts)."""
    start, end = _month_bounds(year, month)
    async with platform.pool.acquire() as conn:
        rows = await store.invoices_between(conn, start, end)
    header = [
        "invoice_number",
        "kind",
        "issued_at",
        "customer_id",
        "country",
        "currency",
        "vat_rate_bps",
        "net_minor",
        "vat_minor",
        "gross_minor",
        "description",
    ]
    return csv_export.lines(
        [
            header,
            *(
                [
                    r.number,
                    r.kind,
                    r.issued_at.astimezone(UTC).isoformat(),
                    r.user_id,
                    r.country,
                    r.currency,
                    r.vat_rate_bps,
                    r.net_minor,
                    r.vat_minor,
                    r.gross_minor,
                    r.description,
                ]
                for r in rows
            ),
        ]
    )
