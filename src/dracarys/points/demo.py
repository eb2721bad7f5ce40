"""Demo points for `dracarys up`: the demo mentee's first week (the blueprint's example 1
plus lessons, an assessment and a redeemed discount) and the mentors' sessions. Every
award is keyed by (rule, user, entity), so seeding again changes nothing."""

from __future__ import annotations

from dracarys.db import transaction
from dracarys.identity import DEMO_MENTEE, DEMO_MENTORS, account_of
from dracarys.platform import Platform
from dracarys.points.awarding.service import award_many
from dracarys.points.badges.service import BADGE_FIRST_LESSON, grant_badge, record_learning_day
from dracarys.points.merch.models import MerchItemInput
from dracarys.points.merch.service import stock_catalogue
from dracarys.points.models import Award
from dracarys.points.redemption.models import ConvertPointsInput, Target
from dracarys.points.redemption.service import convert_points

DEMO_MERCH = {
    "dracarys-mug": MerchItemInput(
        name="Dracarys mug", points=2_500, description="For the London open.", stock=50
    ),
    "trading-journal": MerchItemInput(
        name="Trading journal",
        points=4_000,
        description="A paper journal: plan, entry, exit, and what you learned.",
        stock=30,
    ),
    "dracarys-tee": MerchItemInput(
        name="Dracarys T-shirt", points=6_000, description="Cotton, sizes S to XXL.", stock=None
    ),
}


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
        if await account_of(conn, mentee) is None:
            return
        await award_many(conn, platform, awards)
        await record_learning_day(conn, platform, mentee, platform.clock.now(), "Africa/Nairobi")
        await grant_badge(conn, platform, mentee, BADGE_FIRST_LESSON, None)
    await convert_points(
        platform,
        mentee,
        ConvertPointsInput(points=100, target=Target.DISCOUNT),
        None,
        idempotency_key="demo-discount-1",
    )
    await stock_catalogue(platform, DEMO_MERCH)
