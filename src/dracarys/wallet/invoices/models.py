"""An invoice or credit note as stored, the document printed from it, and the API view."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from dracarys.wire import Schema


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    """A numbered tax document: an invoice (`kind` invoice) or a credit note correcting
    one (negative amounts, `corrects_id` the invoice)."""

    id: uuid.UUID
    number: str
    year: int
    seq: int
    user_id: uuid.UUID
    description: str
    net_minor: int
    vat_minor: int
    gross_minor: int
    currency: str
    country: str
    vat_rate_bps: int
    charge_id: uuid.UUID
    issued_at: datetime
    kind: str = "invoice"
    corrects_id: uuid.UUID | None = None


class InvoiceDocument(msgspec.Struct, frozen=True, kw_only=True):
    """What the PDF prints: the invoice and its customer's name and e-mail."""

    number: str
    kind: str
    issued_at: datetime
    user_id: uuid.UUID
    name: str | None
    email: str | None
    country: str
    description: str
    net_minor: int
    vat_minor: int
    gross_minor: int
    currency: str
    vat_rate_bps: int


class InvoicePdf(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content: bytes


class InvoiceView(Schema):
    id: uuid.UUID
    number: str
    description: str
    net_minor: int
    vat_minor: int
    gross_minor: int
    currency: str
    country: str
    vat_rate_bps: int
    issued_at: datetime
    kind: str = "invoice"
