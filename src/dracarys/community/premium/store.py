"""Premium SQL: a group's price, the periods bought, and lapsed members taken out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec

from dracarys.community.premium.models import Period
from dracarys.db import Connection, record_or_none, records

_PERIOD = (
    "id, space_id, user_id, amount_minor, currency, escrow_id, paid_from, paid_until, created_at"
)


async def set_price(conn: Connection, space_id: uuid.UUID, price_minor: int, currency: str) -> None:
    await conn.execute(
        "UPDATE community_spaces SET monthly_price_minor = $2, currency = $3 WHERE id = $1",
        space_id,
        price_minor,
        currency,
    )


async def period(conn: Connection, period_id: uuid.UUID) -> Period | None:
    row = await conn.fetchrow(
        f"SELECT {_PERIOD} FROM community_space_periods WHERE id = $1", period_id
    )
    return record_or_none(Period, row)


async def paid_until(conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID) -> datetime | None:
    found: datetime | None = await conn.fetchval(
        "SELECT max(paid_until) FROM community_space_periods WHERE space_id = $1 AND user_id = $2",
        space_id,
        user_id,
    )
    return found


async def paid_members(
    conn: Connection, space_id: uuid.UUID, user_ids: Sequence[uuid.UUID], now: datetime
) -> set[uuid.UUID]:
    """Who of `user_ids` is in the group with paid time running at `now`."""
    rows = await conn.fetch(
        """
        SELECT m.user_id FROM community_space_members m
         WHERE m.space_id = $1 AND m.user_id = ANY($2::uuid[])
           AND EXISTS (SELECT 1 FROM community_space_periods p
                        WHERE p.space_id = m.space_id AND p.user_id = m.user_id
                          AND p.paid_until > $3)
        """,
        space_id,
        list(user_ids),
        now,
    )
    return {r["user_id"] for r in rows}


async def insert_period(conn: Connection, p: Period) -> None:
    await conn.execute(
        f"""
        INSERT INTO community_space_periods ({_PERIOD})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        p.id,
        p.space_id,
        p.user_id,
        p.amount_minor,
        p.currency,
        p.escrow_id,
        p.paid_from,
        p.paid_until,
        p.created_at,
    )


async def add_member(
    conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO community_space_members (space_id, user_id, joined_at) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        space_id,
        user_id,
        now,
    )


class Due(msgspec.Struct, frozen=True, kw_only=True):
    """A premium group's member whose paid time has run out."""

    space_id: uuid.UUID
    user_id: uuid.UUID
    mentor_id: uuid.UUID
    slug: str
    monthly_price_minor: int
    currency: str
    auto_renew: bool
    paid_until: datetime | None


async def due_members(conn: Connection, now: datetime) -> list[Due]:
    rows = await conn.fetch(
        """
        SELECT m.space_id, m.user_id, s.mentor_id, s.slug, s.monthly_price_minor, s.currency,
               m.auto_renew,
               (SELECT max(p.paid_until) FROM community_space_periods p
                 WHERE p.space_id = m.space_id AND p.user_id = m.user_id) AS paid_until
          FROM community_space_members m JOIN community_spaces s ON s.id = m.space_id
         WHERE s.monthly_price_minor > 0 AND m.user_id IS DISTINCT FROM s.mentor_id
           AND NOT EXISTS (SELECT 1 FROM community_space_periods p
                            WHERE p.space_id = m.space_id AND p.user_id = m.user_id
                              AND p.paid_until > $1)
        """,
        now,
    )
    return records(Due, rows)


async def lock_member(conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM community_space_members WHERE space_id = $1 AND user_id = $2 FOR UPDATE",
        space_id,
        user_id,
    )
    return found is not None


async def remove_member(conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute(
        "DELETE FROM community_space_members WHERE space_id = $1 AND user_id = $2",
        space_id,
        user_id,
    )


async def set_auto_renew(
    conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID, on: bool
) -> bool:
    done = await conn.fetchval(
        "UPDATE community_space_members SET auto_renew = $3 "
        "WHERE space_id = $1 AND user_id = $2 RETURNING 1",
        space_id,
        user_id,
        on,
    )
    return done is not None


async def renews(conn: Connection, space_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether the member's paid time renews from the wallet (False: not a member)."""
    found: bool | None = await conn.fetchval(
        "SELECT auto_renew FROM community_space_members WHERE space_id = $1 AND user_id = $2",
        space_id,
        user_id,
    )
    return bool(found)
