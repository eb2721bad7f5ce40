"""The pure rule arithmetic, without a database: percent awards in each currency's own
minor units, limited-time multipliers, cap counters, tiers and progress, learning
streaks, leaderboard periods and calendar months."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from dracarys.points.models import Cap, PointsEvent, Rule, Tier
from dracarys.points.rules import (
    RuleBook,
    advance_streak,
    award_points,
    base_points,
    caps_for,
    idempotency_key,
    leaderboard_periods,
    months_before,
    next_tier,
    tier_for,
    tier_thresholds,
)
from dracarys.settings import Settings

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def rule(**changes: Any) -> Rule:
    base = Rule(
        code="lesson_completed",
        version=1,
        title="Lesson completed",
        description="",
        topic="lesson.completed",
        kind="fixed",
        points=10,
        params={},
        scope="per_entity",
        category="learning",
        daily_limit=None,
        monthly_limit=None,
        pending=False,
        min_kyc_level=0,
        active=True,
    )
    return msgspec.structs.replace(base, **changes)


# The seeded `session_paid` rule: 5% of the amount, in points per major unit of its currency.
SESSION_PAID = rule(
    code="session_paid",
    kind="percent_of_amount",
    points=0,
    params={
        "percent_bps": 500,
        "points_per_major_unit": {"KES": 1, "USD": 130, "JPY": 1, "BHD": 300},
    },
    category="money",
    pending=True,
)


def settings() -> Settings:
    """The defaults: tiers at 1,000 / 5,000 / 20,000 points, 500 social+email points a day."""
    return Settings()


def test_a_fixed_rule_is_worth_its_points_whatever_the_amount() -> None:
    assert base_points(rule(points=200), None, None) == 200
    assert base_points(rule(points=200), 999_999, "KES") == 200


def test_percent_rules_take_the_share_of_the_amount_in_major_units() -> None:
    # The blueprint's example: 5% of KES 5,000 (500,000 cents) at 1 point a shilling.
    assert base_points(SESSION_PAID, 500_000, "KES") == 250
    # 5% of $20 (2,000 cents) is $1, at 130 points a dollar.
    assert base_points(SESSION_PAID, 2_000, "USD") == 130


def test_percent_rules_read_the_currency_exponent_from_iso_4217() -> None:
    # JPY has no minor unit: ¥5,000 is 5,000 minor units, 5% of it 250 yen → 250 points.
    assert base_points(SESSION_PAID, 5_000, "JPY") == 250
    # BHD has three decimals: BD 20 is 20,000 fils, 5% of it BD 1 → 300 points.
    assert base_points(SESSION_PAID, 20_000, "BHD") == 300


def test_percent_rules_round_down_and_value_no_amount_at_zero() -> None:
    # 5% of KES 19.99 is 0.9995 shillings: no whole point.
    assert base_points(SESSION_PAID, 1_999, "KES") == 0
    assert base_points(SESSION_PAID, 2_000, "KES") == 1
    assert base_points(SESSION_PAID, None, "KES") == 0
    assert base_points(SESSION_PAID, 500_000, None) == 0


def test_a_currency_without_its_own_rate_takes_the_default_rate() -> None:
    with_default = msgspec.structs.replace(
        SESSION_PAID,
        params={**SESSION_PAID.params, "default_points_per_major_unit": 2},
    )
    # 5% of €100 (10,000 cents) is €5, at the default 2 points a euro.
    assert base_points(with_default, 10_000, "EUR") == 10
    assert base_points(SESSION_PAID, 10_000, "EUR") == 5  # the default of the default is 1


def test_an_amount_in_no_iso_4217_currency_is_worth_nothing() -> None:
    assert base_points(SESSION_PAID, 500_000, "XYZ") == 0
    assert base_points(SESSION_PAID, 500_000, "kes") == 0


def _event(multiplier_pct: int, codes: list[str], start: datetime, end: datetime) -> PointsEvent:
    return PointsEvent(
        id=uuid.uuid4(),
        name="double",
        rule_codes=codes,
        multiplier_pct=multiplier_pct,
        starts_at=start,
        ends_at=end,
    )


def test_limited_time_events_multiply_chosen_rules_inside_their_window_only() -> None:
    lesson = rule()
    book = RuleBook(
        rules={lesson.code: lesson},
        events=[
            _event(200, ["lesson_completed"], AT, AT + timedelta(hours=2)),
            _event(150, ["lesson_completed"], AT, AT + timedelta(hours=1)),
            _event(500, ["assessment_passed"], AT, AT + timedelta(hours=2)),
        ],
    )
    # Overlapping events do not stack: the best multiplier applies.
    assert award_points(book, lesson, at=AT) == 20
    assert award_points(book, lesson, at=AT - timedelta(seconds=1)) == 10
    # The window's end is outside it.
    assert award_points(book, lesson, at=AT + timedelta(hours=2)) == 10
    assert award_points(book, lesson, at=AT, multiplier=2) == 40  # the mentor's share


def test_one_award_per_rule_user_and_entity_whatever_the_version() -> None:
    user = uuid.UUID(int=7)
    assert idempotency_key("lesson_completed", user, "l1") == f"rule:lesson_completed:{user}:l1"
    assert idempotency_key("signup_verified", user, None) == f"rule:signup_verified:{user}:-"


def test_an_award_counts_against_its_rules_day_and_month_and_the_social_email_cap() -> None:
    capped = rule(code="social_share", category="social", daily_limit=150, monthly_limit=2_000)
    assert caps_for(capped, settings(), AT) == [
        Cap(key="d:2026-01-05:r:social_share", limit=150),
        Cap(key="m:2026-01:r:social_share", limit=2_000),
        Cap(key="d:2026-01-05:social_email", limit=500),
    ]
    assert caps_for(rule(), settings(), AT) == []


def test_tiers_follow_the_configured_thresholds() -> None:
    configured = settings()
    assert [t for t, _ in tier_thresholds(configured)] == list(Tier)
    assert tier_for(0, configured) is Tier.BRONZE
    assert tier_for(999, configured) is Tier.BRONZE
    assert tier_for(1_000, configured) is Tier.SILVER
    assert tier_for(5_000, configured) is Tier.GOLD
    assert tier_for(1_000_000, configured) is Tier.LEGEND
    tuned = msgspec.structs.replace(configured, points_tier_silver=100)
    assert tier_for(100, tuned) is Tier.SILVER


def test_progress_to_the_next_tier_counts_from_the_current_threshold() -> None:
    configured = settings()
    assert next_tier(150, configured) == (Tier.SILVER, 850, 15)
    assert next_tier(3_000, configured) == (Tier.GOLD, 2_000, 50)
    assert next_tier(20_000, configured) == (None, None, 100)


def test_a_streak_grows_by_local_days_and_a_gap_restarts_it() -> None:
    monday = date(2026, 1, 5)
    assert advance_streak(0, 0, None, monday) == (1, 1, monday)
    assert advance_streak(1, 1, monday, monday) == (1, 1, monday)  # the same day twice
    tuesday = monday + timedelta(days=1)
    assert advance_streak(1, 1, monday, tuesday) == (2, 2, tuesday)
    thursday = monday + timedelta(days=3)
    assert advance_streak(2, 2, tuesday, thursday) == (1, 2, thursday)  # the longest stays
    # A late event for an earlier day changes nothing.
    assert advance_streak(2, 5, tuesday, monday) == (2, 5, tuesday)


def test_leaderboard_periods_are_the_iso_week_the_month_and_the_quarter() -> None:
    # 1 January 2027 is a Friday of ISO week 53 of 2026.
    assert leaderboard_periods(datetime(2027, 1, 1, tzinfo=UTC)) == {
        "weekly": "w:2026-W53",
        "monthly": "m:2027-01",
        "season": "s:2027-Q1",
    }
    assert leaderboard_periods(datetime(2026, 6, 30, tzinfo=UTC))["season"] == "s:2026-Q2"


def test_months_before_keeps_the_wall_clock_and_clamps_to_a_shorter_month() -> None:
    assert months_before(datetime(2026, 3, 31, 9, 30, tzinfo=UTC), 1) == datetime(
        2026, 2, 28, 9, 30, tzinfo=UTC
    )
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 12) == datetime(2025, 1, 15, tzinfo=UTC)
    assert months_before(datetime(2024, 3, 29, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)
