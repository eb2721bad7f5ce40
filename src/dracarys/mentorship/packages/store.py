"""SQL of mentorship packages: the offers, the purchases and their session credits."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.mentorship.packages.models import PackageCredit, PackagePurchase, SessionPackage

_PACKAGE = """SELECT id, mentor_id, session_type_id, title, sessions, price_minor,
                     rtrim(currency) AS currency, valid_days, active
              FROM session_packages"""
_PURCHASE = """SELECT id, package_id, mentee_id, mentor_id, session_type_id, title, sessions,
                      price_minor, paid_minor, rtrim(currency) AS currency, status,
                      expires_at, closed_at, created_at
               FROM package_purchases"""
_CREDIT = """SELECT purchase_id, position, amount_minor, escrow_id, status, booking_id,
                    refunded_minor
             FROM package_credits"""

# ---- offers ---------------------------------------------------------------------------


async def insert_package(
    conn: Connection,
    *,
    package_id: uuid.UUID,
    mentor_id: uuid.UUID,
    session_type_id: uuid.UUID,
    title: str,
    sessions: int,
    price_minor: int,
    currency: str,
    valid_days: int,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO session_packages (id, mentor_id, session_type_id, title, sessions,
               price_minor, currency, valid_days, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        package_id,
        mentor_id,
        session_type_id,
        title,
        sessions,
        price_minor,
        currency,
        valid_days,
        now,
    )


async def package(conn: Connection, package_id: uuid.UUID) -> SessionPackage | None:
    row = await conn.fetchrow(f"{_PACKAGE} WHERE id = $1", package_id)
    return record_or_none(SessionPackage, row)


async def packages_of(
    conn: Connection, mentor_id: uuid.UUID, *, active_only: bool
) -> list[SessionPackage]:
    rows = await conn.fetch(
        f"{_PACKAGE} WHERE mentor_id = $1 AND (active OR NOT $2) ORDER BY created_at",
        mentor_id,
        active_only,
    )
    return records(SessionPackage, rows)


async def set_package_active(conn: Connection, package_id: uuid.UUID, active: bool) -> None:
    await conn.execute("UPDATE session_packages SET active = $2 WHERE id = $1", package_id, active)


# ---- purchases ------------------------------------------------------------------------


async def insert_purchase(
    conn: Connection,
    *,
    purchase_id: uuid.UUID,
    offer: SessionPackage,
    mentee_id: uuid.UUID,
    paid_minor: int,
    expires_at: datetime,
    idempotency_key: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO package_purchases (id, package_id, mentee_id, mentor_id,
               session_type_id, title, sessions, price_minor, paid_minor, currency, status,
               expires_at, idempotency_key, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $12, $13)""",
        purchase_id,
        offer.id,
        mentee_id,
        offer.mentor_id,
        offer.session_type_id,
        offer.title,
        offer.sessions,
        offer.price_minor,
        paid_minor,
        offer.currency,
        expires_at,
        idempotency_key,
        now,
    )


async def purchase(conn: Connection, purchase_id: uuid.UUID) -> PackagePurchase | None:
    return record_or_none(
        PackagePurchase, await conn.fetchrow(f"{_PURCHASE} WHERE id = $1", purchase_id)
    )


async def lock_purchase(conn: Connection, purchase_id: uuid.UUID) -> PackagePurchase | None:
    """Every change to a purchase's credits holds this lock first."""
    row = await conn.fetchrow(f"{_PURCHASE} WHERE id = $1 FOR UPDATE", purchase_id)
    return record_or_none(PackagePurchase, row)


async def purchase_by_key(
    conn: Connection, mentee_id: uuid.UUID, key: str
) -> PackagePurchase | None:
    row = await conn.fetchrow(
        f"{_PURCHASE} WHERE mentee_id = $1 AND idempotency_key = $2", mentee_id, key
    )
    return record_or_none(PackagePurchase, row)


async def purchases_of_mentee(conn: Connection, mentee_id: uuid.UUID) -> list[PackagePurchase]:
    rows = await conn.fetch(
        f"{_PURCHASE} WHERE mentee_id = $1 ORDER BY created_at DESC LIMIT 100", mentee_id
    )
    return records(PackagePurchase, rows)


async def due_purchase_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM package_purchases WHERE status = 'active' AND expires_at <= $1
           ORDER BY expires_at LIMIT 200""",
        now,
    )
    return [r["id"] for r in rows]


async def close_purchase(conn: Connection, purchase_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE package_purchases SET status = 'closed', closed_at = $2 WHERE id = $1",
        purchase_id,
        now,
    )


# ---- credits --------------------------------------------------------------------------


async def insert_credit(
    conn: Connection,
    *,
    purchase_id: uuid.UUID,
    position: int,
    amount_minor: int,
    escrow_id: uuid.UUID | None,
) -> None:
    await conn.execute(
        """INSERT INTO package_credits (purchase_id, position, amount_minor, escrow_id, status)
           VALUES ($1, $2, $3, $4, 'available')""",
        purchase_id,
        position,
        amount_minor,
        escrow_id,
    )


async def credits_of(
    conn: Connection, purchase_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[PackageCredit]]:
    rows = await conn.fetch(
        f"{_CREDIT} WHERE purchase_id = ANY($1::uuid[]) ORDER BY purchase_id, position",
        purchase_ids,
    )
    found: dict[uuid.UUID, list[PackageCredit]] = {pid: [] for pid in purchase_ids}
    for credit in records(PackageCredit, rows):
        found[credit.purchase_id].append(credit)
    return found


async def credit_of_booking(conn: Connection, booking_id: uuid.UUID) -> PackageCredit | None:
    return record_or_none(
        PackageCredit, await conn.fetchrow(f"{_CREDIT} WHERE booking_id = $1", booking_id)
    )


async def set_credit(
    conn: Connection,
    purchase_id: uuid.UUID,
    position: int,
    *,
    status: str,
    booking_id: uuid.UUID | None,
    refunded_minor: int = 0,
) -> None:
    await conn.execute(
        """UPDATE package_credits SET status = $3, booking_id = $4,
               refunded_minor = refunded_minor + $5
           WHERE purchase_id = $1 AND position = $2""",
        purchase_id,
        position,
        status,
        booking_id,
        refunded_minor,
    )
