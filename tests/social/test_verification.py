"""Social verification against the platforms' sandbox over HTTP (Google OAuth + YouTube
Data API v3, X OAuth 2.0 + API v2, in their wire formats), with the awards delivered
through the real points consumer: one award per platform per member, ever; a follow found
gone by the scheduled re-check is clawed back through a ledger entry; manual proofs are
awarded only on a reviewer's approval."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.social import recheck_follows
from dracarys.social.verification.sandbox import SocialSandbox
from tests.points.conftest import balance_of, drain, entries, ledger_sum
from tests.social.conftest import connect, verify
from tests.support import AppClient, TestUser, audit_trail


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG, as a phone's screenshot would start."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def topics(pool: asyncpg.Pool, topic: str) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT payload FROM outbox WHERE topic = $1 ORDER BY id", topic)
    return [dict(r["payload"]) for r in rows]


async def status_of(client: AppClient, user: TestUser, platform: str) -> dict[str, Any]:
    response = await client.get("/api/v1/social/verifications", headers=user.headers)
    assert response.status_code == 200, response.text
    return next(p for p in response.json()["platforms"] if p["platform"] == platform)


def advance(clock: ManualClock, sandbox: SocialSandbox, delta: timedelta) -> None:
    clock.advance(delta)
    sandbox.clock_s = clock.now().timestamp()


async def submit_proof(
    client: AppClient,
    user: TestUser,
    platform: str,
    profile_url: str,
    content: bytes,
    filename: str = "proof.png",
) -> Any:
    return await client.post(
        "/api/v1/social/proofs",
        data={"platform": platform, "profile_url": profile_url},
        files={"file": (filename, io.BytesIO(content), "image/png")},
        headers=user.headers,
    )


# ---- YouTube -----------------------------------------------------------------------------


async def test_a_youtube_subscription_verified_once_gives_150_once_and_unsubscribing_claws_back(
    client: AppClient,
    make_user: Any,
    platform: Platform,
    sandbox: SocialSandbox,
    clock: ManualClock,
) -> None:
    member = await make_user()
    channel = sandbox.add_youtube_viewer("Wanjiru trades", subscribed=True)
    sandbox.auto_consent["youtube"] = channel

    returned = await connect(client, member, "youtube")
    first = await client.post("/api/v1/social/verify", json=returned, headers=member.headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "verified"
    assert first.json()["account_name"] == "Wanjiru trades"
    # The browser retries the same callback: the outcome stands, nothing is sent twice.
    again = await client.post("/api/v1/social/verify", json=returned, headers=member.headers)
    assert again.status_code == 200
    assert again.json()["status"] == "verified"
    refused = await client.post("/api/v1/social/verify/youtube/start", headers=member.headers)
    assert refused.status_code == 409
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 150
    assert await topics(platform.pool, "social.follow_verified") == [
        {"user_id": str(member.id), "platform": "youtube"}
    ]
    assert "youtube.subscriptions" in sandbox.calls

    # Still subscribed a day later: the re-check keeps it.
    advance(clock, sandbox, timedelta(hours=25))
    assert await recheck_follows(platform) == 1
    assert (await status_of(client, member.signed_in_again(platform.settings, clock), "youtube"))[
        "status"
    ] == "verified"

    # Unsubscribed: the next re-check revokes it and points takes the 150 back.
    sandbox.unsubscribe(channel)
    advance(clock, sandbox, timedelta(hours=25))
    assert await recheck_follows(platform) == 1
    await drain(platform)
    member = member.signed_in_again(platform.settings, clock)
    shown = await status_of(client, member, "youtube")
    assert shown["status"] == "revoked"
    assert "taken back" in shown["message"]
    assert await balance_of(platform.pool, member.id) == 0
    assert await ledger_sum(platform.pool, member.id) == 0
    assert [(e["delta"], e["reason_code"]) for e in await entries(platform.pool, member.id)] == [
        (150, "social_follow"),
        (-150, "follow_withdrawn"),
    ]
    # Nothing left to re-check; subscribing again verifies without a second award.
    advance(clock, sandbox, timedelta(hours=25))
    assert await recheck_follows(platform) == 0
    member = member.signed_in_again(platform.settings, clock)
    sandbox.subscribe(channel)
    back = await verify(client, member, "youtube")
    assert back.json()["status"] == "verified"
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 0
    assert len(await topics(platform.pool, "social.follow_verified")) == 1
    assert len(await topics(platform.pool, "social.follow_revoked")) == 1


async def test_not_subscribed_yet_then_check_again_verifies(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    channel = sandbox.add_youtube_viewer("Not yet", subscribed=False)
    sandbox.auto_consent["youtube"] = channel
    first = await verify(client, member, "youtube")
    assert first.json()["status"] == "not_following"
    assert "check again" in first.json()["message"]
    sandbox.subscribe(channel)
    checked = await client.post(
        "/api/v1/social/verifications/youtube/check", headers=member.headers
    )
    assert checked.status_code == 200
    assert checked.json()["status"] == "verified"
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 150


async def test_ten_concurrent_round_trips_of_one_member_award_once(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer("Eager", subscribed=True)
    returned = [await connect(client, member, "youtube") for _ in range(10)]
    answers = await asyncio.gather(
        *(client.post("/api/v1/social/verify", json=r, headers=member.headers) for r in returned)
    )
    assert [a.status_code for a in answers] == [200] * 10
    assert {a.json()["status"] for a in answers} == {"verified"}
    assert len(await topics(platform.pool, "social.follow_verified")) == 1
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 150


async def test_one_channel_verifies_one_member(
    client: AppClient, make_user: Any, sandbox: SocialSandbox
) -> None:
    first, second = await make_user(), await make_user()
    sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer("Shared", subscribed=True)
    assert (await verify(client, first, "youtube")).json()["status"] == "verified"
    taken = await verify(client, second, "youtube")
    assert taken.status_code == 409
    assert "another Dracarys account" in taken.json()["detail"]


async def test_a_state_of_another_member_or_an_expired_one_is_refused(
    client: AppClient,
    make_user: Any,
    sandbox: SocialSandbox,
    clock: ManualClock,
    platform: Platform,
) -> None:
    owner, other = await make_user(), await make_user()
    sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer("Owner", subscribed=True)
    returned = await connect(client, owner, "youtube")
    stolen = await client.post("/api/v1/social/verify", json=returned, headers=other.headers)
    assert stolen.status_code == 422
    assert stolen.json()["errors"][0]["field"] == "state"
    late = await connect(client, owner, "youtube")
    advance(clock, sandbox, timedelta(minutes=11))
    owner = owner.signed_in_again(platform.settings, clock)
    expired = await client.post("/api/v1/social/verify", json=late, headers=owner.headers)
    assert expired.status_code == 422
    assert "expired" in expired.json()["detail"]


async def test_an_unticked_permission_is_explained_and_nothing_is_recorded(
    client: AppClient, make_user: Any, sandbox: SocialSandbox, platform: Platform
) -> None:
    member = await make_user()
    sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer("Careful", subscribed=True)
    sandbox.untick_youtube_scope = True
    answer = await verify(client, member, "youtube")
    assert answer.status_code == 422
    assert "permission" in answer.json()["detail"]
    assert (await status_of(client, member, "youtube"))["status"] == "not_connected"


async def test_tokens_are_sealed_at_rest(
    client: AppClient, make_user: Any, sandbox: SocialSandbox, platform: Platform
) -> None:
    member = await make_user()
    sandbox.auto_consent["youtube"] = sandbox.add_youtube_viewer("Sealed", subscribed=True)
    await verify(client, member, "youtube")
    sealed = await platform.pool.fetchval(
        "SELECT tokens_sealed FROM social_verifications WHERE user_id = $1", member.id
    )
    granted = [t for t in sandbox.refresh_tokens if sandbox.refresh_tokens[t].account]
    assert sealed
    assert not any(t.encode() in bytes(sealed) for t in granted)
    assert not any(t.encode() in bytes(sealed) for t in sandbox.access_tokens)


async def test_the_recheck_waits_out_an_outage_and_revokes_withdrawn_access(
    client: AppClient,
    make_user: Any,
    platform: Platform,
    sandbox: SocialSandbox,
    clock: ManualClock,
) -> None:
    member = await make_user()
    channel = sandbox.add_youtube_viewer("Outage", subscribed=True)
    sandbox.auto_consent["youtube"] = channel
    await verify(client, member, "youtube")
    await drain(platform)
    sandbox.down = True
    advance(clock, sandbox, timedelta(hours=25))
    assert await recheck_follows(platform) == 1
    row = await platform.pool.fetchrow(
        "SELECT status, check_failures, next_check_at FROM social_verifications"
    )
    assert row["status"] == "verified"
    assert row["check_failures"] == 1
    assert row["next_check_at"] == clock.now() + timedelta(minutes=30)
    sandbox.down = False
    sandbox.withdraw_access(channel)
    advance(clock, sandbox, timedelta(minutes=31))
    assert await recheck_follows(platform) == 1
    await drain(platform)
    shown = await status_of(client, member.signed_in_again(platform.settings, clock), "youtube")
    assert shown["status"] == "revoked"
    assert "withdrew our access" in shown["message"]
    assert await balance_of(platform.pool, member.id) == 0
    assert (await topics(platform.pool, "social.follow_revoked"))[0]["reason"] == (
        "access_withdrawn"
    )


# ---- X -----------------------------------------------------------------------------------


async def test_an_x_follow_is_found_across_pages_and_rotating_refresh_tokens_keep_working(
    client: AppClient,
    make_user: Any,
    platform: Platform,
    sandbox: SocialSandbox,
    clock: ManualClock,
) -> None:
    member = await make_user()
    sandbox.auto_consent["x"] = sandbox.add_x_user(
        "busyfollower", follows_us=True, others_followed=2500
    )
    answer = await verify(client, member, "x")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "verified"
    assert answer.json()["account_name"] == "@busyfollower"
    assert sandbox.calls.count("x.following") == 3  # 1,000 a page: ours is on the third
    # Two re-checks past the access token's 2 hours: each refresh rotates the pair.
    for _ in range(2):
        advance(clock, sandbox, timedelta(hours=25))
        assert await recheck_follows(platform) == 1
    assert sandbox.calls.count("x.token") == 3
    shown = await status_of(client, member.signed_in_again(platform.settings, clock), "x")
    assert shown["status"] == "verified"
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 150


async def test_x_without_the_follows_lookup_falls_back_to_a_reviewed_proof(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    sandbox.auto_consent["x"] = sandbox.add_x_user("basic_tier", follows_us=True)
    sandbox.x_follows_lookup = False
    answer = await verify(client, member, "x")
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["status"] == "manual_required"
    assert shown["method"] == "manual"
    assert shown["can_submit_proof"]
    assert not shown["can_connect"]
    assert "does not let our app read who you follow" in shown["message"]
    sent = await submit_proof(client, member, "x", "https://twitter.com/basic_tier", png())
    assert sent.status_code == 201, sent.text
    assert sent.json()["profile_url"] == "https://x.com/basic_tier"
    assert (await status_of(client, member, "x"))["status"] == "pending_review"
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 0


# ---- manual proofs -----------------------------------------------------------------------


async def test_a_manual_instagram_proof_is_awarded_only_on_a_reviewers_approval(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    shown = await status_of(client, member, "instagram")
    assert shown["method"] == "manual"
    assert shown["can_submit_proof"]
    sent = await submit_proof(client, member, "instagram", "instagram.com/wanjiru.trades/", png())
    assert sent.status_code == 201, sent.text
    proof = sent.json()
    assert proof["status"] == "pending"
    assert proof["handle"] == "wanjiru.trades"
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 0
    # The member cannot approve it; a reviewer sees it, with its screenshot.
    own = await client.post(
        f"/api/v1/social/proofs/{proof['id']}/approve", json={}, headers=member.headers
    )
    assert own.status_code == 403
    queue = await client.get("/api/v1/social/proofs/queue", headers=reviewer.headers)
    assert [p["id"] for p in queue.json()] == [proof["id"]]
    assert queue.json()[0]["member_name"] == "Test Mentee"
    shot = await client.get(proof["screenshot_url"], headers=reviewer.headers)
    assert shot.status_code == 200
    assert shot.content == png()
    assert shot.headers["content-type"] == "image/png"
    stranger = await make_user()
    assert (await client.get(proof["screenshot_url"], headers=stranger.headers)).status_code == 404
    # A rejection must say why; the approval awards.
    no_reason = await client.post(
        f"/api/v1/social/proofs/{proof['id']}/reject", json={}, headers=reviewer.headers
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    approved = await client.post(
        f"/api/v1/social/proofs/{proof['id']}/approve", json={}, headers=reviewer.headers
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    twice = await client.post(
        f"/api/v1/social/proofs/{proof['id']}/approve", json={}, headers=reviewer.headers
    )
    assert twice.status_code == 409
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 150
    shown = await status_of(client, member, "instagram")
    assert shown["status"] == "verified"
    assert shown["account_name"] == "@wanjiru.trades"
    audit = await platform.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'social.proof_approved'"
    )
    assert audit == 1


async def test_a_rejected_proof_says_why_and_another_can_be_sent(
    client: AppClient, make_user: Any, platform: Platform, sandbox: SocialSandbox
) -> None:
    member = await make_user()
    reviewer = await make_user(role=Role.REVIEWER)
    sent = await submit_proof(client, member, "tiktok", "https://www.tiktok.com/@mwangi.fx", png())
    again = await submit_proof(client, member, "tiktok", "https://www.tiktok.com/@mwangi.fx", png())
    assert again.status_code == 409  # one pending proof per platform
    rejected = await client.post(
        f"/api/v1/social/proofs/{sent.json()['id']}/reject",
        json={"reason": "the screenshot does not show our account"},
        headers=reviewer.headers,
    )
    assert rejected.status_code == 200
    [(actor, _, details)] = await audit_trail(platform.pool, "social.proof_rejected")
    assert (actor, details["reason"]) == (reviewer.id, "the screenshot does not show our account")
    shown = await status_of(client, member, "tiktok")
    assert shown["status"] == "not_connected"
    assert shown["can_submit_proof"]
    assert "the screenshot does not show our account" in shown["message"]
    resent = await submit_proof(
        client, member, "tiktok", "https://www.tiktok.com/@mwangi.fx", png()
    )
    assert resent.status_code == 201
    await drain(platform)
    assert await balance_of(platform.pool, member.id) == 0


async def test_nobody_reviews_their_own_proof(
    client: AppClient, make_user: Any, sandbox: SocialSandbox
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    sent = await submit_proof(
        client, reviewer, "instagram", "https://www.instagram.com/rev_iew/", png()
    )
    assert sent.status_code == 201
    own = await client.post(
        f"/api/v1/social/proofs/{sent.json()['id']}/approve", json={}, headers=reviewer.headers
    )
    assert own.status_code == 403
    assert "own proof" in own.json()["detail"]


@pytest.mark.parametrize(
    ("platform_name", "link", "content", "field"),
    [
        ("instagram", "https://www.instagram.com/ok_name/", b"hello, I am text", "file"),
        ("instagram", "https://www.instagram.com/ok_name/", b"", "file"),
        ("instagram", "https://evil.example/instagram.com/ok_name", None, "profile_url"),
        ("instagram", "https://www.instagram.com/p/Cx12345/", None, "profile_url"),
        ("tiktok", "https://www.tiktok.com/mwangi", None, "profile_url"),
        ("tiktok", "javascript:alert(1)", None, "profile_url"),
        ("youtube", "https://www.youtube.com/@someone", None, "platform"),
        ("facebook", "https://facebook.com/someone", None, "platform"),
    ],
)
async def test_a_proof_is_checked_by_its_bytes_its_link_and_its_platform(
    client: AppClient,
    make_user: Any,
    platform: Platform,
    sandbox: SocialSandbox,
    platform_name: str,
    link: str,
    content: bytes | None,
    field: str,
) -> None:
    member = await make_user()
    answer = await submit_proof(
        client, member, platform_name, link, png() if content is None else content
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field
    assert await platform.pool.fetchval("SELECT count(*) FROM social_proofs") == 0
