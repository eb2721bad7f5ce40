"""Analytics in the browser: an admin (signed in with two-factor) reads the KPIs and the
retention cohorts of a hand-checked history and builds a three-step funnel on the page; a
mentor sees their own sessions, earnings, subscribers and ratings."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.analytics.fixture import MENTOR, at, deliver, event, history, paid
from tests.web.conftest import (
    LiveServer,
    admin_with_two_factor,
    assert_accessible,
    platform_of,
    register,
    screenshot,
    sign_in,
    sign_in_with_code,
)

pytestmark = pytest.mark.browser


async def test_an_admin_builds_a_three_step_funnel_and_reads_the_retention_cohorts(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    async with platform_of(live_server, tmp_path) as platform:
        await deliver(platform, history())
    admin, secret, _ = await admin_with_two_factor(live_server)
    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/analytics")

    # The week of 5 Jan 2026 (see tests/analytics/test_kpis.py for the arithmetic): 3 signed
    # up, 2 of 3 back on day 7, 1 of 3 on day 30.
    cohort = page.locator("#retention-rows tr[data-week='2026-01-05']")
    await expect(cohort).to_contain_text("66.7% (2 of 3)")
    await expect(cohort).to_contain_text("33.3% (1 of 3)")

    # Signed up → booked → paid in January, within 14 days: 4, 3 and 1 members.
    for n, topic in enumerate(["user.signed_up", "session.booked", "session.paid"]):
        await page.get_by_label(f"Step {n + 1}", exact=True).select_option(topic)
    await page.get_by_label("From", exact=True).fill("2026-01-01")
    await page.get_by_label("Until (not included)", exact=True).fill("2026-02-01")
    await page.get_by_label("Window (days)").fill("14")
    await page.get_by_role("button", name="Show the funnel").click()
    rows = page.locator("#funnel-rows")
    await expect(rows.locator("tr[data-step='1'] td").nth(2)).to_have_text("4")
    await expect(rows.locator("tr[data-step='2'] td").nth(2)).to_have_text("3")
    await expect(rows.locator("tr[data-step='3'] td").nth(2)).to_have_text("1")
    await expect(rows.locator("tr[data-step='2'] td").nth(3)).to_have_text("75%")
    await expect(rows.locator("tr[data-step='3'] td").nth(4)).to_have_text("25%")
    await assert_accessible(page, "staff analytics page")
    await screenshot(page, "staff-analytics-funnel")

    # A period that ends before it starts is refused beside its field.
    await page.get_by_label("Until (not included)", exact=True).fill("2025-12-01")
    await page.get_by_role("button", name="Show the funnel").click()
    await expect(page.locator("#funnel-until-error")).to_have_text(
        "The period must end after it starts."
    )


async def test_a_mentor_sees_their_sessions_earnings_subscribers_and_ratings(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Mo Mentor", role="mentor")
    other = str(MENTOR)
    mine = str(mentor.id)
    subscriber_a, subscriber_b = str(uuid.uuid4()), str(uuid.uuid4())
    release = {"reference": "r", "payer_id": str(uuid.uuid4()), "currency": "KES"}
    events = [
        # Two sessions sold, one held, 4,000.00 + 1,500.00 KES released to this mentor.
        {**paid(uuid.uuid4(), at(3, 2)).payload, "mentor_id": mine},
        {**paid(uuid.uuid4(), at(3, 3)).payload, "mentor_id": mine},
    ]
    seeded = [
        event("session.paid", at(3, 2), **events[0]),
        event("session.paid", at(3, 3), **events[1]),
        event(
            "session.completed", at(3, 4), session_id=uuid.uuid4(), mentor_id=mine, mentee_ids=[]
        ),
        event(
            "escrow.released",
            at(3, 4),
            escrow_id=uuid.uuid4(),
            mentor_id=mine,
            amount_minor=500000,
            mentor_minor=400000,
            **release,
        ),
        event(
            "escrow.released",
            at(3, 11),
            escrow_id=uuid.uuid4(),
            mentor_id=mine,
            amount_minor=200000,
            mentor_minor=150000,
            **release,
        ),
        # Subscribers: a started; b started then lapsed = 1 active of 2.
        *[
            event(
                topic,
                at(3, 5 + n),
                subscription_id=uuid.uuid4(),
                subscriber_id=who,
                mentor_id=mine,
                amount_minor=1000,
                currency="KES",
                billing_status="paid",
            )
            for n, (topic, who) in enumerate(
                [
                    ("subscription.started", subscriber_a),
                    ("subscription.started", subscriber_b),
                    ("subscription.lapsed", subscriber_b),
                ]
            )
        ],
        # Rated 4 and 5: 4.5. Another mentor's events do not count.
        event(
            "session.rated",
            at(3, 4),
            session_id=uuid.uuid4(),
            rater_id=uuid.uuid4(),
            rated_id=mine,
            rating=4,
        ),
        event(
            "session.rated",
            at(3, 5),
            session_id=uuid.uuid4(),
            rater_id=uuid.uuid4(),
            rated_id=mine,
            rating=5,
        ),
        event(
            "session.completed", at(3, 4), session_id=uuid.uuid4(), mentor_id=other, mentee_ids=[]
        ),
    ]
    async with platform_of(live_server, tmp_path) as platform:
        await deliver(platform, seeded)
    page = await context.new_page()
    await sign_in(page, live_server, mentor, "/mentor/analytics")

    await expect(page.locator("#sessions-paid")).to_have_text("2")
    await expect(page.locator("#sessions-completed")).to_have_text("1")
    await expect(page.locator("#subscribers-active")).to_have_text("1")
    await expect(page.locator("#subscribers-ever")).to_have_text("2")
    await expect(page.locator("#average-rating")).to_have_text("4.5 of 5 (2)")
    await expect(page.locator("#earnings-rows")).to_contain_text("5,500.00 KES")
    await assert_accessible(page, "mentor analytics page")
    await screenshot(page, "mentor-analytics")
