"""SQL of badges, streaks and the embedded mode's leaderboard table (Redis sorted sets
hold the leaderboards when Redis is configured)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.points.badges.models import Badge, StreakRecord

_STREAK_COLUMNS = "user_id, current_days, longest_days, last_day, timezone"


async def badges(conn: Connection, user_id: uuid.UUID) -> list[Badge]:
    rows = await conn.fetch(
        "SELECT badge, earned_at FROM points_badges WHERE user_id = $1 ORDER BY earned_at",
        user_id,
    )
    return records(Badge, rows)


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
) -> dict[uuid.UUID, StreakRecord]:
    rows = await conn.fetch(
        f"""SELECT {_STREAK_COLUMNS} FROM points_streaks WHERE user_id = ANY($1::uuid[])
            ORDER BY user_id FOR UPDATE""",
        user_ids,
    )
    return {s.user_id: s for s in records(StreakRecord, rows)}


async def save_streaks(
    conn: Connection, rows: list[tuple[uuid.UUID, int, int, date, str, datetime]]
) -> None:
    """Rows of (user_id, current_days, longest_days, last_day, timezone, updated_at)."""
    await conn.executemany(
        """INSERT INTO points_streaks (user_id, current_days, longest_days, last_day, timezone,
                                       updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (user_id) DO UPDATE SET current_days = $2, longest_days = $3,
               last_day = $4, timezone = $5, updated_at = $6""",
        rows,
    )


async def streak(conn: Connection, user_id: uuid.UUID) -> StreakRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_STREAK_COLUMNS} FROM points_streaks WHERE user_id = $1", user_id
    )
    return record_or_none(StreakRecord, row)


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
