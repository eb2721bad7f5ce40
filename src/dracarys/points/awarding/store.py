"""SQL of awarding: pending (money-tied) awards and the award endpoint's remembered
answers. Ledger entries themselves go through `dracarys.points.ledger.store`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.db import Connection, record_or_none, records
from dracarys.points.awarding.models import AwardRequest, PendingAward

_PENDING_COLUMNS = (
    "id, user_id, points, reason_code, category, related_entity, money_ref, rule_code, "
    "rule_version, min_kyc_level, source_ip, idempotency_key, context, created_at, "
    "available_at, status"
)


async def insert_pending(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    points: int,
    reason_code: str,
    category: str,
    related_entity: str | None,
    money_ref: str,
    rule_code: str,
    rule_version: int,
    min_kyc_level: int,
    source_ip: str | None,
    key: str,
    context: dict[str, str],
    at: datetime,
    available_at: datetime,
) -> uuid.UUID | None:
    """The new pending award's id; None if one exists under the key already."""
    pending_id: uuid.UUID | None = await conn.fetchval(
        """INSERT INTO points_pending (id, user_id, points, reason_code, category, related_entity,
                                       money_ref, rule_code, rule_version, min_kyc_level,
                                       source_ip, idempotency_key, context, created_at,
                                       available_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id""",
        uuid.uuid4(),
        user_id,
        points,
        reason_code,
        category,
        related_entity,
        money_ref,
        rule_code,
        rule_version,
        min_kyc_level,
        source_ip,
        key,
        context,
        at,
        available_at,
    )
    return pending_id


async def due_pending(
    conn: Connection,
    now: datetime,
    limit: int,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[PendingAward]:
    """Pending awards whose window has closed, in (available_at, id) order after `after`,
    locked; those another run holds are skipped (SKIP LOCKED), so runs share the work."""
    after_at, after_id = after if after is not None else (None, None)
    rows = await conn.fetch(
        f"""SELECT {_PENDING_COLUMNS} FROM points_pending
            WHERE status = 'pending' AND available_at <= $1
              AND ($3::timestamptz IS NULL OR (available_at, id) > ($3, $4::uuid))
            ORDER BY available_at, id LIMIT $2
            FOR UPDATE SKIP LOCKED""",
        now,
        limit,
        after_at,
        after_id,
    )
    return records(PendingAward, rows)


async def pending_for_money_ref(conn: Connection, money_ref: str) -> list[PendingAward]:
    """Every award tied to the money, whatever became of it, locked."""
    rows = await conn.fetch(
        f"""SELECT {_PENDING_COLUMNS} FROM points_pending WHERE money_ref = $1
            ORDER BY id FOR UPDATE""",
        money_ref,
    )
    return records(PendingAward, rows)


async def resolve_pending(
    conn: Connection,
    pending_id: uuid.UUID,
    *,
    status: str,
    at: datetime,
    entry_id: uuid.UUID | None = None,
    void_reason: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE points_pending SET status = $2, resolved_at = $3, ledger_entry_id = $4,
                                     void_reason = $5
           WHERE id = $1""",
        pending_id,
        status,
        at,
        entry_id,
        void_reason,
    )


async def award_request(conn: Connection, key: str) -> AwardRequest | None:
    row = await conn.fetchrow(
        "SELECT request_hash, response FROM points_award_requests WHERE idempotency_key = $1", key
    )
    return record_or_none(AwardRequest, row)


async def save_award_request(
    conn: Connection, key: str, request_hash: str, response: dict[str, Any], at: datetime
) -> bool:
    saved = await conn.fetchval(
        """INSERT INTO points_award_requests (idempotency_key, request_hash, response, created_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
        key,
        request_hash,
        response,
        at,
    )
    return bool(saved)
