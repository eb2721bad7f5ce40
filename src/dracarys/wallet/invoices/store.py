"""The SQL of invoices, credit notes and their yearly number counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.invoices.models import Invoice

_INVOICE_COLUMNS = (
    "id, number, year, seq, user_id, description, net_minor, vat_minor, gross_minor, currency,"
    " country, vat_rate_bps, charge_id, issued_at, kind, corrects_id"
)


async def take_invoice_number(conn: Connection, year: int) -> int:
    """The next number of `year`; the counter row stays locked until the transaction ends,
    and a rollback gives the number back, so numbers have no gaps."""
    value = await conn.fetchval(
        """INSERT INTO invoice_counters (year, last_number) VALUES ($1, 1)
           ON CONFLICT (year) DO UPDATE SET last_number = invoice_counters.last_number + 1
           RETURNING last_number""",
        year,
    )
    return int(value)


async def insert_invoice(conn: Connection, invoice: Invoice) -> None:
    await conn.execute(
        """INSERT INTO invoices (id, number, year, seq, user_id, description, net_minor,
               vat_minor, gross_minor, currency, country, vat_rate_bps, charge_id, issued_at,
               kind, corrects_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
        invoice.id,
        invoice.number,
        invoice.year,
        invoice.seq,
        invoice.user_id,
        invoice.description,
        invoice.net_minor,
        invoice.vat_minor,
        invoice.gross_minor,
        invoice.currency,
        invoice.country,
        invoice.vat_rate_bps,
        invoice.charge_id,
        invoice.issued_at,
        invoice.kind,
        invoice.corrects_id,
    )


async def get_invoice(conn: Connection, invoice_id: uuid.UUID) -> Invoice | None:
    row = await conn.fetchrow(f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE id = $1", invoice_id)
    return record_or_none(Invoice, row)


async def invoice_of_charge(conn: Connection, charge_id: uuid.UUID) -> Invoice | None:
    row = await conn.fetchrow(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE charge_id = $1 AND kind = 'invoice'",
        charge_id,
    )
    return record_or_none(Invoice, row)


async def invoices_between(conn: Connection, start: datetime, end: datetime) -> list[Invoice]:
    rows = await conn.fetch(
        f"""SELECT {_INVOICE_COLUMNS} FROM invoices
            WHERE issued_at >= $1 AND issued_at < $2 ORDER BY year, seq""",
        start,
        end,
    )
    return records(Invoice, rows)


async def invoices_of_user(conn: Connection, user_id: uuid.UUID) -> list[Invoice]:
    rows = await conn.fetch(
        f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE user_id = $1 ORDER BY issued_at DESC",
        user_id,
    )
    return records(Invoice, rows)
