"""Badge, streak and leaderboard records and API bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from dracarys.models import Schema


class Badge(Schema, kw_only=True):
    badge: str
    earned_at: datetime


class Streak(Schema, kw_only=True):
    current_days: int
    longest_days: int
    last_day: str | None
    timezone: str


class StreakRecord(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    current_days: int
    longest_days: int
    last_day: date
    timezone: str


class LearningVisit(msgspec.Struct, frozen=True):
    """A user learned something at `at`; `timezone` is the one their client reported."""

    user_id: uuid.UUID
    at: datetime
    timezone: str | None = None


class LeaderboardRow(Schema, kw_only=True):
    rank: int
    user_id: uuid.UUID
    points: int


class Leaderboard(Schema, kw_only=True):
    period: str
    period_key: str
    rows: list[LeaderboardRow]


class Counted(msgspec.Struct, frozen=True):
    """One ledger credit to count on the leaderboards: (entry id, user, points, when it
    was awarded)."""

    entry_id: str
    user_id: uuid.UUID
    points: int
    at: datetime
