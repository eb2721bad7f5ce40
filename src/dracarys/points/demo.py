"""Demo points for `dracarys up`: the demo mentee's first week (the blueprint's example 1
plus lessons, an assessment and a redeemed discount) and the mentors' sessions. Every
award is keyed by (rule, user, entity), so seeding again changes nothing."""

from __future__ import annotations

from dracarys.db import transaction
from dracarys.identity import DEMO_MENTEE, DEMO_MENTORS
from dracarys.platform import Platform
from dracarys.points import service, store
from dracarys.points.models import Award, ConvertPointsInput, Target


async def seed_points_demo(platform: Platform) -> None:
    mentee = DEMO_MENTEE.id
    awards = [
        Award(user_id=mentee, rule_code="signup_verified"),
        Award(user_id=mentee, rule_code="profile_completed"),
        Award(user_id=mentee, rule_code="social_follow", related_entity="x"),
        Award(user_id=mentee, rule_code="social_follow", related_entity="instagram"),
        *(
            Award(
                user_id=mentee,
                rule_code="lesson_completed",
                related_entity=f"demo-lesson-{i}",
                context={"lesson_title": title},
            )
            for i, title in enumerate(("Candles and context", "Position sizing", "Stops"), 1)
        ),
        Award(user_id=mentee, rule_code="assessment_passed", related_entity="demo-risk-quiz"),
    ]
    for mentor in DEMO_MENTORS:
        awards.append(Award(user_id=mentor.id, rule_code="signup_verified"))
        awards.append(
            Award(
                user_id=mentor.id,
                rule_code="session_attended",
                related_entity="demo-session-1",
                multiplier=2,
            )
        )
    async with transaction(platform.pool) as conn:
        if not await store.user_exists(conn, mentee):
            return
        await service.award_many(conn, platform, awards)
        await service.record_learning_day(
            conn, platform, mentee, platform.clock.now(), "Africa/Nairobi"
        )
        await service.grant_badge(conn, platform, mentee, service.BADGE_FIRST_LESSON, None)
    await service.convert_points(
        platform,
        mentee,
        ConvertPointsInput(points=100, target=Target.DISCOUNT),
        None,
        idempotency_key="demo-discount-1",
    )
