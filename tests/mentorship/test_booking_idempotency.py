"""Booking pays into escrow, so it takes its idempotency key from the `Idempotency-Key`
header or the body like every money-moving call, and applies once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from tests.idempotency import check_idempotent_route
from tests.mentorship.conftest import Client
from tests.support import Auth

WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)


async def test_concurrent_bookings_with_one_header_key_hold_one_seat_and_a_new_time_is_422(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor()
    mentee = await make_mentee()
    body = {
        "session_type_id": str(mentor.types["group"]),
        "starts_at": WEDNESDAY_9_EAT.isoformat(),
    }

    async def bookings() -> int:
        count: int = await pool.fetchval(
            "SELECT count(*) FROM session_bookings WHERE mentee_id = $1", mentee.id
        )
        return count

    first = await check_idempotent_route(
        client,
        "/api/v1/sessions/book",
        body=body,
        changed_body={**body, "starts_at": (WEDNESDAY_9_EAT + timedelta(hours=1)).isoformat()},
        headers=auth(mentee),
        effects=bookings,
    )
    assert first.status_code == 201
    held = await pool.fetchval(
        "SELECT count(*) FROM escrows WHERE payer_id = $1 AND status = 'held'", mentee.id
    )
    assert held == 1
