"""The SQL of charges (`wallet_charges`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none
from dracarys.wallet.charges.models import Charge


async def insert_charge(
    conn: Connection,
    *,
    charge_id: uuid.UUID,
    user_id: uuid.UUID,
    purpose: str,
    reference: str,
    amount_minor: int,
    currency: str,
    country: str,
    escrow_id: uuid.UUID | None,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO wallet_charges (id, user_id, purpose, reference, amount_minor, currency,
               country, escrow_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        charge_id,
        user_id,
        purpose,
        reference,
        amount_minor,
        currency,
        country,
        escrow_id,
        now,
    )


async def get_charge(conn: Connection, charge_id: uuid.UUID) -> Charge | None:
    row = await conn.fetchrow(
        """SELECT c.id, c.user_id, c.purpose, c.reference, c.amount_minor, c.currency,
                  c.escrow_id, i.vat_rate_bps
           FROM wallet_charges c JOIN invoices i ON i.charge_id = coalesce(c.escrow_id, c.id)
           WHERE c.id = $1 AND i.kind = 'invoice'""",
        charge_id,
    )
    return record_or_none(Charge, row)
