"""Promo codes at checkout, through the HTTP API: a quote shows what the code takes off
(a percent of the price here), and bookings racing for a code's last uses get exactly the
uses it has left — in all and per member — while every refused booking leaves no seat,
no escrow and no debit behind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dracarys.identity import Role
from tests.checkout.conftest import quote
from tests.mentorship.conftest import Client, weekly
from tests.support import Auth, balance

PRICE = 200_000
# The suite's clock starts Monday 2026-01-05 09:00 UTC: Tuesday on is bookable.
TUESDAY = datetime(2026, 1, 6, tzinfo=UTC)


def _slots(count: int) -> list[datetime]:
    """`count` one-hour starts, 00:00–14:00 UTC from Tuesday on."""
    return [TUESDAY + timedelta(days=n // 15, hours=n % 15) for n in range(count)]


async def _book(
    client: Client, headers: dict[str, str], type_id: uuid.UUID, starts_at: datetime, code: str
) -> Any:
    return await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(type_id),
            "starts_at": starts_at.isoformat(),
            "idempotency_key": f"book-{uuid.uuid4()}",
            "discount_code": code,
        },
        headers=headers,
    )


async def _promo(client: Client, auth: Auth, make_user, **body: Any) -> None:
    admin = await make_user(role=Role.ADMIN)
    response = await client.post("/api/v1/admin/promo-codes", json=body, headers=auth(admin))
    assert response.status_code == 201, response.text


async def test_thirty_buyers_racing_for_a_ten_use_promo_code_make_ten_discounted_bookings(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_user, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(
        price_minor=PRICE, timezone="UTC", hours=weekly("00:00", "23:00", range(7))
    )
    await _promo(
        client, auth, make_user, code="RACE10", kind="percent", percent_bps=1_000, max_uses=10
    )
    buyers = [await make_mentee(funds_minor=500_000) for _ in range(30)]

    offered = await quote(
        client,
        auth(buyers[0]),
        kind="session",
        id=mentor.types["one_on_one"],
        starts_at=TUESDAY.isoformat(),
        discount_code="race10",
    )
    responses = await asyncio.gather(
        *(
            _book(client, auth(buyer), mentor.types["one_on_one"], slot, "race10")
            for buyer, slot in zip(buyers, _slots(30), strict=True)
        )
    )

    assert offered.status_code == 200, offered.text
    shown = offered.json()
    assert (shown["discount_minor"], shown["total_minor"]) == (20_000, 180_000)
    assert (shown["discount"]["kind"], shown["discount"]["percent_bps"]) == ("percent", 1_000)
    booked = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(booked) == 10, [r.text for r in refused if r.status_code != 409]
    assert {r.json()["amount_minor"] for r in booked} == {PRICE - 20_000}
    assert {r.status_code for r in refused} == {409}
    assert {r.json()["errors"][0]["field"] for r in refused} == {"discount_code"}
    assert all("used up" in r.json()["detail"] for r in refused)
    assert await pool.fetchval("SELECT count(*) FROM session_bookings") == 10
    assert await pool.fetchval("SELECT count(*) FROM escrows") == 10
    assert await pool.fetchval("SELECT uses FROM discount_codes WHERE code = 'RACE10'") == 10
    winners = {uuid.UUID(r.json()["mentee_id"]) for r in booked}
    for buyer in buyers:
        expected = 500_000 - (PRICE - 20_000) if buyer.id in winners else 500_000
        assert (await balance(pool, buyer.id))[0] == expected


async def test_one_buyer_booking_six_slots_at_once_gets_the_two_uses_a_member_may(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_user, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(
        price_minor=PRICE, timezone="UTC", hours=weekly("00:00", "23:00", range(7))
    )
    await _promo(
        client,
        auth,
        make_user,
        code="TWICE",
        kind="fixed",
        value_minor=50_000,
        currency="KES",
        max_uses_per_user=2,
    )
    buyer = await make_mentee(funds_minor=2_000_000)

    responses = await asyncio.gather(
        *(
            _book(client, auth(buyer), mentor.types["one_on_one"], slot, "TWICE")
            for slot in _slots(6)
        )
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 201, 409, 409, 409, 409], [r.text for r in responses]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all(p["errors"][0]["field"] == "discount_code" for p in refused)
    assert all("as often as one member may" in p["detail"] for p in refused)
    assert await balance(pool, buyer.id) == (2_000_000 - 2 * (PRICE - 50_000), 2_000_000)
    assert await pool.fetchval("SELECT count(*) FROM session_bookings") == 2
