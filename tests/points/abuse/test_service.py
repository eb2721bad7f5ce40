"""Anti-abuse: email-click tokens (scanners ignored, only a click that led to the user's
own signed-in session earns), velocity freezes, shared IP/device clusters, KYC gating,
and the appeal flow from a denial to granted points."""

from __future__ import annotations

import uuid
from datetime import timedelta

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.points.abuse import service as abuse
from dracarys.points.awarding import service as awarding
from dracarys.points.ledger import service as ledger
from dracarys.points.models import Award
from dracarys.settings import Settings
from tests.points.conftest import balance_of, drain, send, velocity_limited
from tests.support import audit_trail, events_of

SCANNERS = (
    "Mozilla/5.0 (Windows NT 6.1; WOW64) ... GoogleImageProxy",
    "Barracuda Sentinel (EE)",
    "python-requests/2.32",
    "Microsoft Office Protocol Discovery",
    "",
)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


async def _token(platform: Platform, user: uuid.UUID, email_id: str) -> str:
    async with platform.pool.acquire() as conn, conn.transaction():
        token = await abuse.issue_email_token(conn, platform, user, email_id)
        assert token is not None
        assert await abuse.issue_email_token(conn, platform, user, email_id) is None
        return token


async def test_email_click_earns_only_after_a_human_click_and_the_owners_session(
    client, platform: Platform, make_user
) -> None:
    user, other = await make_user(), await make_user()
    token = await _token(platform, user.id, "newsletter-42")
    for agent in SCANNERS:
        r = await client.get(f"/api/v1/points/email-clicks/{token}", headers={"User-Agent": agent})
        assert r.json() == {"status": "ignored"}
    confirm = {"token": token}
    # Scanner clicks do not count as opened.
    r = await client.post("/api/v1/points/email-clicks/confirm", json=confirm, headers=user.headers)
    assert r.status_code == 409
    r = await client.get(f"/api/v1/points/email-clicks/{token}", headers={"User-Agent": BROWSER})
    assert r.json() == {"status": "recorded"}
    # Someone else's session cannot claim it.
    r = await client.post(
        "/api/v1/points/email-clicks/confirm", json=confirm, headers=other.headers
    )
    assert r.status_code == 404
    r = await client.post("/api/v1/points/email-clicks/confirm", json=confirm, headers=user.headers)
    assert r.json() == {"status": "confirmed"}
    r = await client.post("/api/v1/points/email-clicks/confirm", json=confirm, headers=user.headers)
    assert r.json() == {"status": "already_confirmed"}
    await drain(platform)
    assert await balance_of(platform.pool, user.id) == 2
    assert await balance_of(platform.pool, other.id) == 0


def test_automated_agents_are_recognised() -> None:
    assert all(abuse.is_automated_agent(a) for a in SCANNERS)
    assert not abuse.is_automated_agent(BROWSER)


async def test_velocity_freezes_earning_pending_review(
    settings: Settings, pool, clock: ManualClock, user_factory
) -> None:
    platform = velocity_limited(settings, pool, clock)
    user = await user_factory()
    await send(platform, "assessment.passed", user_id=user, assessment_id="a1")
    await send(platform, "assessment.passed", user_id=user, assessment_id="a2")
    await send(platform, "assessment.passed", user_id=user, assessment_id="a3")  # 600 > 500
    assert await balance_of(platform.pool, user) == 400
    assert (await ledger.balance(platform, user)).earning_frozen
    clock.advance(timedelta(hours=1))
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1")
    assert await balance_of(platform.pool, user) == 400  # frozen until reviewed
    denials = await platform.pool.fetch(
        "SELECT reason FROM points_denials WHERE user_id = $1 ORDER BY created_at", user
    )
    assert [d["reason"] for d in denials] == ["frozen_velocity", "frozen"]
    # The freeze (not the award refused while frozen) reaches the outbox, with the award
    # it refused, for analytics' fraud rate.
    assert await events_of(platform.pool, "points.frozen") == [
        {
            "user_id": str(user),
            "reason": "velocity",
            "rule_code": "assessment_passed",
            "points": 200,
        }
    ]
    reviewer = await user_factory(role="reviewer")
    await abuse.unfreeze(platform, user, actor=reviewer, source_ip="203.0.113.9")
    assert await audit_trail(platform.pool, "points.earning_unfrozen") == [
        (reviewer, f"user:{user}", {"frozen_reason": "velocity"})
    ]
    await send(platform, "lesson.completed", user_id=user, lesson_id="l2")
    assert await balance_of(platform.pool, user) == 410


async def test_a_single_award_that_freezes_earning_emits_the_freeze_once(
    settings: Settings, pool, clock: ManualClock, user_factory
) -> None:
    """The one-award path (the batch path is the test above): 200 + 200 posted, the third
    200 would pass 500 and freezes, the fourth is refused as frozen, which is no new
    freeze."""
    platform = velocity_limited(settings, pool, clock)
    user = await user_factory()
    statuses = []
    for assessment in ("a1", "a2", "a3", "a4"):
        async with pool.acquire() as conn, conn.transaction():
            request = Award(user_id=user, rule_code="assessment_passed", related_entity=assessment)
            statuses.append((await awarding.award(conn, platform, request)).status)

    assert statuses == ["posted", "posted", "frozen_velocity", "frozen"]
    assert await events_of(pool, "points.frozen") == [
        {
            "user_id": str(user),
            "reason": "velocity",
            "rule_code": "assessment_passed",
            "points": 200,
        }
    ]


async def test_accounts_sharing_an_ip_or_device_are_flagged_for_review(
    client, platform: Platform, make_user, user_factory
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    ring = [await user_factory() for _ in range(3)]
    loner = await user_factory()
    for user in ring:
        await send(
            platform,
            "user.logged_in",
            user_id=user,
            source_ip="192.0.2.50",
            device_fingerprint="fp-1",
        )
    await send(
        platform, "user.logged_in", user_id=loner, source_ip="192.0.2.99", device_fingerprint="fp-2"
    )
    assert await abuse.flag_shared_clusters(platform) == 2  # one IP flag, one device flag
    assert await abuse.flag_shared_clusters(platform) == 0  # still the same open flags
    queue = (await client.get("/api/v1/points/review-queue", headers=reviewer.headers)).json()
    flags = {(f["kind"], f["subject"]): sorted(f["user_ids"]) for f in queue["fraud_flags"]}
    assert flags == {
        ("shared_ip", "192.0.2.50"): sorted(str(u) for u in ring),
        ("shared_device", "fp-1"): sorted(str(u) for u in ring),
    }
    mentee = await make_user()
    assert (
        await client.get("/api/v1/points/review-queue", headers=mentee.headers)
    ).status_code == 403


async def test_appeal_of_a_capped_award_is_granted_by_a_reviewer(
    client, platform: Platform, make_user
) -> None:
    user, reviewer = await make_user(), await make_user(role=Role.REVIEWER)
    for i in range(4):
        await send(platform, "social.post_shared", user_id=user.id, share_id=f"p{i}")
    denials = (await client.get("/api/v1/points/denials", headers=user.headers)).json()
    assert [(d["reason"], d["points"]) for d in denials] == [("capped", 50)]
    appeal = await client.post(
        "/api/v1/points/appeals",
        json={"denial_id": denials[0]["id"], "message": "My fourth share was a real one"},
        headers=user.headers,
    )
    assert appeal.status_code == 201
    appeal_id = appeal.json()["id"]
    # The user cannot decide; a reviewer can, once.
    decide = f"/api/v1/points/appeals/{appeal_id}/decision"
    body = {"decision": "grant", "note": "Verified the share manually"}
    assert (await client.post(decide, json=body, headers=user.headers)).status_code == 403
    listed = (await client.get("/api/v1/points/appeals", headers=reviewer.headers)).json()
    assert [a["id"] for a in listed] == [appeal_id]
    decided = await client.post(decide, json=body, headers=reviewer.headers)
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["granted_points"]) == ("granted", 50)
    assert (await client.post(decide, json=body, headers=reviewer.headers)).status_code == 409
    [(actor, target, details)] = await audit_trail(platform.pool, "points.appeal_decided")
    assert (actor, target) == (reviewer.id, f"appeal:{appeal_id}")
    assert (details["decision"], details["granted_points"]) == ("granted", 50)
    assert await balance_of(platform.pool, user.id) == 200
    history = (await client.get("/api/v1/points/history", headers=user.headers)).json()
    assert history["items"][0]["reason_code"] == "appeal_granted"


async def test_rejected_appeal_moves_no_points_and_foreign_denials_cannot_be_appealed(
    client, platform: Platform, make_user
) -> None:
    user, intruder, admin = await make_user(), await make_user(), await make_user(role=Role.ADMIN)
    await send(platform, "social.follow_verified", user_id=user.id, platform="x")
    for name in ("a", "b", "c", "d"):
        await send(platform, "social.follow_verified", user_id=user.id, platform=name)
    [denial] = (await client.get("/api/v1/points/denials", headers=user.headers)).json()
    foreign = await client.post(
        "/api/v1/points/appeals",
        json={"denial_id": denial["id"], "message": "mine now!"},
        headers=intruder.headers,
    )
    assert foreign.status_code == 404
    appeal = (
        await client.post(
            "/api/v1/points/appeals",
            json={"denial_id": denial["id"], "message": "please look"},
            headers=user.headers,
        )
    ).json()
    r = await client.post(
        f"/api/v1/points/appeals/{appeal['id']}/decision",
        json={"decision": "reject", "note": "cap applies"},
        headers=admin.headers,
    )
    assert r.json()["status"] == "rejected"
    assert await balance_of(platform.pool, user.id) == 500
