"""All SQL of the points domain. The ledger is written only through the database
function `points_post_entry` (migration 0500), which locks the balance row, applies caps
and moves the balance in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from dracarys.db import Connection
from dracarys.points.models import (
    Appeal,
    Denial,
    FraudFlag,
    FrozenAccount,
    LedgerEntry,
    PointsEvent,
    Rule,
)

_RULE_COLUMNS = (
    "code, version, title, description, topic, kind, points, params, scope, category, "
    "daily_limit, monthly_limit, pending, min_kyc_level, active"
)


def _rule(row: asyncpg.Record) -> Rule:
    return Rule(**{k: row[k] for k in Rule.__struct_fields__})


# ---- rules and events -----------------------------------------------------------------


async def rules_in_force(conn: Connection) -> list[Rule]:
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (code) {_RULE_COLUMNS} FROM points_rules
            ORDER BY code, version DESC"""
    )
    return [_rule(r) for r in rows]


async def rule_versions(conn: Connection, code: str) -> list[Rule]:
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM points_rules WHERE code = $1 ORDER BY version", code
    )
    return [_rule(r) for r in rows]


async def insert_rule_version(conn: Connection, rule: Rule, created_by: uuid.UUID) -> None:
    await conn.execute(
        f"""INSERT INTO points_rules ({_RULE_COLUMNS}, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
        *(getattr(rule, f) for f in Rule.__struct_fields__),
        created_by,
    )


async def lock_key(conn: Connection, key: str) -> None:
    """A transaction-scoped lock on a name: serialises requests that share it (retries
    of one idempotency key, two admins versioning one rule)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def lock_rule_code(conn: Connection, code: str) -> None:
    await lock_key(conn, f"points_rule:{code}")


async def current_events(conn: Connection, now: datetime) -> list[PointsEvent]:
    rows = await conn.fetch(
        """SELECT id, name, rule_codes, multiplier_pct, starts_at, ends_at FROM points_events
           WHERE ends_at > $1 ORDER BY starts_at""",
        now,
    )
    return [PointsEvent(**dict(r)) for r in rows]


async def insert_event(conn: Connection, event: PointsEvent, created_by: uuid.UUID) -> None:
    await conn.execute(
        """INSERT INTO points_events (id, name, rule_codes, multiplier_pct, starts_at, ends_at,
                                      created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        event.id,
        event.name,
        event.rule_codes,
        event.multiplier_pct,
        event.starts_at,
        event.ends_at,
        created_by,
    )


# ---- ledger and balances --------------------------------------------------------------


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
    caps: list[dict[str, object]] | None = None,
    partial: bool = False,
    respect_freeze: bool = True,
    velocity_limit: int | None = None,
    velocity_since: datetime | None = None,
    tier_since: datetime | None = None,
) -> asyncpg.Record:
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
        caps or [],
        partial,
        respect_freeze,
        velocity_limit,
        velocity_since,
        tier_since,
    )
    assert row is not None
    return row


async def post_entries(
    conn: Connection,
    items: list[dict[str, Any]],
    *,
    at: datetime,
    velocity_limit: int,
    velocity_since: datetime,
    tier_since: datetime,
) -> list[asyncpg.Record]:
    """Many credits in one round trip (`points_post_entries`), one result row per item
    with its index; denials are recorded by the database function."""
    return list(
        await conn.fetch(
            "SELECT * FROM points_post_entries($1::jsonb, $2, $3, $4, $5)",
            items,
            at,
            velocity_limit,
            velocity_since,
            tier_since,
        )
    )


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


async def lock_balance(conn: Connection, user_id: uuid.UUID, at: datetime) -> asyncpg.Record:
    await conn.execute(
        """INSERT INTO points_balances (user_id, updated_at) VALUES ($1, $2)
           ON CONFLICT (user_id) DO NOTHING""",
        user_id,
        at,
    )
    row = await conn.fetchrow(
        "SELECT * FROM points_balances WHERE user_id = $1 FOR UPDATE", user_id
    )
    assert row is not None
    return row


async def balance_row(conn: Connection, user_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM points_balances WHERE user_id = $1", user_id)


async def add_pending_total(conn: Connection, user_id: uuid.UUID, delta: int) -> None:
    await conn.execute(
        "UPDATE points_balances SET pending = pending + $2 WHERE user_id = $1", user_id, delta
    )


async def set_tier(conn: Connection, user_id: uuid.UUID, tier: str) -> None:
    await conn.execute("UPDATE points_balances SET tier = $2 WHERE user_id = $1", user_id, tier)


async def usage(conn: Connection, user_id: uuid.UUID, keys: list[str]) -> dict[str, int]:
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


async def user_kyc_level(conn: Connection, user_id: uuid.UUID) -> int:
    level = await conn.fetchval("SELECT kyc_level FROM users WHERE id = $1", user_id)
    return int(level or 0)


async def user_exists(conn: Connection, user_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))


async def history(
    conn: Connection, user_id: uuid.UUID, before_seq: int | None, limit: int
) -> list[tuple[int, LedgerEntry]]:
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
    return [
        (
            r["seq"],
            LedgerEntry(
                id=r["id"],
                delta=r["delta"],
                reason_code=r["reason_code"],
                reason="",
                category=r["category"],
                related_entity=r["related_entity"],
                rule_code=r["rule_code"],
                rule_version=r["rule_version"],
                balance_after=r["balance_after"],
                created_at=r["created_at"],
            ),
        )
        for r in rows
    ]


async def ledger_entry_owner(conn: Connection, entry_id: uuid.UUID) -> uuid.UUID | None:
    owner: uuid.UUID | None = await conn.fetchval(
        "SELECT user_id FROM points_ledger WHERE id = $1", entry_id
    )
    return owner


# ---- pending awards -------------------------------------------------------------------


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


async def due_pending(conn: Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT p.*, u.kyc_level FROM points_pending p JOIN users u ON u.id = p.user_id
               WHERE p.status = 'pending' AND p.available_at <= $1
                 AND u.kyc_level >= p.min_kyc_level
               ORDER BY p.available_at LIMIT $2
               FOR UPDATE OF p SKIP LOCKED""",
            now,
            limit,
        )
    )


async def pending_for_money_ref(
    conn: Connection, money_ref: str, user_id: uuid.UUID | None
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT * FROM points_pending
               WHERE money_ref = $1 AND ($2::uuid IS NULL OR user_id = $2)
               ORDER BY id FOR UPDATE""",
            money_ref,
            user_id,
        )
    )


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


async def ledger_entry_by_key(conn: Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM points_ledger WHERE idempotency_key = $1", key)


# ---- badges, streaks, leaderboards ----------------------------------------------------


async def badges(conn: Connection, user_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT badge, earned_at FROM points_badges WHERE user_id = $1 ORDER BY earned_at",
            user_id,
        )
    )


async def grant_badges(
    conn: Connection, grants: list[tuple[uuid.UUID, str, str | None]], at: datetime
) -> list[tuple[uuid.UUID, str]]:
    """Insert badges not held yet; returns the ones granted now."""
    rows = await conn.fetch(
        """INSERT INTO points_badges (user_id, badge, earned_at, related)
           SELECT u, b, $4, r FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(u, b, r)
           ON CONFLICT DO NOTHING RETURNING user_id, badge""",
        [g[0] for g in grants],
        [g[1] for g in grants],
        [g[2] for g in grants],
        at,
    )
    return [(r["user_id"], r["badge"]) for r in rows]


async def lock_streaks(
    conn: Connection, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT * FROM points_streaks WHERE user_id = ANY($1::uuid[])
           ORDER BY user_id FOR UPDATE""",
        user_ids,
    )
    return {r["user_id"]: r for r in rows}


async def profile_timezones(conn: Connection, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await conn.fetch(
        """SELECT user_id, timezone FROM user_profiles
           WHERE user_id = ANY($1::uuid[]) AND timezone IS NOT NULL""",
        user_ids,
    )
    return {r["user_id"]: r["timezone"] for r in rows}


async def save_streaks(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows of (user_id, current_days, longest_days, last_day, timezone, updated_at)."""
    await conn.executemany(
        """INSERT INTO points_streaks (user_id, current_days, longest_days, last_day, timezone,
                                       updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (user_id) DO UPDATE SET current_days = $2, longest_days = $3,
               last_day = $4, timezone = $5, updated_at = $6""",
        rows,
    )


async def streak(conn: Connection, user_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM points_streaks WHERE user_id = $1", user_id)


async def add_leaderboard_points(
    conn: Connection, scores: dict[tuple[str, uuid.UUID], int]
) -> None:
    """Add points per (period key, user); each pair appears once."""
    await conn.execute(
        """INSERT INTO points_leaderboard (period_key, user_id, points)
           SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[])
           ON CONFLICT (period_key, user_id)
           DO UPDATE SET points = points_leaderboard.points + EXCLUDED.points""",
        [k[0] for k in scores],
        [k[1] for k in scores],
        list(scores.values()),
    )


async def leaderboard_top(conn: Connection, period_key: str, limit: int) -> list[tuple[str, int]]:
    rows = await conn.fetch(
        """SELECT user_id, points FROM points_leaderboard WHERE period_key = $1
           ORDER BY points DESC, user_id LIMIT $2""",
        period_key,
        limit,
    )
    return [(str(r["user_id"]), int(r["points"])) for r in rows]


# ---- redemptions ----------------------------------------------------------------------


async def redemption_by_key(
    conn: Connection, user_id: uuid.UUID, key: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM points_redemptions WHERE user_id = $1 AND idempotency_key = $2",
        user_id,
        key,
    )


async def insert_redemption(conn: Connection, **fields: Any) -> asyncpg.Record | None:
    columns = ", ".join(fields)
    placeholders = ", ".join(f"${i}" for i in range(1, len(fields) + 1))
    return await conn.fetchrow(
        f"""INSERT INTO points_redemptions ({columns}) VALUES ({placeholders})
            ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING *""",
        *fields.values(),
    )


async def set_redemption_entry(
    conn: Connection, redemption_id: uuid.UUID, entry_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE points_redemptions SET ledger_entry_id = $2 WHERE id = $1", redemption_id, entry_id
    )


async def due_held_redemptions(conn: Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT * FROM points_redemptions WHERE status = 'held' AND release_at <= $1
               ORDER BY release_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
            now,
            limit,
        )
    )


async def release_redemption(conn: Connection, redemption_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE points_redemptions SET status = 'released', released_at = $2 WHERE id = $1",
        redemption_id,
        at,
    )


async def insert_wallet_credit(
    conn: Connection,
    *,
    redemption_id: uuid.UUID,
    user_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    purpose: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO points_wallet_credits (redemption_id, user_id, amount_minor, currency,
                                              purpose, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        redemption_id,
        user_id,
        amount_minor,
        currency,
        purpose,
        at,
    )


async def mark_credit_landed(conn: Connection, redemption_id: uuid.UUID, at: datetime) -> bool:
    status = await conn.execute(
        """UPDATE points_wallet_credits SET status = 'landed', landed_at = $2
           WHERE redemption_id = $1 AND status = 'pending'""",
        redemption_id,
        at,
    )
    return status.endswith(" 1")


async def wallet_credit(conn: Connection, redemption_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM points_wallet_credits WHERE redemption_id = $1", redemption_id
    )


# ---- email-click tokens and device sightings ------------------------------------------


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


async def lock_email_token(conn: Connection, token_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM points_email_tokens WHERE token_hash = $1 FOR UPDATE", token_hash
    )


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


async def shared_clusters(conn: Connection, min_accounts: int) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT kind, value, array_agg(user_id ORDER BY user_id) AS user_ids
               FROM points_device_sightings GROUP BY kind, value
               HAVING count(*) >= $1""",
            min_accounts,
        )
    )


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
    return [FraudFlag(**dict(r)) for r in rows]


async def set_frozen(
    conn: Connection, user_id: uuid.UUID, at: datetime | None, reason: str | None
) -> None:
    await conn.execute(
        """UPDATE points_balances SET earning_frozen_at = $2, frozen_reason = $3
           WHERE user_id = $1""",
        user_id,
        at,
        reason,
    )


async def frozen_accounts(conn: Connection) -> list[FrozenAccount]:
    rows = await conn.fetch(
        """SELECT user_id, earning_frozen_at AS frozen_at, frozen_reason AS reason
           FROM points_balances WHERE earning_frozen_at IS NOT NULL ORDER BY earning_frozen_at"""
    )
    return [FrozenAccount(**dict(r)) for r in rows]


# ---- denials and appeals --------------------------------------------------------------


async def denials(conn: Connection, user_id: uuid.UUID, limit: int) -> list[Denial]:
    rows = await conn.fetch(
        """SELECT id, rule_code, related_entity, points, reason, created_at FROM points_denials
           WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2""",
        user_id,
        limit,
    )
    return [Denial(**dict(r)) for r in rows]


async def denial(conn: Connection, denial_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM points_denials WHERE id = $1", denial_id)


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
    return Appeal(**dict(row))  # type: ignore[arg-type]


async def lock_appeal(conn: Connection, appeal_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM points_appeals WHERE id = $1 FOR UPDATE", appeal_id)


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
    return Appeal(**dict(row))  # type: ignore[arg-type]


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
    return [Appeal(**dict(r)) for r in rows]


# ---- API idempotency ------------------------------------------------------------------


async def award_request(conn: Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT request_hash, response FROM points_award_requests WHERE idempotency_key = $1", key
    )


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


# ---- expiry, tiers, reconciliation ----------------------------------------------------


async def expiry_candidates(
    conn: Connection, cutoff: datetime, login_since: datetime
) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT b.user_id FROM points_balances b
           WHERE b.balance > 0
             AND coalesce(b.last_login_at, '-infinity') < $2
             AND NOT EXISTS (SELECT 1 FROM auth_sessions s
                             WHERE s.user_id = b.user_id AND s.created_at >= $2)
             AND EXISTS (SELECT 1 FROM points_ledger l
                         WHERE l.user_id = b.user_id AND l.delta > 0 AND l.created_at <= $1)
           ORDER BY b.user_id""",
        cutoff,
        login_since,
    )
    return [r["user_id"] for r in rows]


async def last_login(conn: Connection, user_id: uuid.UUID) -> datetime | None:
    moment: datetime | None = await conn.fetchval(
        """SELECT greatest((SELECT last_login_at FROM points_balances WHERE user_id = $1),
                           (SELECT max(created_at) FROM auth_sessions WHERE user_id = $1))""",
        user_id,
    )
    return moment


async def credits_and_debits(
    conn: Connection, user_id: uuid.UUID, cutoff: datetime
) -> tuple[int, int]:
    """(credits earned at or before `cutoff`, all debits ever as a positive number)."""
    row = await conn.fetchrow(
        """SELECT coalesce(sum(delta) FILTER (WHERE delta > 0 AND created_at <= $2), 0) AS old,
                  coalesce(-sum(delta) FILTER (WHERE delta < 0), 0) AS spent
           FROM points_ledger WHERE user_id = $1""",
        user_id,
        cutoff,
    )
    assert row is not None
    return int(row["old"]), int(row["spent"])


async def tiers_to_refresh(
    conn: Connection, since: datetime, settings_thresholds: list[tuple[str, int]]
) -> list[asyncpg.Record]:
    """Users whose stored tier differs from the tier their rolling-window earnings give."""
    names = [name for name, _ in settings_thresholds]
    floors = [floor for _, floor in settings_thresholds]
    return list(
        await conn.fetch(
            """WITH earned AS (
                   SELECT b.user_id, b.tier,
                          coalesce((SELECT sum(l.delta) FROM points_ledger l
                                    WHERE l.user_id = b.user_id AND l.created_at > $1
                                      AND l.delta > 0 AND l.category <> 'reversal'), 0) AS points
                   FROM points_balances b),
               computed AS (
                   SELECT e.user_id, e.tier AS previous,
                          (SELECT t.name FROM unnest($2::text[], $3::bigint[]) AS t(name, floor)
                           WHERE e.points >= t.floor ORDER BY t.floor DESC LIMIT 1) AS tier
                   FROM earned e)
               SELECT user_id, previous, tier FROM computed WHERE tier <> previous
               ORDER BY user_id""",
            since,
            names,
            floors,
        )
    )


async def reconciliation_checks(conn: Connection) -> dict[str, Any]:
    """Ledger vs balances, the balance_after chain, negative balances and pending totals."""
    mismatches = await conn.fetch(
        """WITH sums AS (SELECT user_id, sum(delta) AS total FROM points_ledger GROUP BY user_id)
           SELECT coalesce(b.user_id, s.user_id) AS user_id, b.balance, s.total
           FROM points_balances b FULL JOIN sums s ON s.user_id = b.user_id
           WHERE coalesce(b.balance, 0) <> coalesce(s.total, 0)
           LIMIT 100"""
    )
    chain_breaks = await conn.fetchval(
        """SELECT count(*) FROM (
               SELECT balance_after, delta,
                      lag(balance_after, 1, 0::bigint)
                          OVER (PARTITION BY user_id ORDER BY seq) AS previous
               FROM points_ledger) c
           WHERE c.balance_after <> c.previous + c.delta"""
    )
    negative = await conn.fetchval("SELECT count(*) FROM points_balances WHERE balance < 0")
    pending_mismatch = await conn.fetchval(
        """WITH p AS (SELECT user_id, sum(points) AS total FROM points_pending
                      WHERE status = 'pending' GROUP BY user_id)
           SELECT count(*) FROM points_balances b FULL JOIN p ON p.user_id = b.user_id
           WHERE coalesce(b.pending, 0) <> coalesce(p.total, 0)"""
    )
    return {
        "balance_mismatches": [
            {"user_id": str(r["user_id"]), "balance": r["balance"], "ledger_sum": r["total"]}
            for r in mismatches
        ],
        "chain_breaks": int(chain_breaks),
        "negative_balances": int(negative),
        "pending_mismatches": int(pending_mismatch),
    }


async def daily_flows(conn: Connection, since: datetime, until: datetime) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT (created_at AT TIME ZONE 'UTC')::date AS day, category,
                      sum(delta) FILTER (WHERE delta > 0) AS credited,
                      -sum(delta) FILTER (WHERE delta < 0) AS debited,
                      count(DISTINCT user_id) AS users
               FROM points_ledger WHERE created_at >= $1 AND created_at < $2
               GROUP BY 1, 2 ORDER BY 1, 2""",
            since,
            until,
        )
    )


async def balances_snapshot(conn: Connection) -> list[asyncpg.Record]:
    return list(await conn.fetch("SELECT balance, pending FROM points_balances"))


async def velocity_anomalies(
    conn: Connection, since: datetime, until: datetime, limit_points: int
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """SELECT user_id, sum(delta) AS earned FROM points_ledger
               WHERE created_at >= $1 AND created_at < $2 AND delta > 0
               GROUP BY user_id HAVING sum(delta) > $3 ORDER BY 2 DESC LIMIT 100""",
            since,
            until,
            limit_points,
        )
    )


async def flagged_user_count(conn: Connection) -> int:
    value = await conn.fetchval(
        """SELECT count(DISTINCT u) FROM (
               SELECT unnest(user_ids) AS u FROM points_fraud_flags WHERE status = 'open'
               UNION SELECT user_id FROM points_balances WHERE earning_frozen_at IS NOT NULL) f"""
    )
    return int(value)


async def save_report(conn: Connection, day: date, report: dict[str, Any], at: datetime) -> None:
    await conn.execute(
        """INSERT INTO points_reports (day, report, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (day) DO UPDATE SET report = $2, created_at = $3""",
        day,
        msgspec.to_builtins(report),
        at,
    )


async def latest_report(conn: Connection) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT day, report FROM points_reports ORDER BY day DESC LIMIT 1")
