"""SQL of a mentor's month: ratings received and attendance, for the monthly bonus."""

from __future__ import annotations

from datetime import datetime

from dracarys.db import Connection, records
from dracarys.mentorship.compensation.models import MonthFigures


async def month_figures(conn: Connection, start: datetime, end: datetime) -> list[MonthFigures]:
    """Per mentor, for sessions that started in [start, end): the average rating mentees
    gave and the share of confirmed bookings that were attended, in basis points."""
    rows = await conn.fetch(
        """WITH month_sessions AS (
               SELECT id, mentor_id FROM mentor_sessions
               WHERE status <> 'cancelled' AND starts_at >= $1 AND starts_at < $2),
           attendance AS (
               SELECT s.mentor_id,
                      count(*) AS booked,
                      count(b.attended_at) AS attended
               FROM month_sessions s JOIN session_bookings b ON b.session_id = s.id
               WHERE b.status = 'confirmed'
               GROUP BY s.mentor_id),
           ratings AS (
               SELECT s.mentor_id, avg(r.rating)::float8 AS avg_rating
               FROM month_sessions s JOIN session_reviews r
                    ON r.session_id = s.id AND r.rated_id = s.mentor_id
               GROUP BY s.mentor_id)
           SELECT a.mentor_id, r.avg_rating,
                  (a.attended * 10000 / a.booked)::int AS attendance_bps
           FROM attendance a JOIN ratings r USING (mentor_id)""",
        start,
        end,
    )
    return records(MonthFigures, rows)
