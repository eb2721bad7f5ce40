"""KPIs and funnels over the hand-checked history in `fixture.py` (as of 20 Feb 2026):
every expected number is worked out by hand in the comments, from the timeline there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest

from dracarys.analytics.funnels.models import FunnelQuery
from dracarys.analytics.funnels.service import funnel
from dracarys.analytics.kpis.service import kpi_report
from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from tests.analytics.fixture import AS_OF, at, deliver, history
from tests.support import AppClient, TestUser


async def seeded(platform: Platform, clock: ManualClock) -> None:
    await deliver(platform, history())
    clock.set(AS_OF)


async def test_activation_counts_sign_ups_with_a_paid_session_since(
    platform: Platform, clock: ManualClock
) -> None:
    await seeded(platform, clock)

    report = await kpi_report(platform)

    # Signed up: u1..u5 (u6 has no sign-up in the stream) = 5. Paid a session at or after
    # signing up: u1 (6 Jan), u3 (15 Feb), u4 (12 Jan 09:00, an hour after), u5 (16 Feb);
    # u2 never paid = 4. Rate 4/5.
    assert (report.activation.signed_up, report.activation.activated) == (5, 4)
    assert report.activation.rate == 0.8


async def test_retention_by_weekly_cohort_counts_day_7_and_30_returns(
    platform: Platform, clock: ManualClock
) -> None:
    await seeded(platform, clock)

    report = await kpi_report(platform)

    rows = [
        (c.week, c.signed_up, c.d7_eligible, c.d7_retained, c.d30_eligible, c.d30_retained)
        for c in report.retention
    ]
    assert rows == [
        # Week of 5 Jan: u1, u2, u3 (u3 on Sunday 11 Jan). All three are 30 days old by
        # 20 Feb. Last seen: u1 20 Jan (day 15: D7 yes, D30 no); u2 8 Jan (day 1: no, no);
        # u3 15 Feb (day 35: yes, yes). D7 2/3, D30 1/3.
        (date(2026, 1, 5), 3, 3, 2, 3, 1),
        # Week of 12 Jan: u4, last seen 19 Jan 09:00, one hour past day 7 (19 Jan 08:00):
        # D7 1/1; day 30 is 11 Feb: D30 0/1.
        (date(2026, 1, 12), 1, 1, 1, 1, 0),
        # Week of 9 Feb: u5 signed up on Sunday 15 Feb; day 7 (22 Feb) has not come.
        (date(2026, 2, 9), 1, 0, 0, 0, 0),
    ]
    assert report.retention[0].d7_rate == 2 / 3
    assert report.retention[2].d7_rate is None


async def test_course_completion_ltv_points_payouts_and_ratings(
    platform: Platform, clock: ManualClock
) -> None:
    await seeded(platform, clock)

    report = await kpi_report(platform)

    # Enrolments (member, program): (u1, P) twice counts once, (u2, P) = 2; completed:
    # (u1, P) only (u2's certificate is for Q) = 1.
    assert (report.course_completion.enrolments, report.course_completion.completions) == (
        2,
        1,
    )
    # Week of 5 Jan paid 5,000 (u1) + 3,000 (u3) = 8,000 KES minor over 3 members: 2,666.
    # (u4 and u5 captured nothing.)
    assert [(r.week, r.currency, r.members, r.paid_minor, r.ltv_minor) for r in report.ltv] == [
        (date(2026, 1, 5), "KES", 3, 8000, 2666)
    ]
    # Issued 100 + 50 = 150 to 2 members, voided 20, redeemed 30.
    points = report.points
    assert (points.issued, points.voided, points.redeemed, points.members_awarded) == (
        150,
        20,
        30,
        2,
    )
    assert points.average_per_member == 75
    # Payouts: 2 completed, 1 failed: accuracy 2/3. Ratings 4, 5 and 3: 4.0. NPS answers
    # 10 and 9 (promoters) and 3 (a detractor): (2 - 1) / 3 = 33.3.
    assert (report.payouts.completed, report.payouts.failed, report.payouts.accuracy) == (
        2,
        1,
        2 / 3,
    )
    satisfaction = report.satisfaction
    assert (satisfaction.ratings, satisfaction.average_rating) == (3, 4.0)
    assert (satisfaction.nps_answers, satisfaction.promoters, satisfaction.detractors) == (
        3,
        2,
        1,
    )
    assert satisfaction.nps == 100 / 3


async def test_a_three_step_funnel_counts_members_in_order_within_the_window(
    platform: Platform, clock: ManualClock
) -> None:
    await seeded(platform, clock)

    result = await funnel(
        platform,
        FunnelQuery(
            steps=["user.signed_up", "session.booked", "session.paid"],
            since=at(1, 1),
            until=at(2, 1),
            window_days=14,
        ),
    )

    # Enter (signed up in January): u1, u2, u3, u4 = 4 (u5 signed up in February).
    # Booked after signing up, within 14 days: u1 (5 Jan), u3 (12 Jan), u4 (13 Jan) = 3.
    # Paid after booking, within 14 days of signing up: u1 (6 Jan) only; u3 paid on 15 Feb
    # (past 25 Jan), u4 paid before booking = 1.
    assert [(s.topic, s.members) for s in result.steps] == [
        ("user.signed_up", 4),
        ("session.booked", 3),
        ("session.paid", 1),
    ]
    assert [s.from_previous for s in result.steps] == [None, 0.75, 1 / 3]
    assert result.steps[2].from_first == 0.25


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"steps": ["user.signed_up", "user.flew_away"]},
            "steps[1]",
            "Step 2 is not an event analytics records",
        ),
        ({"steps": ["user.signed_up"]}, "steps", "Choose two to 8 steps."),
        (
            {"steps": ["user.signed_up", "session.paid"], "until": "2025-12-01T00:00:00Z"},
            "until",
            "The period must end after it starts.",
        ),
    ],
)
async def test_a_funnel_with_an_unknown_step_or_a_backwards_period_is_refused_naming_it(
    client: AppClient,
    make_user: Callable[..., Awaitable[TestUser]],
    params: dict[str, str | list[str]],
    field: str,
    message: str,
) -> None:
    admin = await make_user(role=Role.ADMIN)
    query: dict[str, str | list[str]] = {
        "since": "2026-01-01T00:00:00Z",
        "until": "2026-02-01T00:00:00Z",
        **params,
    }

    response = await client.get("/api/v1/analytics/funnel", params=query, headers=admin.headers)

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == field
    assert error["message"].startswith(message)


async def test_the_analytics_api_is_for_admins_and_the_mentor_page_for_mentors(
    client: AppClient, make_user: Callable[..., Awaitable[TestUser]]
) -> None:
    mentor = await make_user(role=Role.MENTOR)
    mentee = await make_user(role=Role.MENTEE)

    assert (await client.get("/api/v1/analytics/kpis", headers=mentor.headers)).status_code == 403
    own = await client.get("/api/v1/analytics/mentor/me", headers=mentor.headers)
    assert own.status_code == 200
    assert own.json()["sessions_completed"] == 0
    assert (
        await client.get("/api/v1/analytics/mentor/me", headers=mentee.headers)
    ).status_code == 403
