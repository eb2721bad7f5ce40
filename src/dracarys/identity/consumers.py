"""Identity's consumers of other domains' events, listed by `workers/consumers.py` with
the topics they take: a rated session (`SESSION_RATED`, mentorship's) feeds the mentor's
rating and reputation, an attended one (`SESSION_ATTENDED`) their session count."""

from __future__ import annotations

import uuid

from dracarys.db import Connection
from dracarys.identity.events import SESSION_ATTENDED, SESSION_RATED
from dracarys.identity.profiles.service import count_mentor_session, record_rating
from dracarys.outbox import Event

__all__ = ["SESSION_ATTENDED", "SESSION_RATED", "on_session_attended", "on_session_rated"]


async def on_session_rated(conn: Connection, event: Event) -> None:
    """`session.rated` {session_id, rater_id, rated_id, rating} → rating and reputation."""
    payload = event.payload
    await record_rating(
        conn,
        uuid.UUID(str(payload["rated_id"])),
        int(payload["rating"]),
        uuid.UUID(str(payload["session_id"])),
        rater_id=uuid.UUID(str(payload["rater_id"])),
        now=event.created_at,
    )


async def on_session_attended(conn: Connection, event: Event) -> None:
    """`session.attended` {session_id, mentor_id, mentee_id} → the mentor's session count
    (the consumer's de-duplication makes a redelivery count once)."""
    await count_mentor_session(conn, uuid.UUID(str(event.payload["mentor_id"])))
