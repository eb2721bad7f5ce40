"""Mentorship packages: N sessions at one price, paid once with each session's share in its
own escrow; booking from the package, release per session held, cancellation under the
session policy (in time: back to the package), closing and expiry refunding what is
unused; the last session taken exactly once under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.mentorship import expire_packages
from dracarys.mentorship.packages.service import split_price
from dracarys.platform import Platform
from dracarys.wallet.ledger import service as ledger
from tests.mentorship.conftest import Client, Mentor
from tests.support import Auth, TestUser, balance, events_of

# The suite's clock starts Monday 2026-01-05 09:00 UTC; Nairobi 09:00 is 06:00 UTC.
WEDNESDAY_9_EAT = datetime(2026, 1, 7, 6, 0, tzinfo=UTC)
SINGLE = 200_000
PACKAGE_PRICE = 500_000  # three sessions: 166,667 + 166,667 + 166,666
FUNDS = 1_000_000


async def _offer(client: Client, auth: Auth, mentor: Mentor, **fields: Any) -> dict[str, Any]:
    body = {
        "session_type_id": str(mentor.types["one_on_one"]),
        "title": "Three options sessions",
        "sessions": 3,
        "price_minor": PACKAGE_PRICE,
        "valid_days": 30,
        **fields,
    }
    response = await client.post("/api/v1/mentor/packages", json=body, headers=auth(mentor.user))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _buy(
    client: Client, auth: Auth, mentee: TestUser, package_id: str, key: str | None = None
) -> Any:
    return await client.post(
        f"/api/v1/packages/{package_id}/purchase",
        json={"idempotency_key": key or f"buy-{uuid.uuid4()}"},
        headers=auth(mentee),
    )


async def _book_from(
    client: Client,
    auth: Auth,
    mentee: TestUser,
    type_id: uuid.UUID,
    purchase_id: str,
    starts_at: datetime,
) -> Any:
    return await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(type_id),
            "starts_at": starts_at.isoformat(),
            "package_purchase_id": purchase_id,
            "idempotency_key": f"book-{uuid.uuid4()}",
        },
        headers=auth(mentee),
    )


async def _bought(
    client: Client, auth: Auth, make_mentor: Any, make_mentee: Any
) -> tuple[Mentor, TestUser, dict[str, Any]]:
    mentor = await make_mentor(price_minor=SINGLE)
    mentee = await make_mentee(funds_minor=FUNDS)
    offer = await _offer(client, auth, mentor)
    response = await _buy(client, auth, mentee, offer["id"])
    assert response.status_code == 201, response.text
    return mentor, mentee, response.json()


async def _ledger_sound(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert (await ledger.check_ledger(conn)).problems == []


def test_shares_add_up_to_what_was_paid() -> None:
    assert split_price(500_000, 3) == [166_667, 166_667, 166_666]
    assert split_price(2, 3) == [1, 1, 0]
    for paid, sessions in ((1, 2), (999_999, 7), (0, 4), (10, 10)):
        shares = split_price(paid, sessions)
        assert sum(shares) == paid
        assert len(shares) == sessions
        assert max(shares) - min(shares) <= 1


async def test_a_mentor_offers_a_package_only_of_their_own_session_type(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor, other = await make_mentor(), await make_mentor()
    mentee = await make_mentee()
    body = {
        "session_type_id": str(mentor.types["one_on_one"]),
        "title": "Three sessions",
        "sessions": 3,
        "price_minor": PACKAGE_PRICE,
    }

    by_mentee = await client.post("/api/v1/mentor/packages", json=body, headers=auth(mentee))
    foreign = await client.post("/api/v1/mentor/packages", json=body, headers=auth(other.user))
    one_session = await client.post(
        "/api/v1/mentor/packages", json={**body, "sessions": 1}, headers=auth(mentor.user)
    )
    offer = await _offer(client, auth, mentor)
    listed = await client.get(f"/api/v1/mentors/{mentor.id}/packages")

    assert by_mentee.status_code == 403
    assert foreign.status_code == 404
    assert foreign.json()["errors"][0]["field"] == "session_type_id"
    assert one_session.status_code == 422
    assert one_session.json()["errors"][0]["field"] == "sessions"
    assert offer["currency"] == "KES"
    assert offer["single_price_minor"] == 3 * 200_000
    assert [p["id"] for p in listed.json()] == [offer["id"]]

    withdrawn = await client.put(
        f"/api/v1/mentor/packages/{offer['id']}/active",
        json={"active": False},
        headers=auth(mentor.user),
    )
    assert withdrawn.status_code == 200
    assert (await client.get(f"/api/v1/mentors/{mentor.id}/packages")).json() == []
    own = await client.get("/api/v1/mentor/packages", headers=auth(mentor.user))
    assert [p["active"] for p in own.json()] == [False]
    assert (await _buy(client, auth, mentee, offer["id"])).status_code == 404


async def test_buying_holds_each_sessions_share_in_its_own_escrow_once_per_key(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=SINGLE)
    mentee = await make_mentee(funds_minor=FUNDS)
    offer = await _offer(client, auth, mentor)

    first = await _buy(client, auth, mentee, offer["id"], key="package-key-1")
    again = await _buy(client, auth, mentee, offer["id"], key="package-key-1")
    own = await _buy(client, auth, mentor.user, offer["id"])

    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert own.status_code == 422
    purchase = first.json()
    assert purchase["remaining"] == 3
    assert purchase["unused_minor"] == PACKAGE_PRICE
    assert [c["amount_minor"] for c in purchase["credits"]] == [166_667, 166_667, 166_666]
    escrows = await pool.fetch(
        "SELECT amount_minor, status FROM escrows WHERE reference = $1 ORDER BY amount_minor",
        f"package:{purchase['id']}",
    )
    assert [(e["amount_minor"], e["status"]) for e in escrows] == [
        (166_666, "held"),
        (166_667, "held"),
        (166_667, "held"),
    ]
    assert await balance(pool, mentee.id) == (FUNDS - PACKAGE_PRICE, FUNDS)
    assert await events_of(pool, "package.purchased") == [
        {
            "purchase_id": purchase["id"],
            "package_id": offer["id"],
            "mentee_id": str(mentee.id),
            "mentor_id": str(mentor.id),
            "sessions": 3,
            "amount_minor": PACKAGE_PRICE,
            "currency": "KES",
        }
    ]
    await _ledger_sound(pool)


async def test_a_package_that_cannot_be_paid_leaves_nothing_behind(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=SINGLE)
    broke = await make_mentee(funds_minor=PACKAGE_PRICE - 1)
    offer = await _offer(client, auth, mentor)

    refused = await _buy(client, auth, broke, offer["id"])

    assert refused.status_code == 409
    assert refused.json()["type"].endswith("insufficient-funds")
    assert await pool.fetchval("SELECT count(*) FROM package_purchases") == 0
    assert await pool.fetchval("SELECT count(*) FROM escrows") == 0
    assert await balance(pool, broke.id) == (PACKAGE_PRICE - 1, PACKAGE_PRICE - 1)


async def test_two_sessions_booked_from_the_package_and_one_held_releases_only_its_share(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor, mentee, purchase = await _bought(client, auth, make_mentor, make_mentee)
    type_id = mentor.types["one_on_one"]

    first = await _book_from(client, auth, mentee, type_id, purchase["id"], WEDNESDAY_9_EAT)
    second = await _book_from(
        client, auth, mentee, type_id, purchase["id"], WEDNESDAY_9_EAT + timedelta(days=1)
    )
    wrong_type = await _book_from(
        client,
        auth,
        mentee,
        mentor.types["group"],
        purchase["id"],
        WEDNESDAY_9_EAT + timedelta(days=2),
    )
    with_code = await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(type_id),
            "starts_at": (WEDNESDAY_9_EAT + timedelta(days=2)).isoformat(),
            "package_purchase_id": purchase["id"],
            "discount_code": "PTS-ANYTHING",
            "idempotency_key": "book-with-a-code",
        },
        headers=auth(mentee),
    )

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["field"] == "package_purchase_id"
    assert with_code.status_code == 422
    assert with_code.json()["errors"][0]["field"] == "discount_code"
    booking = first.json()
    assert booking["amount_minor"] == 166_667
    assert booking["package_purchase_id"] == purchase["id"]
    # No second payment: the wallet paid once, for the package.
    assert await balance(pool, mentee.id) == (FUNDS - PACKAGE_PRICE, FUNDS)
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", booking["escrow_id"])
    # Released 48 h after the session it pays for, as a single booking's is.
    assert escrow["auto_release_at"] == WEDNESDAY_9_EAT + timedelta(hours=1 + 48)
    paid = await events_of(pool, "session.paid")
    assert [p["amount_minor"] for p in paid] == [166_667, 166_667]
    now = await client.get(f"/api/v1/package-purchases/{purchase['id']}", headers=auth(mentee))
    assert now.json()["remaining"] == 1
    assert [c["status"] for c in now.json()["credits"]] == ["booked", "booked", "available"]

    clock.set(WEDNESDAY_9_EAT + timedelta(hours=1))
    completed = await client.post(
        f"/api/v1/sessions/{booking['session']['id']}/complete", headers=auth(mentor.user)
    )
    assert completed.status_code == 200, completed.text
    statuses = await pool.fetch(
        "SELECT amount_minor, status, released_minor FROM escrows WHERE reference = $1",
        f"package:{purchase['id']}",
    )
    assert sorted((e["status"], e["released_minor"]) for e in statuses) == [
        ("held", 0),
        ("held", 0),
        ("released", 166_667),
    ]
    assert (await balance(pool, mentee.id))[1] == FUNDS - 166_667
    await _ledger_sound(pool)


async def test_cancelling_in_time_puts_the_session_back_and_late_follows_the_policy(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    platform: Platform,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor, mentee, purchase = await _bought(client, auth, make_mentor, make_mentee)
    type_id = mentor.types["one_on_one"]
    early = (
        await _book_from(client, auth, mentee, type_id, purchase["id"], WEDNESDAY_9_EAT)
    ).json()
    late = (
        await _book_from(
            client, auth, mentee, type_id, purchase["id"], WEDNESDAY_9_EAT + timedelta(days=1)
        )
    ).json()

    quote = await client.get(f"/api/v1/bookings/{early['id']}/cancellation", headers=auth(mentee))
    assert quote.json()["returns_to_package"] is True
    assert quote.json()["refund_minor"] == 0
    assert "package" in quote.json()["policy"]
    cancelled = await client.post(
        f"/api/v1/bookings/{early['id']}/cancel",
        json={"expected_refund_minor": 0},
        headers=auth(mentee),
    )
    assert cancelled.status_code == 200, cancelled.text
    back = await client.get(f"/api/v1/package-purchases/{purchase['id']}", headers=auth(mentee))
    assert back.json()["remaining"] == 2
    escrow = await pool.fetchrow("SELECT * FROM escrows WHERE id = $1", early["escrow_id"])
    assert escrow["status"] == "held"
    assert escrow["auto_release_at"] > WEDNESDAY_9_EAT + timedelta(days=300)
    # The session's payment was undone (to the package): points tied to it are voided.
    refunded = await events_of(pool, "session.refunded")
    assert [r["amount_minor"] for r in refunded] == [166_667]

    # Three hours before the second: late, so the policy's part of its share comes back.
    clock.set(WEDNESDAY_9_EAT + timedelta(days=1, hours=-3))
    late_quote = await client.get(
        f"/api/v1/bookings/{late['id']}/cancellation", headers=auth(mentee)
    )
    part = 166_667 * platform.settings.mentorship_late_refund_bps // 10_000
    assert late_quote.json()["returns_to_package"] is False
    assert late_quote.json()["refund_minor"] == part
    gone = await client.post(
        f"/api/v1/bookings/{late['id']}/cancel",
        json={"expected_refund_minor": part},
        headers=auth(mentee),
    )
    assert gone.status_code == 200, gone.text
    assert gone.json()["refunded_minor"] == part
    after = (
        await client.get(f"/api/v1/package-purchases/{purchase['id']}", headers=auth(mentee))
    ).json()
    assert after["remaining"] == 2
    assert sorted(c["status"] for c in after["credits"]) == ["available", "available", "spent"]
    assert await balance(pool, mentee.id) == (FUNDS - PACKAGE_PRICE + part, FUNDS - 166_667 + part)
    await _ledger_sound(pool)


async def test_a_mentor_cancelling_puts_the_session_back_in_the_package(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor, mentee, purchase = await _bought(client, auth, make_mentor, make_mentee)
    booking = (
        await _book_from(
            client, auth, mentee, mentor.types["one_on_one"], purchase["id"], WEDNESDAY_9_EAT
        )
    ).json()

    called_off = await client.post(
        f"/api/v1/sessions/{booking['session']['id']}/cancel", json={}, headers=auth(mentor.user)
    )

    assert called_off.status_code == 200, called_off.text
    after = (
        await client.get(f"/api/v1/package-purchases/{purchase['id']}", headers=auth(mentee))
    ).json()
    assert after["remaining"] == 3
    assert await balance(pool, mentee.id) == (FUNDS - PACKAGE_PRICE, FUNDS)


async def test_closing_refunds_unbooked_sessions_in_full_and_keeps_booked_ones(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor, mentee, purchase = await _bought(client, auth, make_mentor, make_mentee)
    type_id = mentor.types["one_on_one"]
    booking = (
        await _book_from(client, auth, mentee, type_id, purchase["id"], WEDNESDAY_9_EAT)
    ).json()
    url = f"/api/v1/package-purchases/{purchase['id']}/close"

    stranger = await client.post(url, json={}, headers=auth(await make_mentee()))
    stale = await client.post(
        url, json={"expected_refund_minor": PACKAGE_PRICE}, headers=auth(mentee)
    )
    closed = await client.post(url, json={"expected_refund_minor": 333_333}, headers=auth(mentee))
    again = await client.post(url, json={}, headers=auth(mentee))
    after_close = await _book_from(
        client, auth, mentee, type_id, purchase["id"], WEDNESDAY_9_EAT + timedelta(days=1)
    )

    assert stranger.status_code == 404
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["field"] == "expected_refund_minor"
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["refunded_minor"] == 333_333
    assert again.json()["refunded_minor"] == 333_333  # closing twice refunds once
    assert after_close.status_code == 409
    # The booked session's share stays reserved (pending) until that session is held.
    assert await balance(pool, mentee.id) == (FUNDS - 166_667, FUNDS)
    held = await pool.fetchval(
        "SELECT status FROM escrows WHERE id = $1", uuid.UUID(booking["escrow_id"])
    )
    assert held == "held"  # the booked session still pays its mentor once held
    assert await events_of(pool, "package.closed") == [
        {
            "purchase_id": purchase["id"],
            "mentee_id": str(mentee.id),
            "mentor_id": str(mentor.id),
            "reason": "closed",
            "unused": 2,
            "refunded_minor": 333_333,
            "currency": "KES",
        }
    ]
    await _ledger_sound(pool)


async def test_the_expiry_job_refunds_what_was_never_booked(
    client: Client,
    auth: Auth,
    pool: asyncpg.Pool,
    platform: Platform,
    make_mentor,
    make_mentee,
    clock: ManualClock,
) -> None:
    mentor, mentee, purchase = await _bought(client, auth, make_mentor, make_mentee)
    await _book_from(
        client, auth, mentee, mentor.types["one_on_one"], purchase["id"], WEDNESDAY_9_EAT
    )

    assert await expire_packages(platform) == 0  # still inside its 30 days
    clock.set(datetime.fromisoformat(purchase["expires_at"]) + timedelta(minutes=1))
    assert await expire_packages(platform) == 1
    assert await expire_packages(platform) == 0

    after = (
        await client.get(f"/api/v1/package-purchases/{purchase['id']}", headers=auth(mentee))
    ).json()
    assert after["status"] == "closed"
    assert sorted(c["status"] for c in after["credits"]) == ["booked", "refunded", "refunded"]
    assert [e["reason"] for e in await events_of(pool, "package.closed")] == ["expired"]
    assert (await balance(pool, mentee.id))[0] == FUNDS - 166_667
    await _ledger_sound(pool)


async def test_the_last_session_of_a_package_is_taken_exactly_once(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor, mentee, purchase = await _bought(client, auth, make_mentor, make_mentee)
    type_id = mentor.types["one_on_one"]
    # Eight different free slots, three sessions: exactly three bookings win.
    starts = [WEDNESDAY_9_EAT + timedelta(days=d // 3, hours=d % 3) for d in range(8)]

    responses = await asyncio.gather(
        *(_book_from(client, auth, mentee, type_id, purchase["id"], s) for s in starts)
    )

    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 5
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.json()["errors"][0]["field"] == "package_purchase_id"
    assert await pool.fetchval("SELECT count(*) FROM session_bookings") == 3
    assert await pool.fetchval("SELECT count(*) FROM mentor_sessions") == 3
    assert await balance(pool, mentee.id) == (FUNDS - PACKAGE_PRICE, FUNDS)


async def test_rescheduling_moves_the_escrow_release_with_the_session(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=SINGLE)
    mentee = await make_mentee()
    booked = await client.post(
        "/api/v1/sessions/book",
        json={
            "session_type_id": str(mentor.types["one_on_one"]),
            "starts_at": WEDNESDAY_9_EAT.isoformat(),
            "idempotency_key": "book-to-move-1",
        },
        headers=auth(mentee),
    )
    booking = booked.json()
    later = WEDNESDAY_9_EAT + timedelta(days=7)

    moved = await client.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        json={"starts_at": later.isoformat()},
        headers=auth(mentee),
    )

    assert moved.status_code == 200, moved.text
    release = await pool.fetchval(
        "SELECT auto_release_at FROM escrows WHERE id = $1", uuid.UUID(booking["escrow_id"])
    )
    assert release == later + timedelta(hours=1 + 48)


async def test_the_checkout_quotes_a_package_with_its_refund_policy(
    client: Client, auth: Auth, make_mentor, make_mentee
) -> None:
    mentor = await make_mentor(price_minor=SINGLE)
    mentee = await make_mentee(funds_minor=100_000)
    offer = await _offer(client, auth, mentor)

    quote = await client.post(
        "/api/v1/checkout/quote",
        json={"kind": "package", "id": offer["id"]},
        headers=auth(mentee),
    )

    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert body["kind"] == "package"
    assert body["total_minor"] == PACKAGE_PRICE
    assert body["shortfall_minor"] == PACKAGE_PRICE - 100_000
    assert "3 × 60 min" in body["detail"]
    assert any("30 days" in term for term in body["refund_policy"]["terms"])


async def test_a_promo_code_for_packages_pays_part_and_the_shares_split_the_rest(
    client: Client, auth: Auth, pool: asyncpg.Pool, make_mentor, make_mentee, make_user
) -> None:
    mentor = await make_mentor(price_minor=SINGLE)
    mentee = await make_mentee(funds_minor=FUNDS)
    admin = await make_user(role=Role.ADMIN)
    offer = await _offer(client, auth, mentor)
    for code, kinds in (("PACK20", ["package"]), ("ONLY-SESSIONS", ["session"])):
        created = await client.post(
            "/api/v1/admin/promo-codes",
            json={"code": code, "kind": "percent", "percent_bps": 2_000, "purchase_kinds": kinds},
            headers=auth(admin),
        )
        assert created.status_code == 201, created.text

    def buy_with(code: str) -> Any:
        return client.post(
            f"/api/v1/packages/{offer['id']}/purchase",
            json={"idempotency_key": f"buy-with-{code}", "discount_code": code},
            headers=auth(mentee),
        )

    wrong_kind = await buy_with("ONLY-SESSIONS")
    bought = await buy_with("PACK20")

    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["errors"][0]["field"] == "discount_code"
    assert bought.status_code == 201, bought.text
    paid = PACKAGE_PRICE - PACKAGE_PRICE * 2_000 // 10_000
    assert bought.json()["paid_minor"] == paid
    assert [c["amount_minor"] for c in bought.json()["credits"]] == split_price(paid, 3)
    assert await balance(pool, mentee.id) == (FUNDS - paid, FUNDS)
    await _ledger_sound(pool)
