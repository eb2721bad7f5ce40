"""SQL of anti-abuse: e-mail click tokens, device sightings, fraud flags, frozen accounts,
denials and appeals."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.points.abuse.models import (
    Appeal,
    Denial,
    DenialRecord,
    EmailToken,
    FraudFlag,
    FrozenAccount,
    SharedCluster,
)

# ---- e-mail click tokens --------------------------------------------------------------


async def insert_email_token(
    conn: Connection, token_hash: bytes, user_id: uuid.UUID, email_id: str, at: datetime
) -> bool:
    inserted = await conn.fetchval(
        """INSERT INTO points_email_tokens (token_hash, user_id, email_id, created_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
        token_hash,
        user_id,
        email_id,
        at,
    )
    return bool(inserted)


async def lock_email_token(conn: Connection, token_hash: bytes) -> EmailToken | None:
    row = await conn.fetchrow(
        """SELECT user_id, email_id, clicked_at, confirmed_at FROM points_email_tokens
           WHERE token_hash = $1 FOR UPDATE""",
        token_hash,
    )
    return record_or_none(EmailToken, row)


async def record_email_click(
    conn: Connection, token_hash: bytes, at: datetime, user_agent: str, ip: str | None
) -> None:
    await conn.execute(
        """UPDATE points_email_tokens SET clicked_at = $2, click_user_agent = $3, click_ip = $4
           WHERE token_hash = $1 AND clicked_at IS NULL""",
        token_hash,
        at,
        user_agent,
        ip,
    )


async def confirm_email_click(conn: Connection, token_hash: bytes, at: datetime) -> None:
    await conn.execute(
        "UPDATE points_email_tokens SET confirmed_at = $2 WHERE token_hash = $1", token_hash, at
    )


async def email_click_confirmed(conn: Connection, user_id: uuid.UUID, email_id: str) -> bool:
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM points_email_tokens
                              WHERE user_id = $1 AND email_id = $2 AND confirmed_at IS NOT NULL)""",
            user_id,
            email_id,
        )
    )


# ---- logins, sightings, clusters, freezes ---------------------------------------------


async def record_sighting(
    conn: Connection, user_id: uuid.UUID, kind: str, value: str, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO points_device_sightings (user_id, kind, value, first_seen, last_seen)
           VALUES ($1, $2, $3, $4, $4)
           ON CONFLICT (user_id, kind, value) DO UPDATE SET last_seen = $4""",
        user_id,
        kind,
        value,
        at,
    )


async def set_last_login(conn: Connection, user_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        """INSERT INTO points_balances (user_id, last_login_at, updated_at) VALUES ($1, $2, $2)
           ON CONFLICT (user_id) DO UPDATE
           SET last_login_at = greatest(points_balances.last_login_at, $2)""",
        user_id,
        at,
    )


async def shared_clusters(conn: Connection, min_accounts: int) -> list[SharedCluster]:
    rows = await conn.fetch(
        """SELECT kind, value, array_agg(user_id ORDER BY user_id) AS user_ids
           FROM points_device_sightings GROUP BY kind, value
           HAVING count(*) >= $1""",
        min_accounts,
    )
    return records(SharedCluster, rows)


async def upsert_fraud_flag(
    conn: Connection, kind: str, subject: str, user_ids: list[uuid.UUID], at: datetime
) -> bool:
    """Open a flag, or widen an open one; returns True when a new flag was opened."""
    created = await conn.fetchval(
        """INSERT INTO points_fraud_flags (id, kind, subject, user_ids, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $5)
           ON CONFLICT (kind, subject) WHERE status = 'open'
           DO UPDATE SET user_ids = EXCLUDED.user_ids, updated_at = EXCLUDED.updated_at
           RETURNING (xmax = 0)""",
        uuid.uuid4(),
        kind,
        subject,
        user_ids,
        at,
    )
    return bool(created)


async def open_fraud_flags(conn: Connection) -> list[FraudFlag]:
    rows = await conn.fetch(
        """SELECT id, kind, subject, user_ids, status, created_at FROM points_fraud_flags
           WHERE status = 'open' ORDER BY created_at"""
    )
    return records(FraudFlag, rows)


async def frozen_accounts(conn: Connection) -> list[FrozenAccount]:
    rows = await conn.fetch(
        """SELECT user_id, earning_frozen_at AS frozen_at, frozen_reason AS reason
           FROM points_balances WHERE earning_frozen_at IS NOT NULL ORDER BY earning_frozen_at"""
    )
    return records(FrozenAccount, rows)


# ---- denials and appeals --------------------------------------------------------------


async def denials(conn: Connection, user_id: uuid.UUID, limit: int) -> list[Denial]:
    rows = await conn.fetch(
        """SELECT id, rule_code, related_entity, points, reason, created_at FROM points_denials
           WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2""",
        user_id,
        limit,
    )
    return records(Denial, rows)


async def denial(conn: Connection, denial_id: uuid.UUID) -> DenialRecord | None:
    row = await conn.fetchrow(
        "SELECT id, user_id, points FROM points_denials WHERE id = $1", denial_id
    )
    return record_or_none(DenialRecord, row)


_APPEAL_COLUMNS = (
    "id, user_id, denial_id, entry_id, message, status, granted_points, resolution_note, "
    "created_at, resolved_at"
)


async def insert_appeal(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    denial_id: uuid.UUID | None,
    entry_id: uuid.UUID | None,
    message: str,
    at: datetime,
) -> Appeal:
    row = await conn.fetchrow(
        f"""INSERT INTO points_appeals (id, user_id, denial_id, entry_id, message, created_at)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_APPEAL_COLUMNS}""",
        uuid.uuid4(),
        user_id,
        denial_id,
        entry_id,
        message,
        at,
    )
    assert row is not None
    return record(Appeal, row)


async def lock_appeal(conn: Connection, appeal_id: uuid.UUID) -> Appeal | None:
    row = await conn.fetchrow(
        f"SELECT {_APPEAL_COLUMNS} FROM points_appeals WHERE id = $1 FOR UPDATE", appeal_id
    )
    return record_or_none(Appeal, row)


async def resolve_appeal(
    conn: Connection,
    appeal_id: uuid.UUID,
    *,
    status: str,
    granted_points: int | None,
    note: str,
    reviewer_id: uuid.UUID,
    at: datetime,
) -> Appeal:
    row = await conn.fetchrow(
        f"""UPDATE points_appeals SET status = $2, granted_points = $3, resolution_note = $4,
                                     reviewer_id = $5, resolved_at = $6
            WHERE id = $1 RETURNING {_APPEAL_COLUMNS}""",
        appeal_id,
        status,
        granted_points,
        note,
        reviewer_id,
        at,
    )
    assert row is not None
    return record(Appeal, row)


async def appeals(
    conn: Connection, user_id: uuid.UUID | None, only_open: bool, limit: int
) -> list[Appeal]:
    rows = await conn.fetch(
        f"""SELECT {_APPEAL_COLUMNS} FROM points_appeals
            WHERE ($1::uuid IS NULL OR user_id = $1) AND (NOT $2 OR status = 'open')
            ORDER BY created_at LIMIT $3""",
        user_id,
        only_open,
        limit,
    )
    return records(Appeal, rows)
