"""Seasonal leaderboards (weekly, monthly, season): Redis sorted sets when Redis is
configured, the `points_leaderboard` table in the embedded mode. Fed by `points.awarded`
events; each ledger entry counts once even when an event is delivered twice."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

import msgspec
from redis.asyncio import Redis

from dracarys.db import Connection
from dracarys.platform import Platform
from dracarys.points import store
from dracarys.points.models import Leaderboard, LeaderboardRow
from dracarys.points.rules import leaderboard_periods

Period = Literal["weekly", "monthly", "season"]
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


class Counted(msgspec.Struct, frozen=True):
    """One ledger credit to count: (entry id, user, points, when it was awarded)."""

    entry_id: str
    user_id: uuid.UUID
    points: int
    at: datetime


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


async def top(
    conn: Connection, platform: Platform, period: Period, at: datetime, limit: int
) -> Leaderboard:
    period_key = leaderboard_periods(at)[period]
    redis: Redis | None = platform.redis
    if redis is None:
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
