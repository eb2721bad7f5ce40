"""SQL of the ledger and balances. The ledger is written only through the database
function `points_post_entry` (migration 0500; `points_post_entries` for a batch, 0501),
which locks the balance row, applies caps and freezes and moves the balance in the
caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from dracarys.db import Connection, record, record_or_none, records
from dracarys.points.ledger.models import BalanceRecord, BatchPosting, LedgerRecord, Posting
from dracarys.points.models import Cap

_BALANCE_COLUMNS = (
    "user_id, balance, pending, tier, earning_frozen_at, frozen_reason, last_login_at"
)


async def post_entry(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    delta: int,
    reason_code: str,
    category: str,
    related_entity: str | None,
    rule_code: str | None,
    rule_version: int | None,
    key: str,
    source_ip: str | None,
    at: datetime,
    caps: list[Cap] | None = None,
    partial: bool = False,
    respect_freeze: bool = True,
    velocity_limit: int | None = None,
    velocity_since: datetime | None = None,
    tier_since: datetime | None = None,
) -> Posting:
    row = await conn.fetchrow(
        """SELECT * FROM points_post_entry($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                                           $12, $13, $14, $15, $16)""",
        user_id,
        delta,
        reason_code,
        category,
        related_entity,
        rule_code,
        rule_version,
        key,
        source_ip,
        at,
        msgspec.to_builtins(caps or []),
        partial,
        respect_freeze,
        velocity_limit,
        velocity_since,
        tier_since,
    )
    assert row is not None
    return record(Posting, row)


async def post_entries(
    conn: Connection,
    items: list[dict[str, Any]],
    *,
    at: datetime,
    velocity_limit: int,
    velocity_since: datetime,
    tier_since: datetime,
) -> list[BatchPosting]:
    """Many credits in one round trip (`points_post_entries`), one posting per item with
    its index; denials are recorded by the database function."""
    rows = await conn.fetch(
        "SELECT * FROM points_post_entries($1::jsonb, $2, $3, $4, $5)",
        items,
        at,
        velocity_limit,
        velocity_since,
        tier_since,
    )
    return records(BatchPosting, rows)


async def record_denial(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    rule_code: str | None,
    rule_version: int | None,
    related_entity: str | None,
    points: int,
    reason: str,
    key: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO points_denials (id, user_id, rule_code, rule_version, related_entity,
                                       points, reason, idempotency_key, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (idempotency_key) DO NOTHING""",
        uuid.uuid4(),
        user_id,
        rule_code,
        rule_version,
        related_entity,
        points,
        reason,
        key,
        at,
    )


async def denial_or_entry_exists(conn: Connection, key: str) -> bool:
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM points_ledger WHERE idempotency_key = $1)
                   OR EXISTS (SELECT 1 FROM points_denials WHERE idempotency_key = $1)
                   OR EXISTS (SELECT 1 FROM points_pending WHERE idempotency_key = $1)""",
            key,
        )
    )


async def lock_balance(conn: Connection, user_id: uuid.UUID, at: datetime) -> BalanceRecord:
    """The user's balance row (created empty if need be), locked until the transaction
    ends: what every change to one user's points takes first."""
    await conn.execute(
        """INSERT INTO points_balances (user_id, updated_at) VALUES ($1, $2)
           ON CONFLICT (user_id) DO NOTHING""",
        user_id,
        at,
    )
    row = await conn.fetchrow(
        f"SELECT {_BALANCE_COLUMNS} FROM points_balances WHERE user_id = $1 FOR UPDATE", user_id
    )
    assert row is not None
    return record(BalanceRecord, row)


async def balance(conn: Connection, user_id: uuid.UUID) -> BalanceRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_BALANCE_COLUMNS} FROM points_balances WHERE user_id = $1", user_id
    )
    return record_or_none(BalanceRecord, row)


async def add_pending_total(conn: Connection, user_id: uuid.UUID, delta: int) -> None:
    await conn.execute(
        "UPDATE points_balances SET pending = pending + $2 WHERE user_id = $1", user_id, delta
    )


async def set_tier(conn: Connection, user_id: uuid.UUID, tier: str) -> None:
    await conn.execute("UPDATE points_balances SET tier = $2 WHERE user_id = $1", user_id, tier)


async def set_frozen(
    conn: Connection, user_id: uuid.UUID, at: datetime | None, reason: str | None
) -> None:
    """Freeze earning (`at` and a reason) or lift the freeze (None, None)."""
    await conn.execute(
        """UPDATE points_balances SET earning_frozen_at = $2, frozen_reason = $3
           WHERE user_id = $1""",
        user_id,
        at,
        reason,
    )


async def usage(conn: Connection, user_id: uuid.UUID, keys: list[str]) -> dict[str, int]:
    """Points already counted against each of the cap counters `keys`."""
    rows = await conn.fetch(
        "SELECT period_key, points FROM points_usage WHERE user_id = $1 AND period_key = ANY($2)",
        user_id,
        keys,
    )
    return {r["period_key"]: r["points"] for r in rows}


async def add_usage(conn: Connection, user_id: uuid.UUID, keys: list[str], points: int) -> None:
    await conn.executemany(
        """INSERT INTO points_usage (user_id, period_key, points) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, period_key)
           DO UPDATE SET points = points_usage.points + EXCLUDED.points""",
        [(user_id, key, points) for key in keys],
    )


async def release_usage(conn: Connection, user_id: uuid.UUID, keys: list[str], points: int) -> None:
    """Give back cap room (a voided pending award no longer counts against its caps)."""
    await conn.execute(
        """UPDATE points_usage SET points = greatest(points - $3, 0)
           WHERE user_id = $1 AND period_key = ANY($2::text[])""",
        user_id,
        keys,
        points,
    )


async def earned_since(conn: Connection, user_id: uuid.UUID, since: datetime) -> int:
    value = await conn.fetchval(
        """SELECT coalesce(sum(delta), 0) FROM points_ledger
           WHERE user_id = $1 AND created_at > $2 AND delta > 0 AND category <> 'reversal'""",
        user_id,
        since,
    )
    return int(value)


async def history(
    conn: Connection, user_id: uuid.UUID, before_seq: int | None, limit: int
) -> list[LedgerRecord]:
    rows = await conn.fetch(
        """SELECT seq, id, delta, reason_code, category, related_entity, rule_code, rule_version,
                  balance_after, created_at
           FROM points_ledger
           WHERE user_id = $1 AND ($2::bigint IS NULL OR seq < $2)
           ORDER BY seq DESC LIMIT $3""",
        user_id,
        before_seq,
        limit,
    )
    return records(LedgerRecord, rows)


async def entry_by_key(conn: Connection, key: str) -> LedgerRecord | None:
    """The entry posted under an idempotency key (an award's key names its rule, user and
    related entity)."""
    row = await conn.fetchrow(
        """SELECT seq, id, delta, reason_code, category, related_entity, rule_code, rule_version,
                  balance_after, created_at
           FROM points_ledger WHERE idempotency_key = $1""",
        key,
    )
    return record_or_none(LedgerRecord, row)


async def entry_owner(conn: Connection, entry_id: uuid.UUID) -> uuid.UUID | None:
    owner: uuid.UUID | None = await conn.fetchval(
        "SELECT user_id FROM points_ledger WHERE id = $1", entry_id
    )
    return owner
