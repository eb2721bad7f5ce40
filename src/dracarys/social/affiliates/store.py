"""The SQL of affiliates and their commissions."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.social.affiliates.models import (
    Affiliate,
    AffiliateStatus,
    Commission,
    CommissionStatus,
    CurrencyTotals,
    DayEarning,
)

_AFFILIATE = (
    "user_id, status, website, audience, promotion, share_bps, months, applied_at, "
    "decided_at, decided_by, decision_note"
)
_COMMISSION = (
    "id, affiliate_id, referee_id, payment_id, source, payment_minor, fee_minor, share_bps, "
    "amount_minor, currency, status, transfer_id, payable_at, reversed_minor, "
    "unrecovered_minor, payout_id, created_at"
)


# ---- affiliates ------------------------------------------------------------------------


async def affiliate(
    conn: Connection, user_id: uuid.UUID, *, lock: bool = False
) -> Affiliate | None:
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_AFFILIATE} FROM affiliates WHERE user_id = $1 {locking}", user_id
    )
    return record_or_none(Affiliate, row)


async def upsert_application(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    website: str,
    audience: str,
    promotion: str,
    at: datetime,
) -> Affiliate:
    """A new application, or a fresh one replacing a rejected application."""
    row = await conn.fetchrow(
        f"""INSERT INTO affiliates (user_id, status, website, audience, promotion, applied_at)
            VALUES ($1, 'applied', $2, $3, $4, $5)
            ON CONFLICT (user_id) DO UPDATE
                SET status = 'applied', website = $2, audience = $3, promotion = $4,
                    applied_at = $5, decided_at = NULL, decided_by = NULL,
                    decision_note = NULL, share_bps = NULL, months = NULL
                WHERE affiliates.status = 'rejected'
            RETURNING {_AFFILIATE}""",
        user_id,
        website,
        audience,
        promotion,
        at,
    )
    assert row is not None  # the caller checked no open or approved application exists
    return record(Affiliate, row)


async def decide(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    status: AffiliateStatus,
    share_bps: int | None,
    months: int | None,
    by: uuid.UUID,
    note: str,
    at: datetime,
) -> Affiliate:
    row = await conn.fetchrow(
        f"""UPDATE affiliates SET status = $2, share_bps = $3, months = $4, decided_by = $5,
                                  decision_note = $6, decided_at = $7
            WHERE user_id = $1 RETURNING {_AFFILIATE}""",
        user_id,
        status.value,
        share_bps,
        months,
        by,
        note,
        at,
    )
    assert row is not None
    return record(Affiliate, row)


async def affiliates_with_status(
    conn: Connection, status: AffiliateStatus, limit: int
) -> list[Affiliate]:
    rows = await conn.fetch(
        f"""SELECT {_AFFILIATE} FROM affiliates WHERE status = $1
            ORDER BY applied_at LIMIT $2""",
        status.value,
        limit,
    )
    return records(Affiliate, rows)


# ---- commissions -----------------------------------------------------------------------


async def insert_commission(conn: Connection, c: Commission, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO affiliate_commissions
               (id, affiliate_id, referee_id, payment_id, source, payment_minor, fee_minor,
                share_bps, amount_minor, currency, status, transfer_id, payable_at,
                created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)""",
        c.id,
        c.affiliate_id,
        c.referee_id,
        c.payment_id,
        c.source,
        c.payment_minor,
        c.fee_minor,
        c.share_bps,
        c.amount_minor,
        c.currency,
        c.status.value,
        c.transfer_id,
        c.payable_at,
        at,
    )


async def commission_exists(conn: Connection, commission_id: uuid.UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM affiliate_commissions WHERE id = $1)", commission_id
    )
    return found


async def lock_commissions_of_payment(conn: Connection, payment_id: uuid.UUID) -> list[Commission]:
    rows = await conn.fetch(
        f"""SELECT {_COMMISSION} FROM affiliate_commissions WHERE payment_id = $1
            ORDER BY id FOR UPDATE""",
        payment_id,
    )
    return records(Commission, rows)


async def lock_commissions_of_referee(conn: Connection, referee_id: uuid.UUID) -> list[Commission]:
    rows = await conn.fetch(
        f"""SELECT {_COMMISSION} FROM affiliate_commissions
            WHERE referee_id = $1 AND status <> 'reversed' ORDER BY id FOR UPDATE""",
        referee_id,
    )
    return records(Commission, rows)


async def lock_due(conn: Connection, now: datetime, limit: int) -> list[Commission]:
    rows = await conn.fetch(
        f"""SELECT {_COMMISSION} FROM affiliate_commissions
            WHERE status = 'pending' AND payable_at <= $1
            ORDER BY payable_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        now,
        limit,
    )
    return records(Commission, rows)


async def payable(conn: Connection) -> list[Commission]:
    rows = await conn.fetch(
        f"""SELECT {_COMMISSION} FROM affiliate_commissions WHERE status = 'payable'
            ORDER BY affiliate_id, currency, id"""
    )
    return records(Commission, rows)


async def set_state(
    conn: Connection,
    commission_id: uuid.UUID,
    *,
    status: CommissionStatus,
    reversed_minor: int,
    unrecovered_minor: int,
    at: datetime,
) -> None:
    await conn.execute(
        """UPDATE affiliate_commissions SET status = $2, reversed_minor = $3,
                                            unrecovered_minor = $4, updated_at = $5
           WHERE id = $1""",
        commission_id,
        status.value,
        reversed_minor,
        unrecovered_minor,
        at,
    )


async def mark_paid(
    conn: Connection, commission_ids: list[uuid.UUID], payout_id: uuid.UUID, at: datetime
) -> int:
    """Only those still payable (one reversed meanwhile stays reversed)."""
    result: str = await conn.execute(
        """UPDATE affiliate_commissions SET status = 'paid', payout_id = $2, updated_at = $3
           WHERE id = ANY($1::uuid[]) AND status = 'payable'""",
        commission_ids,
        payout_id,
        at,
    )
    return int(result.rsplit(" ", 1)[1])


async def commissions_of(conn: Connection, affiliate_id: uuid.UUID, limit: int) -> list[Commission]:
    rows = await conn.fetch(
        f"""SELECT {_COMMISSION} FROM affiliate_commissions WHERE affiliate_id = $1
            ORDER BY created_at DESC LIMIT $2""",
        affiliate_id,
        limit,
    )
    return records(Commission, rows)


async def totals(conn: Connection, affiliate_id: uuid.UUID) -> list[CurrencyTotals]:
    """Per currency and status, what is still owed (less any reversal)."""
    rows = await conn.fetch(
        """SELECT currency, status, sum(amount_minor - reversed_minor)::bigint AS amount_minor
           FROM affiliate_commissions WHERE affiliate_id = $1 GROUP BY currency, status""",
        affiliate_id,
    )
    return records(CurrencyTotals, rows)


async def reversed_totals(conn: Connection, affiliate_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT currency, sum(reversed_minor)::bigint AS n FROM affiliate_commissions
           WHERE affiliate_id = $1 GROUP BY currency""",
        affiliate_id,
    )
    return {str(r["currency"]): int(r["n"]) for r in rows}


async def daily_earnings(
    conn: Connection, affiliate_id: uuid.UUID, since: datetime
) -> list[DayEarning]:
    rows = await conn.fetch(
        """SELECT (created_at AT TIME ZONE 'UTC')::date AS day, currency,
                  sum(amount_minor - reversed_minor)::bigint AS amount_minor
           FROM affiliate_commissions WHERE affiliate_id = $1 AND created_at >= $2
           GROUP BY 1, 2 ORDER BY 1""",
        affiliate_id,
        since,
    )
    return records(DayEarning, rows)
