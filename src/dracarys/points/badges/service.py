"""Badges granted once per user and announced, learning days counted in each user's own
time zone (seven in a row earn a badge), and the seasonal leaderboards: Redis sorted sets
when Redis is configured, the `points_leaderboard` table in the embedded mode. Fed by
`points.awarded` events; each ledger entry counts once even when an event is delivered
twice."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.asyncio import Redis

from dracarys.db import Connection
from dracarys.errors import NotFound
from dracarys.identity import profile_timezones
from dracarys.outbox import emit_events
from dracarys.platform import Platform
from dracarys.points import events
from dracarys.points.badges import store
from dracarys.points.badges.models import (
    Badge,
    Counted,
    Leaderboard,
    LeaderboardRow,
    LearningVisit,
    Streak,
)
from dracarys.points.rules import LeaderboardPeriod, advance_streak, leaderboard_periods

BADGE_FIRST_LESSON = "first_lesson"
BADGE_FIRST_ASSESSMENT = "first_assessment_passed"
BADGE_STREAK_7 = "streak_7_days"
BADGE_PROFITABLE_MONTH = "first_profitable_paper_month"

# ---- badges -------------------------------------------------------------------------


async def grant_badges(
    conn: Connection, platform: Platform, grants: list[tuple[uuid.UUID, str, str | None]]
) -> list[tuple[uuid.UUID, str]]:
    """Grant badges not held yet (each once per user) and announce the new ones."""
    unique = list(
        {(user, badge): (user, badge, related) for user, badge, related in grants}.values()
    )
    if not unique:
        return []
    granted = await store.grant_badges(conn, unique, platform.clock.now())
    if granted:
        await emit_events(
            conn, [events.BadgeEarned(user_id=str(user), badge=badge) for user, badge in granted]
        )
    return granted


async def grant_badge(
    conn: Connection, platform: Platform, user_id: uuid.UUID, badge: str, related: str | None
) -> bool:
    return bool(await grant_badges(conn, platform, [(user_id, badge, related)]))


async def badges(platform: Platform, user_id: uuid.UUID) -> list[Badge]:
    async with platform.pool.acquire() as conn:
        return await store.badges(conn, user_id)


# ---- learning streaks -----------------------------------------------------------------


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


async def record_learning_days(
    conn: Connection, platform: Platform, visits: list[LearningVisit]
) -> dict[uuid.UUID, Streak]:
    """Count days of learning in each user's own timezone (profile, else the one given,
    else the one last used, else UTC). Local dates make DST shifts and midnight in any
    zone come out right. Seven days in a row earn a badge."""
    if not visits:
        return {}
    users = sorted({v.user_id for v in visits})
    existing = await store.lock_streaks(conn, users)
    profile_zones = await profile_timezones(conn, users)
    state: dict[uuid.UUID, tuple[int, int, date | None, str]] = {}
    for user in users:
        record = existing.get(user)
        if record is None:
            state[user] = (0, 0, None, "")
        else:
            state[user] = (
                record.current_days,
                record.longest_days,
                record.last_day,
                record.timezone,
            )
    for visit in visits:
        current, longest, last_day, last_zone = state[visit.user_id]
        candidates = [profile_zones.get(visit.user_id), visit.timezone, last_zone]
        zone_name: str = next((n for n in candidates if n and _zone(n) is not None), "UTC")
        today = visit.at.astimezone(ZoneInfo(zone_name)).date()
        current, longest, last_day = advance_streak(current, longest, last_day, today)
        state[visit.user_id] = (current, longest, last_day, zone_name)
    now = platform.clock.now()
    rows = [(u, c, lg, d, z, now) for u, (c, lg, d, z) in state.items() if d is not None]
    await store.save_streaks(conn, rows)
    await grant_badges(
        conn,
        platform,
        [(u, BADGE_STREAK_7, d.isoformat()) for u, c, _, d, _, _ in rows if c >= 7],
    )
    return {
        u: Streak(current_days=c, longest_days=lg, last_day=d.isoformat(), timezone=z)
        for u, c, lg, d, z, _ in rows
    }


async def record_learning_day(
    conn: Connection,
    platform: Platform,
    user_id: uuid.UUID,
    at: datetime,
    timezone: str | None = None,
) -> Streak:
    streaks = await record_learning_days(conn, platform, [LearningVisit(user_id, at, timezone)])
    return streaks[user_id]


async def streak(platform: Platform, user_id: uuid.UUID) -> Streak:
    async with platform.pool.acquire() as conn:
        record = await store.streak(conn, user_id)
    if record is None:
        return Streak(current_days=0, longest_days=0, last_day=None, timezone="UTC")
    # A streak whose last day is before yesterday (in the user's zone) is broken.
    today = platform.clock.now().astimezone(ZoneInfo(record.timezone)).date()
    alive = record.last_day >= today - timedelta(days=1)
    return Streak(
        current_days=record.current_days if alive else 0,
        longest_days=record.longest_days,
        last_day=record.last_day.isoformat(),
        timezone=record.timezone,
    )


# ---- leaderboards ---------------------------------------------------------------------

# Markers of counted entries outlive the longest period (a season).
_MARKER_TTL_S = 100 * 86_400

# Count an entry once: the marker key is set only if absent, and only then the scores move.
_COUNT_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  for i = 2, #KEYS do redis.call('ZINCRBY', KEYS[i], ARGV[2], ARGV[1]) end
  return 1
end
return 0
"""


def _board_key(platform: Platform, period_key: str) -> str:
    return f"{platform.settings.redis_prefix}:points:lb:{period_key}"


async def count_entries(conn: Connection, platform: Platform, entries: list[Counted]) -> None:
    if not entries:
        return
    redis: Redis | None = platform.redis
    if redis is None:
        # In the consumer's transaction, de-duplicated with the events themselves.
        scores: dict[tuple[str, uuid.UUID], int] = defaultdict(int)
        for entry in entries:
            for period_key in leaderboard_periods(entry.at).values():
                scores[(period_key, entry.user_id)] += entry.points
        await store.add_leaderboard_points(conn, dict(scores))
        return
    prefix = platform.settings.redis_prefix
    async with redis.pipeline(transaction=False) as pipe:
        for entry in entries:
            keys = [f"{prefix}:points:lbseen:{entry.entry_id}"] + [
                _board_key(platform, k) for k in leaderboard_periods(entry.at).values()
            ]
            pipe.eval(
                _COUNT_ONCE, len(keys), *keys, str(entry.user_id), entry.points, _MARKER_TTL_S
            )
        await pipe.execute()


async def leaderboard(platform: Platform, period: str, limit: int) -> Leaderboard:
    """The top earners of the current week, month or season."""
    if period not in get_args(LeaderboardPeriod):
        raise NotFound("leaderboards are weekly, monthly or season")
    period_key = leaderboard_periods(platform.clock.now())[period]
    redis: Redis | None = platform.redis
    if redis is None:
        async with platform.pool.acquire() as conn:
            pairs = await store.leaderboard_top(conn, period_key, limit)
    else:
        raw: Any = await redis.zrevrange(
            _board_key(platform, period_key), 0, limit - 1, withscores=True
        )
        pairs = [(bytes(member).decode(), int(score)) for member, score in raw]
    rows = [
        LeaderboardRow(rank=i + 1, user_id=uuid.UUID(user), points=points)
        for i, (user, points) in enumerate(pairs)
    ]
    return Leaderboard(period=period, period_key=period_key, rows=rows)
