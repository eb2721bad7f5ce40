"""Every earning rule of the blueprint's table, driven by synthetic domain events through
the outbox and the points consumer (`consumers.apply_events`): values, one-time rules,
per-entity rules, per-rule caps, the global social+email cap, rule versions and
limited-time events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from dracarys.clock import ManualClock
from dracarys.platform import Platform
from dracarys.points.abuse import service as abuse
from dracarys.points.awarding import service as awarding
from dracarys.points.rulebook import service as rulebook
from dracarys.points.rulebook import store as rulebook_store
from dracarys.points.rulebook.models import EventInput, RuleVersionInput
from tests.points.conftest import balance_of, entries, ledger_sum, send
from tests.support import events_of


async def pending_of(platform: Platform, user_id: uuid.UUID) -> int:
    return int(
        await platform.pool.fetchval(
            "SELECT coalesce(pending, 0) FROM points_balances WHERE user_id = $1", user_id
        )
        or 0
    )


async def test_seeded_rules_match_the_blueprint_table(platform: Platform) -> None:
    async with platform.pool.acquire() as conn:
        rules = {r.code: r for r in await rulebook_store.rules_in_force(conn)}
    assert {code: r.points for code, r in rules.items() if r.kind == "fixed"} == {
        "signup_verified": 100,
        "profile_completed": 50,
        "onboarding_cohort_joined": 50,
        "lesson_completed": 10,
        "assessment_passed": 200,
        "session_attended": 30,
        "social_follow": 150,
        "social_share": 50,
        "referral_completed": 1000,
        "first_deposit": 500,
        "kyc_verified": 300,
        "email_click": 2,
        "mentor_rating": 20,
    }
    assert rules["session_paid"].params["percent_bps"] == 500
    assert rules["session_paid"].monthly_limit is not None
    assert {c for c, r in rules.items() if r.pending} == {
        "session_paid",
        "referral_completed",
        "first_deposit",
    }
    assert rules["referral_completed"].min_kyc_level == 2
    assert all(r.version == 1 for r in rules.values())


async def test_signup_with_verified_email_awards_100_once(platform: Platform, user_factory) -> None:
    user = await user_factory()
    await send(platform, "user.email_verified", user_id=user)
    await send(platform, "user.email_verified", user_id=user)
    assert await balance_of(platform.pool, user) == 100
    assert [e["reason_code"] for e in await entries(platform.pool, user)] == ["signup_verified"]


async def test_profile_completion_awards_50_once(platform: Platform, user_factory) -> None:
    user = await user_factory()
    for _ in range(3):
        await send(platform, "profile.completed", user_id=user)
    assert await balance_of(platform.pool, user) == 50


async def test_each_lesson_awards_10_and_repeating_a_lesson_does_not(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1", lesson_title="Candles")
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1", lesson_title="Candles")
    await send(platform, "lesson.completed", user_id=user, lesson_id="l2", lesson_title="Risk")
    assert await balance_of(platform.pool, user) == 20
    rows = await entries(platform.pool, user)
    assert [(e["related_entity"], e["rule_version"]) for e in rows] == [("l1", 1), ("l2", 1)]


async def test_each_passed_assessment_awards_200(platform: Platform, user_factory) -> None:
    user = await user_factory()
    await send(platform, "assessment.passed", user_id=user, assessment_id="a1")
    await send(platform, "assessment.passed", user_id=user, assessment_id="a2")
    await send(platform, "assessment.passed", user_id=user, assessment_id="a2")
    assert await balance_of(platform.pool, user) == 400


async def test_paid_session_holds_5_percent_converted_at_the_rule_rate(
    platform: Platform, user_factory
) -> None:
    mentee, mentor = await user_factory(), await user_factory(role="mentor")
    # The blueprint's example: a KES 5,000 session → 250 points (1 point per shilling).
    await send(
        platform,
        "session.paid",
        session_id="s1",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=500_000,
        currency="KES",
    )
    # USD converts at 130 points per dollar: 5% of $20 = $1 → 130 points.
    await send(
        platform,
        "session.paid",
        session_id="s2",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=2_000,
        currency="USD",
    )
    assert await balance_of(platform.pool, mentee) == 0
    assert await pending_of(platform, mentee) == 380


async def test_paid_session_points_are_capped_per_month(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    mentee, mentor = await user_factory(), await user_factory(role="mentor")
    # 5% of KES 60,000 = 3,000 points; the monthly cap is 5,000.
    for i in range(3):
        await send(
            platform,
            "session.paid",
            session_id=f"s{i}",
            mentee_id=mentee,
            mentor_id=mentor,
            amount_minor=6_000_000,
            currency="KES",
        )
    assert await pending_of(platform, mentee) == 5_000
    clock.advance(timedelta(days=31))  # a new month
    await send(
        platform,
        "session.paid",
        session_id="s9",
        mentee_id=mentee,
        mentor_id=mentor,
        amount_minor=6_000_000,
        currency="KES",
    )
    assert await pending_of(platform, mentee) == 8_000


async def test_attending_a_session_awards_30_and_the_mentor_twice_that(
    platform: Platform, user_factory
) -> None:
    mentee, mentor = await user_factory(), await user_factory(role="mentor")
    await send(platform, "session.attended", session_id="s1", mentor_id=mentor, mentee_id=mentee)
    await send(platform, "session.attended", session_id="s1", mentor_id=mentor, mentee_id=mentee)
    assert await balance_of(platform.pool, mentee) == 30
    assert await balance_of(platform.pool, mentor) == 60


async def test_verified_follow_awards_150_once_per_platform(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "social.follow_verified", user_id=user, platform="twitter")
    await send(platform, "social.follow_verified", user_id=user, platform="Twitter")
    await send(platform, "social.follow_verified", user_id=user, platform="instagram")
    assert await balance_of(platform.pool, user) == 300


async def test_a_revoked_follow_is_reversed_once_by_a_ledger_entry_and_never_re_earned(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "social.follow_verified", user_id=user, platform="youtube")
    await send(platform, "social.follow_verified", user_id=user, platform="x")
    assert await balance_of(platform.pool, user) == 300
    for _ in range(2):  # a redelivered revoke takes once
        await send(
            platform, "social.follow_revoked", user_id=user, platform="youtube", reason="gone"
        )
    assert await balance_of(platform.pool, user) == 150
    rows = await entries(platform.pool, user)
    assert [(e["delta"], e["reason_code"], e["related_entity"]) for e in rows] == [
        (150, "social_follow", "youtube"),
        (150, "social_follow", "x"),
        (-150, "follow_withdrawn", "youtube"),
    ]
    assert await events_of(platform.pool, "points.clawed_back") == [
        {
            "user_id": str(user),
            "entry_id": str(rows[-1]["id"]),
            "points": 150,
            "reason_code": "follow_withdrawn",
            "related_entity": "youtube",
        }
    ]
    assert await ledger_sum(platform.pool, user) == await balance_of(platform.pool, user)
    # Following again earns nothing: one award per platform, ever.
    await send(platform, "social.follow_verified", user_id=user, platform="youtube")
    assert await balance_of(platform.pool, user) == 150


async def test_a_revoke_takes_no_more_than_the_balance_and_nothing_unearned(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "social.follow_revoked", user_id=user, platform="tiktok", reason="gone")
    assert await entries(platform.pool, user) == []
    await send(platform, "social.follow_verified", user_id=user, platform="tiktok")
    async with platform.pool.acquire() as conn, conn.transaction():
        # The member spends 100 of the 150 before the follow is found gone.
        await conn.execute(
            "SELECT * FROM points_post_entry($1, -100, 'redemption', 'redemption', NULL, NULL,"
            " NULL, 'spend-1', NULL, now(), NULL, false, false, NULL, NULL, NULL)",
            user,
        )
    await send(platform, "social.follow_revoked", user_id=user, platform="tiktok", reason="gone")
    assert await balance_of(platform.pool, user) == 0
    assert [e["delta"] for e in await entries(platform.pool, user)] == [150, -100, -50]
    assert await ledger_sum(platform.pool, user) == 0


async def test_shared_posts_award_50_up_to_the_daily_limit(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    for i in range(5):
        await send(platform, "social.post_shared", user_id=user, share_id=f"p{i}")
    assert await balance_of(platform.pool, user) == 150
    denied = await platform.pool.fetch("SELECT reason FROM points_denials WHERE user_id = $1", user)
    assert [d["reason"] for d in denied] == ["capped", "capped"]
    clock.advance(timedelta(days=1))
    await send(platform, "social.post_shared", user_id=user, share_id="p9")
    # A capped share stays decided; a new one the next day counts.
    await send(platform, "social.post_shared", user_id=user, share_id="p4")
    assert await balance_of(platform.pool, user) == 200


async def test_referral_awards_1000_pending_and_requires_kyc_level_2(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    verified, unverified = await user_factory(kyc_level=2), await user_factory(kyc_level=1)
    for referrer in (verified, unverified):
        await send(
            platform,
            "referral.completed",
            referrer_id=referrer,
            referee_id=uuid.uuid4(),
            session_id=f"s-{referrer}",
        )
        await send(
            platform,
            "referral.completed",
            referrer_id=referrer,
            referee_id=referrer,
            session_id="self",
        )
        assert await pending_of(platform, referrer) == 1000
    clock.advance(timedelta(days=15))
    await awarding.post_due_pending(platform)
    assert await balance_of(platform.pool, verified) == 1000
    # The KYC gate holds the unverified referrer's points until level 2.
    assert await balance_of(platform.pool, unverified) == 0
    assert await pending_of(platform, unverified) == 1000
    await platform.pool.execute("UPDATE users SET kyc_level = 2 WHERE id = $1", unverified)
    await awarding.post_due_pending(platform)
    assert await balance_of(platform.pool, unverified) == 1000


async def test_first_deposit_awards_500_once_and_later_deposits_nothing(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(
        platform,
        "deposit.completed",
        user_id=user,
        deposit_id="d1",
        amount_minor=100,
        currency="KES",
        first_deposit=True,
    )
    await send(
        platform,
        "deposit.completed",
        user_id=user,
        deposit_id="d2",
        amount_minor=100,
        currency="KES",
        first_deposit=True,
    )
    await send(
        platform,
        "deposit.completed",
        user_id=user,
        deposit_id="d3",
        amount_minor=100,
        currency="KES",
        first_deposit=False,
    )
    assert await pending_of(platform, user) == 500


async def test_kyc_approval_at_level_2_awards_300_once(platform: Platform, user_factory) -> None:
    user = await user_factory()
    await send(platform, "kyc.approved", user_id=user, level=1)
    assert await balance_of(platform.pool, user) == 0
    await send(platform, "kyc.approved", user_id=user, level=2)
    await send(platform, "kyc.approved", user_id=user, level=3)
    assert await balance_of(platform.pool, user) == 300


async def _confirmed_click(platform: Platform, user: uuid.UUID, email_id: str) -> None:
    async with platform.pool.acquire() as conn:
        token = await abuse.issue_email_token(conn, platform, user, email_id)
    assert token is not None
    assert (
        await abuse.record_email_click(platform, token, "Mozilla/5.0 (X11)", "10.0.0.1")
        == "recorded"
    )
    assert await abuse.confirm_email_click(platform, user, token) == "confirmed"


async def test_email_click_awards_2_per_email_only_when_confirmed_and_capped_daily(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    # An `email.clicked` without a confirmed token (e.g. a scanner) earns nothing.
    await send(platform, "email.clicked", user_id=user, email_id="e0")
    assert await balance_of(platform.pool, user) == 0
    for i in range(12):
        await _confirmed_click(platform, user, f"e{i + 1}")
        await send(platform, "email.clicked", user_id=user, email_id=f"e{i + 1}")
    await send(platform, "email.clicked", user_id=user, email_id="e1")
    assert await balance_of(platform.pool, user) == 20  # 2 each, capped at 20 a day


async def test_mentor_rating_awards_20_per_rated_session(platform: Platform, user_factory) -> None:
    rater, mentor = await user_factory(), await user_factory(role="mentor")
    await send(
        platform, "session.rated", session_id="s1", rater_id=rater, rated_id=mentor, rating=5
    )
    await send(
        platform, "session.rated", session_id="s1", rater_id=rater, rated_id=mentor, rating=4
    )
    await send(
        platform, "session.rated", session_id="s2", rater_id=rater, rated_id=mentor, rating=5
    )
    # No session id, no points.
    await send(platform, "session.rated", session_id="", rater_id=rater, rated_id=mentor, rating=5)
    assert await balance_of(platform.pool, rater) == 40


async def test_social_and_email_points_share_a_global_daily_cap_of_500(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    user = await user_factory()
    for name in ("twitter", "instagram", "tiktok", "youtube"):
        await send(platform, "social.follow_verified", user_id=user, platform=name)
    # 4 × 150 = 600 requested; the social+email cap allows 500 a day.
    assert await balance_of(platform.pool, user) == 500
    await _confirmed_click(platform, user, "e1")
    await send(platform, "email.clicked", user_id=user, email_id="e1")
    assert await balance_of(platform.pool, user) == 500
    # Other categories are not limited by it.
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1")
    assert await balance_of(platform.pool, user) == 510
    assert await ledger_sum(platform.pool, user) == 510


async def test_changing_a_rule_creates_a_version_and_leaves_past_entries(
    platform: Platform, user_factory
) -> None:
    admin, user = await user_factory(role="admin"), await user_factory()
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1")
    rule = await rulebook.new_rule_version(
        platform, "lesson_completed", RuleVersionInput(points=15), admin, None
    )
    assert (rule.version, rule.points) == (2, 15)
    await send(platform, "lesson.completed", user_id=user, lesson_id="l2")
    rows = await entries(platform.pool, user)
    assert [(e["delta"], e["rule_version"]) for e in rows] == [(10, 1), (15, 2)]
    async with platform.pool.acquire() as conn:
        versions = await rulebook_store.rule_versions(conn, "lesson_completed")
    assert [(v.version, v.points) for v in versions] == [(1, 10), (2, 15)]
    # Deactivating is a version too: no more points.
    await rulebook.new_rule_version(
        platform, "lesson_completed", RuleVersionInput(active=False), admin, None
    )
    await send(platform, "lesson.completed", user_id=user, lesson_id="l3")
    assert await balance_of(platform.pool, user) == 25


async def test_limited_time_event_multiplies_chosen_rules_inside_its_window(
    platform: Platform, clock: ManualClock, user_factory
) -> None:
    admin, user = await user_factory(role="admin"), await user_factory()
    now = clock.now()
    await rulebook.create_event(
        platform,
        EventInput(
            name="Double lessons",
            rule_codes=["lesson_completed"],
            multiplier_pct=200,
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=3),
        ),
        admin,
        None,
    )
    await send(platform, "lesson.completed", user_id=user, lesson_id="before")
    clock.advance(timedelta(hours=2))
    await send(platform, "lesson.completed", user_id=user, lesson_id="during")
    await send(platform, "assessment.passed", user_id=user, assessment_id="a1")  # not chosen
    clock.advance(timedelta(hours=2))
    await send(platform, "lesson.completed", user_id=user, lesson_id="after")
    rows = await entries(platform.pool, user)
    assert [(e["related_entity"], e["delta"]) for e in rows] == [
        ("before", 10),
        ("during", 20),
        ("a1", 200),
        ("after", 10),
    ]


async def test_an_event_with_an_unknown_rule_is_refused(
    platform: Platform, clock, user_factory
) -> None:
    from dracarys.errors import InvalidInput

    admin = await user_factory(role="admin")
    with pytest.raises(InvalidInput):
        await rulebook.create_event(
            platform,
            EventInput(
                name="x",
                rule_codes=["nope"],
                multiplier_pct=200,
                starts_at=clock.now(),
                ends_at=clock.now() + timedelta(hours=1),
            ),
            admin,
            None,
        )


async def test_a_malformed_event_is_skipped_without_blocking_others(
    platform: Platform, user_factory
) -> None:
    user = await user_factory()
    await send(platform, "lesson.completed", user_id="not-a-uuid", lesson_id="l1")
    await send(platform, "lesson.completed", user_id=user, lesson_id="l1")
    assert await balance_of(platform.pool, user) == 10
