"""Mentor credit bought with points pays for mentor sessions only: once its hold ends the
wallet issues it (through the worker, once) as a code that a session booking spends and
that a cohort or a signal feed refuses by its field; the wallet's spendable balance does
not grow, so it can be neither withdrawn nor spent on anything else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.points.redemption import service as redemption
from tests.checkout.conftest import give_points, quote
from tests.curriculum.conftest import build_course
from tests.mentorship.conftest import Client
from tests.support import Auth, balance, fund_wallet
from workers.runtime import Worker

# The suite's clock starts Monday 2026-01-05 09:00 UTC; the credit's hold ends 30 days on.
PRICE = 200_000


async def test_mentor_credit_becomes_a_code_that_pays_for_sessions_only(
    client: Client,
    auth: Auth,
    platform: Platform,
    clock: ManualClock,
    make_user,
    make_mentor,
    make_mentee,
) -> None:
    member = await make_mentee(funds_minor=0)
    await platform.pool.execute("UPDATE users SET kyc_level = 2 WHERE id = $1", member.id)
    await give_points(platform, member.id, 50_000)
    redeemed = await client.post(
        "/api/v1/wallet/convert-points",
        json={"points": 50_000, "target": "mentor_credit"},
        headers={**auth(member), "Idempotency-Key": "mentor-credit-1"},
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["status"] == "held"
    clock.advance(timedelta(days=30, seconds=1))
    assert await redemption.release_held_redemptions(platform) == 1

    worker = Worker(platform)
    await worker.start()
    try:
        async with asyncio.timeout(20):
            while await platform.pool.fetchval("SELECT status FROM points_wallet_credits") != (
                "landed"
            ):
                await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    # No spendable money: a code instead, for sessions only.
    assert (await balance(platform.pool, member.id, "KES"))[0] == 0
    [code] = (await client.get("/api/v1/wallet/discount-codes", headers=auth(member))).json()
    assert code["code"].startswith("SES-")
    assert (code["value_minor"], code["pays_for"], code["status"]) == (50_000, "sessions", "usable")
    [listed] = (await client.get("/api/v1/points/redemptions", headers=auth(member))).json()
    assert listed["discount_code"] == code["code"]

    mentor_user = await make_user(role=Role.MENTOR, kyc_level=2)
    course = await build_course(client, auth, mentor_user, price_minor=60_000)
    cohort = await quote(
        client, auth(member), kind="cohort", id=course.cohort, discount_code=code["code"]
    )
    assert cohort.status_code == 422
    assert cohort.json()["errors"][0] == {
        "field": "discount_code",
        "message": f"{code['code']} is mentor credit: it pays for sessions with a mentor only",
    }
    joined = await client.post(
        f"/api/v1/cohorts/{course.cohort}/join",
        json={"discount_code": code["code"]},
        headers={**auth(member), "Idempotency-Key": "join-with-credit"},
    )
    assert joined.status_code == 422
    assert joined.json()["errors"][0]["field"] == "discount_code"

    mentor = await make_mentor(price_minor=PRICE)
    starts = datetime(2026, 2, 11, 6, 0, tzinfo=UTC)  # a Wednesday, 09:00 in Nairobi
    session = await quote(
        client,
        auth(member),
        kind="session",
        id=mentor.types["one_on_one"],
        starts_at=starts.isoformat(),
        discount_code=code["code"],
    )
    assert session.status_code == 200, session.text
    assert (session.json()["discount_minor"], session.json()["total_minor"]) == (
        50_000,
        PRICE - 50_000,
    )
    await fund_wallet(platform.pool, member.id, "KES", PRICE - 50_000, clock.now())
    booked = await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(mentor.types["one_on_one"]),
            "starts_at": starts.isoformat(),
            "idempotency_key": "book-with-credit",
            "discount_code": code["code"],
        },
        headers=auth(member),
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["amount_minor"] == PRICE - 50_000
    [spent] = (await client.get("/api/v1/wallet/discount-codes", headers=auth(member))).json()
    assert spent["status"] == "used"
