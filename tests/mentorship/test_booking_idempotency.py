"""Booking and buying a package pay into escrow, so they take their idempotency key from
the `Idempotency-Key` header or the body like every money-moving call, and apply once."""

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


async def test_concurrent_package_purchases_with_one_header_key_buy_it_once(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor()
    mentee = await make_mentee(funds_minor=2_000_000)
    offers = []
    for title in ("Three sessions", "Three more sessions"):
        offered = await client.post(
            "/api/v1/mentor/packages",
            json={
                "session_type_id": str(mentor.types["one_on_one"]),
                "title": title,
                "sessions": 3,
                "price_minor": 500_000,
            },
            headers=auth(mentor.user),
        )
        assert offered.status_code == 201, offered.text
        offers.append(offered.json()["id"])

    async def purchases() -> int:
        count: int = await pool.fetchval(
            "SELECT count(*) FROM package_purchases WHERE mentee_id = $1", mentee.id
        )
        return count

    first = await check_idempotent_route(
        client,
        f"/api/v1/packages/{offers[0]}/purchase",
        body={},
        changed_body=None,
        headers=auth(mentee),
        effects=purchases,
    )
    assert first.status_code == 201
    # The same key for another package is refused: it named a different purchase.
    key = "one-key-for-two-packages"
    again = [
        await client.post(
            f"/api/v1/packages/{offer}/purchase",
            json={"idempotency_key": key},
            headers=auth(mentee),
        )
        for offer in offers
    ]
    assert [r.status_code for r in again] == [201, 422]
    assert again[1].json()["errors"][0]["field"] == "idempotency_key"
    held = await pool.fetchval(
        "SELECT count(*) FROM escrows WHERE payer_id = $1 AND status = 'held'", mentee.id
    )
    assert held == 6  # two purchases of three sessions each
