"""Identity's consumers of other domains' events, listed by `workers/consumers.py` with
the topics they take: a rated session (mentorship's `SessionRated`) feeds the mentor's
rating and reputation, an attended one (`SessionAttended`) their session count. Each
decodes the payload into its producer's struct."""

from __future__ import annotations

import msgspec

from dracarys.db import Connection
from dracarys.identity.profiles.service import count_mentor_session, record_rating
from dracarys.mentorship import SessionAttended, SessionRated
from dracarys.outbox import Event

__all__ = ["SessionAttended", "SessionRated", "on_session_attended", "on_session_rated"]


async def on_session_rated(conn: Connection, event: Event) -> None:
    """`session.rated` → rating and reputation."""
    rated = msgspec.convert(event.payload, SessionRated)
    await record_rating(
        conn,
        rated.rated_id,
        rated.rating,
        rated.session_id,
        rater_id=rated.rater_id,
        now=event.created_at,
    )


async def on_session_attended(conn: Connection, event: Event) -> None:
    """`session.attended` → the mentor's session count (the consumer's de-duplication
    makes a redelivery count once)."""
    attended = msgspec.convert(event.payload, SessionAttended)
    await count_mentor_session(conn, attended.mentor_id)
