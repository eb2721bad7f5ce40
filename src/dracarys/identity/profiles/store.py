"""SQL of profiles, mentor profiles, ratings, endorsements and the reputation score."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.db import Connection, record_or_none
from dracarys.identity.profiles.models import ProfileRecord, UserViewRecord


async def user_view(conn: Connection, user_id: uuid.UUID) -> UserViewRecord | None:
    row = await conn.fetchrow(
        """SELECT u.id, u.email_sealed, u.name_sealed, u.phone_sealed, u.role, u.kyc_level,
                  u.status, u.email_verified_at, u.phone_verified_at, u.totp_enabled_at,
                  u.reputation_score, u.created_at,
                  p.headline, p.bio, p.specialties, p.social_links, p.timezone,
                  p.experience_level, p.trading_style, p.address_sealed, p.country, p.language,
                  (SELECT count(*) FROM endorsements e WHERE e.endorsee_id = u.id)
                      AS endorsement_count,
                  m.user_id AS mentor_user_id, m.specialties AS mentor_specialties,
                  m.hourly_rate_minor, m.currency, m.verified, m.on_probation,
                  m.rating_count, m.rating_sum, m.total_sessions
           FROM users u
           LEFT JOIN user_profiles p ON p.user_id = u.id
           LEFT JOIN mentor_profiles m ON m.user_id = u.id
           WHERE u.id = $1""",
        user_id,
    )
    return record_or_none(UserViewRecord, row)


async def profile_for_update(conn: Connection, user_id: uuid.UUID) -> ProfileRecord | None:
    row = await conn.fetchrow(
        """SELECT user_id, headline, bio, specialties, social_links, timezone,
                  experience_level, trading_style, country, language, completed_at
           FROM user_profiles WHERE user_id = $1 FOR UPDATE""",
        user_id,
    )
    return record_or_none(ProfileRecord, row)


async def update_profile(
    conn: Connection, user_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> None:
    columns = sorted(fields)
    assignments = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE user_profiles SET {assignments}, updated_at = $2 WHERE user_id = $1",
        user_id,
        now,
        *[fields[c] for c in columns],
    )


async def set_address(
    conn: Connection, user_id: uuid.UUID, address_sealed: bytes, now: datetime
) -> None:
    await conn.execute(
        "UPDATE user_profiles SET address_sealed = $2, updated_at = $3 WHERE user_id = $1",
        user_id,
        address_sealed,
        now,
    )


async def mark_profile_completed(conn: Connection, user_id: uuid.UUID, now: datetime) -> bool:
    status = await conn.execute(
        """UPDATE user_profiles SET completed_at = $2
           WHERE user_id = $1 AND completed_at IS NULL""",
        user_id,
        now,
    )
    return status.endswith(" 1")


async def ensure_mentor_profile(conn: Connection, user_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO mentor_profiles (user_id, updated_at) VALUES ($1, $2)
           ON CONFLICT (user_id) DO NOTHING""",
        user_id,
        now,
    )


async def lock_mentor_profile(conn: Connection, user_id: uuid.UUID) -> bool:
    """Lock the user's mentor profile until the transaction ends; False without one."""
    found = await conn.fetchval(
        "SELECT true FROM mentor_profiles WHERE user_id = $1 FOR UPDATE", user_id
    )
    return bool(found)


async def update_mentor_profile(
    conn: Connection, user_id: uuid.UUID, fields: dict[str, Any], now: datetime
) -> None:
    columns = sorted(fields)
    assignments = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(columns))
    await conn.execute(
        f"UPDATE mentor_profiles SET {assignments}, updated_at = $2 WHERE user_id = $1",
        user_id,
        now,
        *[fields[c] for c in columns],
    )


async def insert_rating(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    rater_id: uuid.UUID,
    rated_id: uuid.UUID,
    rating: int,
    now: datetime,
) -> bool:
    status = await conn.execute(
        """INSERT INTO ratings (session_id, rater_id, rated_id, rating, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        session_id,
        rater_id,
        rated_id,
        rating,
        now,
    )
    return status.endswith(" 1")


async def add_mentor_rating(conn: Connection, mentor_id: uuid.UUID, rating: int) -> None:
    await conn.execute(
        """UPDATE mentor_profiles SET rating_count = rating_count + 1,
                                      rating_sum = rating_sum + $2
           WHERE user_id = $1""",
        mentor_id,
        rating,
    )


async def add_mentor_session(conn: Connection, mentor_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE mentor_profiles SET total_sessions = total_sessions + 1 WHERE user_id = $1",
        mentor_id,
    )


async def rating_totals(conn: Connection, user_id: uuid.UUID) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(rating), 0) AS total FROM ratings WHERE rated_id = $1",
        user_id,
    )
    assert row is not None
    return int(row["n"]), int(row["total"])


async def endorsement_count(conn: Connection, user_id: uuid.UUID) -> int:
    count = await conn.fetchval("SELECT count(*) FROM endorsements WHERE endorsee_id = $1", user_id)
    return int(count)


async def insert_endorsement(
    conn: Connection, endorser_id: uuid.UUID, endorsee_id: uuid.UUID, skill: str, now: datetime
) -> bool:
    status = await conn.execute(
        """INSERT INTO endorsements (endorser_id, endorsee_id, skill, created_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        endorser_id,
        endorsee_id,
        skill,
        now,
    )
    return status.endswith(" 1")


async def set_reputation(conn: Connection, user_id: uuid.UUID, score: int) -> None:
    await conn.execute("UPDATE users SET reputation_score = $2 WHERE id = $1", user_id, score)
