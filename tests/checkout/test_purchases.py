"""Purchases that take a discount code bought with points: a booking, an enrolment and a
feed subscription spend it in the same transaction as the charge — once, by its owner,
before it expires — and pay the rest into escrow, invoiced with VAT on what was paid.
A refused code leaves nothing behind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from dracarys.identity import Role
from dracarys.platform import Platform
from tests.checkout.conftest import buy_discount_code
from tests.curriculum.conftest import build_course
from tests.mentorship.conftest import Client
from tests.support import Auth, TestUser, balance

WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
WEDNESDAY_10_EAT = datetime(2026, 1, 7, 7, 0, tzinfo=UTC)
PRICE = 200_000


async def _book(
    client: Client,
    headers: dict[str, str],
    type_id: uuid.UUID,
    starts_at: datetime,
    code: str | None,
) -> Any:
    body: dict[str, Any] = {
        "session_type_id": str(type_id),
        "starts_at": starts_at.isoformat(),
        "idempotency_key": f"book-{uuid.uuid4()}",
    }
    if code is not None:
        body["discount_code"] = code
    return await client.post("/api/v1/sessions/book", json=body, headers=headers)


async def _code_use(pool: asyncpg.Pool, code: str) -> asyncpg.Record:
    """The one use of a one-use code (all None while it is unspent)."""
    row: asyncpg.Record = await pool.fetchrow(
        """SELECT u.used_at AS discount_used_at, u.used_for AS discount_used_for,
                  u.applied_minor AS discount_applied_minor
           FROM discount_codes c LEFT JOIN discount_code_uses u ON u.code = c.code
           WHERE c.code = $1""",
        code,
    )
    return row


async def test_a_booking_with_a_code_pays_the_rest_into_escrow_and_spends_the_code(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee(funds_minor=500_000)
    code = await buy_discount_code(client, platform, auth(mentee), mentee, 500)

    response = await _book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT, code)

    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["amount_minor"] == 199_500
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", booking["escrow_id"])
    assert escrow["amount_minor"] == 199_500
    invoice = await pool.fetchrow(
        "SELECT gross_minor, vat_minor FROM invoices WHERE charge_id = $1", escrow["id"]
    )
    assert (invoice["gross_minor"], invoice["vat_minor"]) == (199_500, 27_517)
    assert await balance(pool, mentee.id) == (300_500, 500_000)
    use = await _code_use(pool, code)
    assert use["discount_used_for"] == f"booking:{booking['id']}"
    assert use["discount_applied_minor"] == 500
    [paid] = await pool.fetch("SELECT payload FROM outbox WHERE topic = 'session.paid'")
    assert paid["payload"]["amount_minor"] == 199_500  # points are earned on what was paid

    again = await _book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_10_EAT, code)
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "discount_code"


async def test_two_concurrent_purchases_with_one_code_one_spends_it_the_other_is_refused(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_mentor, make_mentee
) -> None:
    for _ in range(5):  # the race, run over fresh mentors, mentees and codes
        mentor = await make_mentor(price_minor=PRICE)
        mentee = await make_mentee(funds_minor=1_000_000)
        code = await buy_discount_code(client, platform, auth(mentee), mentee, 2_000)
        headers = auth(mentee)

        responses = await asyncio.gather(
            _book(client, headers, mentor.types["one_on_one"], WEDNESDAY_9_EAT, code),
            _book(client, headers, mentor.types["group"], WEDNESDAY_10_EAT, code),
        )

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409).json()
        assert loser["errors"][0]["field"] == "discount_code"
        assert "already used" in loser["detail"]
        winner = next(r for r in responses if r.status_code == 201).json()
        assert winner["amount_minor"] == PRICE - 2_000
        # One booking, one escrow, one debit: the loser's transaction left nothing behind.
        assert (
            await pool.fetchval(
                """SELECT count(*) FROM session_bookings b
                   JOIN mentor_sessions s ON s.id = b.session_id WHERE s.mentor_id = $1""",
                mentor.id,
            )
            == 1
        )
        assert (
            await pool.fetchval("SELECT count(*) FROM escrows WHERE payer_id = $1", mentee.id) == 1
        )
        assert await balance(pool, mentee.id) == (1_000_000 - PRICE + 2_000, 1_000_000)
        assert (await _code_use(pool, code))["discount_used_for"] == f"booking:{winner['id']}"


async def test_a_refused_code_leaves_the_slot_the_wallet_and_the_code_as_they_were(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee(funds_minor=500_000)
    other = await make_mentee(funds_minor=0)
    theirs = await buy_discount_code(client, platform, auth(other), other, 300)

    foreign = await _book(client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT, theirs)
    unknown = await _book(
        client, auth(mentee), mentor.types["one_on_one"], WEDNESDAY_9_EAT, "PTS-0000000000"
    )

    for response in (foreign, unknown):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "discount_code"
    assert await pool.fetchval("SELECT count(*) FROM session_bookings") == 0
    assert await pool.fetchval("SELECT count(*) FROM mentor_sessions") == 0
    assert await balance(pool, mentee.id) == (500_000, 500_000)
    assert (await _code_use(pool, theirs))["discount_used_at"] is None
    # The owner still spends it.
    owned = await _book(client, auth(other), mentor.types["one_on_one"], WEDNESDAY_9_EAT, theirs)
    assert owned.status_code == 409  # an empty wallet cannot pay the rest…
    assert owned.json()["type"].endswith("insufficient-funds")
    assert (await _code_use(pool, theirs))["discount_used_at"] is None  # …so the code is unspent


async def test_an_enrolment_with_a_code_pays_the_rest_into_escrow(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_user, make_mentee
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    course = await build_course(client, auth, mentor, price_minor=50_000)
    learner = await make_mentee(funds_minor=100_000)
    code = await buy_discount_code(client, platform, auth(learner), learner, 5_000)

    joined = await client.post(
        f"/api/v1/cohorts/{course.cohort}/join",
        json={"discount_code": code},
        headers={**auth(learner), "Idempotency-Key": "enrol-with-code-1"},
    )

    assert joined.status_code == 201, joined.text
    enrolment = joined.json()
    assert enrolment["amount_minor"] == 45_000
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", enrolment["escrow_id"])
    assert escrow["amount_minor"] == 45_000
    assert await balance(pool, learner.id) == (55_000, 100_000)
    use = await _code_use(pool, code)
    assert use["discount_used_for"] == f"enrolment:{course.cohort}:{learner.id}"
    # Leaving before the start refunds what was paid (the code stays spent).
    left = await client.post(f"/api/v1/cohorts/{course.cohort}/leave", headers=auth(learner))
    assert left.json()["refunded_minor"] == 45_000
    assert await balance(pool, learner.id) == (100_000, 100_000)


async def _paid_feed(
    client: Client, auth: Auth, mentor: TestUser, price_minor: int, currency: str
) -> None:
    plan = await client.put(
        "/api/v1/trading/feed-plan",
        json={"monthly_price_minor": price_minor, "currency": currency},
        headers=auth(mentor),
    )
    assert plan.status_code == 200, plan.text


async def _acknowledge(client: Client, auth: Auth, user: TestUser) -> None:
    response = await client.post(
        "/api/v1/trading/disclaimer/acknowledgements", json={"version": 1}, headers=auth(user)
    )
    assert response.status_code == 201, response.text


async def _subscribe(
    client: Client, auth: Auth, user: TestUser, mentor: TestUser, **body: Any
) -> Any:
    return await client.post(
        f"/api/v1/trading/mentors/{mentor.id}/subscriptions",
        json=body,
        headers={**auth(user), "Idempotency-Key": f"sub-{uuid.uuid4()}"},
    )


async def test_a_feed_subscription_with_a_code_pays_less_for_the_first_period_only(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_user, make_mentee
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    await _paid_feed(client, auth, mentor, 2_000, "KES")
    subscriber = await make_mentee(funds_minor=10_000)
    await _acknowledge(client, auth, subscriber)
    code = await buy_discount_code(client, platform, auth(subscriber), subscriber, 500)

    quoted = await client.post(
        "/api/v1/checkout/quote",
        json={"kind": "signal_feed", "id": str(mentor.id), "discount_code": code},
        headers=auth(subscriber),
    )
    response = await _subscribe(client, auth, subscriber, mentor, discount_code=code)

    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()
    assert (quote["price_minor"], quote["discount_minor"], quote["total_minor"]) == (
        2_000,
        500,
        1_500,
    )
    assert quote["vat_minor"] == 207
    assert quote["refund_policy"]["summary"].startswith("Cancel any time")
    assert response.status_code == 201, response.text
    subscription = response.json()
    assert subscription["monthly_price_minor"] == 2_000  # renewals charge the full price
    assert subscription["billing_status"] == "paid"
    escrow = await pool.fetchval(
        "SELECT amount_minor FROM escrows WHERE payer_id = $1", subscriber.id
    )
    assert escrow == 1_500
    assert await balance(pool, subscriber.id) == (8_500, 10_000)
    [started] = await pool.fetch("SELECT payload FROM outbox WHERE topic = 'subscription.started'")
    assert started["payload"]["amount_minor"] == 1_500


async def test_a_code_worth_the_whole_price_pays_it_all_and_holds_no_escrow(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_user, make_mentee
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    await _paid_feed(client, auth, mentor, 2_000, "KES")
    subscriber = await make_mentee(funds_minor=0)
    await _acknowledge(client, auth, subscriber)
    code = await buy_discount_code(client, platform, auth(subscriber), subscriber, 5_000)

    quoted = (
        await client.post(
            "/api/v1/checkout/quote",
            json={"kind": "signal_feed", "id": str(mentor.id), "discount_code": code},
            headers=auth(subscriber),
        )
    ).json()
    response = await _subscribe(client, auth, subscriber, mentor, discount_code=code)

    assert (quoted["discount_minor"], quoted["total_minor"], quoted["shortfall_minor"]) == (
        2_000,
        0,
        0,
    )
    assert response.status_code == 201, response.text
    assert response.json()["billing_status"] == "paid"
    assert response.json()["paid_until"] is not None
    assert await pool.fetchval("SELECT count(*) FROM escrows") == 0
    assert (await _code_use(pool, code))["discount_applied_minor"] == 2_000


async def test_a_code_in_another_currency_or_on_a_free_feed_is_refused(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_user, make_mentee
) -> None:
    dollars = await make_user(role=Role.MENTOR, kyc_level=2)
    free = await make_user(role=Role.MENTOR, kyc_level=2)
    await _paid_feed(client, auth, dollars, 2_000, "USD")
    subscriber = await make_mentee(funds_minor=0)
    await _acknowledge(client, auth, subscriber)
    code = await buy_discount_code(client, platform, auth(subscriber), subscriber, 500)

    in_usd = await _subscribe(client, auth, subscriber, dollars, discount_code=code)
    on_free = await _subscribe(client, auth, subscriber, free, discount_code=code)

    assert in_usd.status_code == 422, in_usd.text
    assert in_usd.json()["errors"][0]["field"] == "discount_code"
    assert "pays KES prices" in in_usd.json()["detail"]
    assert on_free.status_code == 422, on_free.text
    assert on_free.json()["errors"][0]["field"] == "discount_code"
    assert await pool.fetchval("SELECT count(*) FROM signal_subscriptions") == 0
    assert (await _code_use(pool, code))["discount_used_at"] is None
