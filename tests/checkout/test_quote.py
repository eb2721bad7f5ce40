"""`POST /api/v1/checkout/quote`: what a session, a cohort seat or a signal feed would
charge now — price, discount, total, the VAT the invoice will show (in the buyer's
country), the wallet's balance and shortfall, and the refund policy the seller applies —
with nothing held, charged or spent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from dracarys.clock import ManualClock
from dracarys.platform import Platform
from tests.checkout.conftest import buy_discount_code, quote
from tests.curriculum.conftest import build_course
from tests.mentorship.conftest import Client, book
from tests.support import Auth, TestUser, balance

# The suite's clock starts Monday 2026-01-05 09:00 UTC; Nairobi 09:00 is 06:00 UTC.
WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
PRICE = 200_000


async def _profile_country(
    client: Client, auth: Auth, pool: asyncpg.Pool, user: TestUser, country: str
) -> None:
    # Signing up through the API creates the profile row; the fixture user gets it here.
    await pool.execute(
        "INSERT INTO user_profiles (user_id) VALUES ($1) ON CONFLICT DO NOTHING", user.id
    )
    response = await client.patch(
        f"/api/v1/users/{user.id}/profile", json={"country": country}, headers=auth(user)
    )
    assert response.status_code == 200, response.text


async def test_a_session_quote_shows_price_kenyan_vat_balance_shortfall_and_the_policy(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee(funds_minor=150_000)

    response = await quote(
        client,
        auth(mentee),
        kind="session",
        id=mentor.types["one_on_one"],
        starts_at=WEDNESDAY_9_EAT.isoformat(),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["price_minor"], body["discount_minor"], body["total_minor"]) == (PRICE, 0, PRICE)
    assert body["currency"] == "KES"
    # No country on the profile and no verified phone: the home country's 16% VAT, included.
    assert (body["vat_country"], body["vat_rate_bps"]) == ("KE", 1600)
    assert (body["net_minor"], body["vat_minor"]) == (172_414, 27_586)
    assert (body["balance_minor"], body["shortfall_minor"]) == (150_000, 50_000)
    policy = body["refund_policy"]
    assert policy["summary"] == "Free cancellation until 24 h before the start; 50% back after."
    assert any("48 hours after the session ends" in term for term in policy["terms"])
    assert body["title"] == "one_on_one session"
    assert body["discount"] is None


async def test_the_vat_country_is_the_buyers_profile_country(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    await _profile_country(client, auth, pool, mentee, "US")

    body = (
        await quote(
            client,
            auth(mentee),
            kind="session",
            id=mentor.types["one_on_one"],
            starts_at=WEDNESDAY_9_EAT.isoformat(),
        )
    ).json()

    # Not registered for VAT in the US: the invoice will charge none.
    assert (body["vat_country"], body["vat_rate_bps"], body["vat_minor"]) == ("US", 0, 0)
    assert body["net_minor"] == PRICE


async def test_a_discount_code_lowers_the_total_and_the_vat_on_it(
    client: Client, auth: Auth, platform: Platform, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    code = await buy_discount_code(client, platform, auth(mentee), mentee, 500)

    body = (
        await quote(
            client,
            auth(mentee),
            kind="session",
            id=mentor.types["one_on_one"],
            starts_at=WEDNESDAY_9_EAT.isoformat(),
            discount_code=code.lower(),  # typed in any case
        )
    ).json()

    assert (body["price_minor"], body["discount_minor"], body["total_minor"]) == (
        PRICE,
        500,
        199_500,
    )
    assert (body["net_minor"], body["vat_minor"]) == (171_983, 27_517)
    assert body["discount"]["code"] == code
    assert body["discount"]["value_minor"] == 500


async def test_a_quote_holds_nothing_charges_nothing_and_spends_no_code(
    client: Client, auth: Auth, pool: asyncpg.Pool, platform: Platform, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee(funds_minor=500_000)
    rival = await make_mentee(funds_minor=500_000)
    code = await buy_discount_code(client, platform, auth(mentee), mentee, 1_000)

    for _ in range(3):
        response = await quote(
            client,
            auth(mentee),
            kind="session",
            id=mentor.types["one_on_one"],
            starts_at=WEDNESDAY_9_EAT.isoformat(),
            discount_code=code,
        )
        assert response.status_code == 200, response.text

    assert await balance(pool, mentee.id) == (500_000, 500_000)
    assert await pool.fetchval("SELECT count(*) FROM escrows") == 0
    assert await pool.fetchval("SELECT count(*) FROM invoices") == 0
    assert await pool.fetchval("SELECT count(*) FROM session_bookings") == 0
    used = await pool.fetchval("SELECT max(used_at) FROM discount_code_uses WHERE code = $1", code)
    assert used is None
    # The slot quoted is still anyone's: a rival books it, and the quote now says taken.
    taken = await book(client, auth(rival), mentor.types["one_on_one"], WEDNESDAY_9_EAT)
    assert taken.status_code == 201, taken.text
    again = await quote(
        client,
        auth(mentee),
        kind="session",
        id=mentor.types["one_on_one"],
        starts_at=WEDNESDAY_9_EAT.isoformat(),
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "starts_at"


async def test_refusals_name_their_field(
    client: Client, auth: Auth, platform: Platform, make_mentor, make_mentee, make_user
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    stranger = await make_mentee()
    theirs = await buy_discount_code(client, platform, auth(stranger), stranger, 300)
    session = {"kind": "session", "id": mentor.types["one_on_one"]}

    cases = {
        "no time": await quote(client, auth(mentee), **session),
        "not offered": await quote(
            client, auth(mentee), **session, starts_at="2026-01-07T02:00:00+00:00"
        ),
        "someone else's code": await quote(
            client,
            auth(mentee),
            **session,
            starts_at=WEDNESDAY_9_EAT.isoformat(),
            discount_code=theirs,
        ),
        "no such code": await quote(
            client,
            auth(mentee),
            **session,
            starts_at=WEDNESDAY_9_EAT.isoformat(),
            discount_code="PTS-NOTACODE",
        ),
        "no such session type": await quote(
            client,
            auth(mentee),
            kind="session",
            id=mentor.id,
            starts_at=WEDNESDAY_9_EAT.isoformat(),
        ),
        "unknown kind": await quote(client, auth(mentee), kind="course", id=mentor.id),
    }

    fields = {name: (r.status_code, r.json()["errors"][0]["field"]) for name, r in cases.items()}
    assert fields == {
        "no time": (422, "starts_at"),
        "not offered": (422, "starts_at"),
        "someone else's code": (422, "discount_code"),
        "no such code": (422, "discount_code"),
        "no such session type": (404, "id"),
        "unknown kind": (422, "kind"),
    }
    assert "not one of your discount codes" in cases["someone else's code"].json()["detail"]
    anonymous = await client.post(
        "/api/v1/checkout/quote", json={"kind": "cohort", "id": str(mentor.id)}
    )
    assert anonymous.status_code == 401


async def test_an_expired_or_used_code_is_refused_by_the_quote(
    client: Client,
    auth: Auth,
    clock: ManualClock,
    platform: Platform,
    make_mentor,
    make_mentee,
) -> None:
    mentor = await make_mentor(price_minor=PRICE)
    mentee = await make_mentee()
    spent = await buy_discount_code(client, platform, auth(mentee), mentee, 200)
    booked = await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(mentor.types["one_on_one"]),
            "starts_at": WEDNESDAY_9_EAT.isoformat(),
            "idempotency_key": "book-with-code-1",
            "discount_code": spent,
        },
        headers=auth(mentee),
    )
    assert booked.status_code == 201, booked.text
    stale = await buy_discount_code(client, platform, auth(mentee), mentee, 200)
    clock.advance(timedelta(days=91))
    later = clock.now().replace(hour=6, minute=0) + timedelta(days=1)
    while later.weekday() >= 5:
        later += timedelta(days=1)

    used = await quote(
        client,
        auth(mentee),
        kind="session",
        id=mentor.types["one_on_one"],
        starts_at=later.isoformat(),
        discount_code=spent,
    )
    expired = await quote(
        client,
        auth(mentee),
        kind="session",
        id=mentor.types["one_on_one"],
        starts_at=later.isoformat(),
        discount_code=stale,
    )

    assert used.status_code == 409, used.text
    assert used.json()["errors"][0]["field"] == "discount_code"
    assert "already used" in used.json()["detail"]
    assert expired.status_code == 422, expired.text
    assert expired.json()["errors"][0]["field"] == "discount_code"
    assert "expired on" in expired.json()["detail"]


async def test_a_cohort_quote_shows_the_enrolment_policy_and_a_full_cohort_is_refused(
    client: Client, auth: Auth, platform: Platform, make_user, make_mentee
) -> None:
    from dracarys.identity import Role

    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    course = await build_course(client, auth, mentor, price_minor=50_000, capacity=1)
    first = await make_mentee()
    second = await make_mentee(funds_minor=0)
    code = await buy_discount_code(client, platform, auth(second), second, 5_000)

    offered = await quote(client, auth(second), kind="cohort", id=course.cohort, discount_code=code)
    joined = await client.post(
        f"/api/v1/cohorts/{course.cohort}/join",
        json={},
        headers={**auth(first), "Idempotency-Key": "join-first-1"},
    )
    full = await quote(client, auth(second), kind="cohort", id=course.cohort)

    assert offered.status_code == 200, offered.text
    body = offered.json()
    assert (body["price_minor"], body["discount_minor"], body["total_minor"]) == (
        50_000,
        5_000,
        45_000,
    )
    assert (body["vat_minor"], body["balance_minor"], body["shortfall_minor"]) == (6_207, 0, 45_000)
    assert body["title"] == "Options foundations"
    assert body["refund_policy"]["summary"].startswith("Leave before the cohort starts")
    assert joined.status_code == 201, joined.text
    assert full.status_code == 409
    assert full.json()["errors"][0]["field"] == "id"


async def test_a_quote_says_what_the_buyers_points_are_worth_in_the_points_currency_only(
    client: Client, auth: Auth, platform: Platform, make_user, make_mentor, make_mentee
) -> None:
    from dracarys.identity import Role
    from tests.checkout.conftest import give_points

    mentor = await make_mentor(price_minor=PRICE)
    dollars = await make_user(role=Role.MENTOR, kyc_level=2)
    plan = await client.put(
        "/api/v1/trading/feed-plan",
        json={"monthly_price_minor": 2_000, "currency": "USD"},
        headers=auth(dollars),
    )
    assert plan.status_code == 200, plan.text
    mentee = await make_mentee()
    ack = await client.post(
        "/api/v1/trading/disclaimer/acknowledgements", json={"version": 1}, headers=auth(mentee)
    )
    assert ack.status_code == 201, ack.text
    session = {
        "kind": "session",
        "id": mentor.types["one_on_one"],
        "starts_at": WEDNESDAY_9_EAT.isoformat(),
    }

    without = (await quote(client, auth(mentee), **session)).json()
    await give_points(platform, mentee.id, 1_234)
    with_points = (await quote(client, auth(mentee), **session)).json()
    in_usd = (await quote(client, auth(mentee), kind="signal_feed", id=dollars.id)).json()

    assert without["points"] is None
    assert with_points["points"] == {
        "balance": 1_234,
        "minor_per_point": 1,
        "currency": "KES",
        "worth_minor": 1_234,
    }
    assert in_usd["currency"] == "USD"
    assert in_usd["points"] is None
