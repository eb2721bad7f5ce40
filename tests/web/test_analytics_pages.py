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
from tests.analytics.test_kpis_costs_and_latency import history as costs_history
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


async def test_an_admin_reads_ltv_against_cac_fill_rate_fraud_and_response_and_payout_times(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    async with platform_of(live_server, tmp_path) as platform:
        await deliver(platform, costs_history())
    admin, secret, _ = await admin_with_two_factor(live_server)
    page = await context.new_page()
    await sign_in_with_code(page, live_server, admin, secret, "/staff/analytics")

    # The arithmetic is in tests/analytics/test_kpis_costs_and_latency.py.
    cohort = page.locator("#acquisition-rows tr[data-week='2026-01-05'][data-currency='KES'] td")
    await expect(cohort.nth(2)).to_have_text("2")
    await expect(cohort.nth(3)).to_contain_text("75.00")  # LTV 7,500 minor
    await expect(cohort.nth(6)).to_contain_text("7.50")  # CAC 750 minor
    await expect(cohort.nth(7)).to_have_text("10×")
    await expect(page.locator("#kpi-fill")).to_have_text("60% (3 of 5 seats)")
    await expect(page.locator("#kpi-utilisation")).to_have_text("58.8% (150 of 255 min)")
    await expect(page.locator("#kpi-points-fraud")).to_have_text("12.5% (50 reversed)")
    await expect(page.locator("#kpi-payout-latency")).to_have_text(
        "median 10 minutes, p95 60 minutes (3 paid)"
    )
    requests = page.locator("#response-rows tr[data-kind='message_request'] td")
    await expect(requests.nth(1)).to_have_text("3")
    await expect(requests.nth(2)).to_have_text("30 minutes")
    await expect(requests.nth(3)).to_have_text("2 hours")
    await assert_accessible(page, "staff analytics page, costs and latency")
    await screenshot(page, "staff-analytics-costs")


async def test_a_mentor_sees_their_sessions_earnings_subscribers_and_ratings(
    context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    mentor = await register(live_server, name="Mo Mentor", role="mentor")
    other = str(MENTOR)
    mine = str(mentor.id)
    subscriber_a, subscriber_b = str(uuid.uuid4()), str(uuid.uuid4())
    slot = uuid.uuid4()
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
        # A slot of two seats, one booked (50%); two messages answered in 4 and 10 min.
        event(
            "slot.offered",
            at(3, 1),
            slot_id=slot,
            mentor_id=mine,
            session_type_id=uuid.uuid4(),
            starts_at=at(3, 9).isoformat(),
            minutes=60,
            seats=2,
        ),
        event(
            "session.booked",
            at(3, 1),
            session_id=slot,
            booking_id=uuid.uuid4(),
            mentee_id=uuid.uuid4(),
            mentor_id=mine,
            starts_at=at(3, 9).isoformat(),
            slot_id=slot,
            minutes=60,
        ),
        *[
            event(
                "mentor.responded",
                at(3, 6),
                mentor_id=mine,
                mentee_id=uuid.uuid4(),
                conversation_id=uuid.uuid4(),
                kind="message",
                requested_at=at(3, 5).isoformat(),
                seconds=seconds,
            )
            for seconds in (240, 600)
        ],
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
    await expect(page.locator("#fill-rate")).to_have_text("50% (1 of 2)")
    messages = page.locator("#response-rows tr[data-kind='message'] td")
    await expect(messages.nth(1)).to_have_text("2")
    await expect(messages.nth(2)).to_have_text("7 minutes")
    await expect(messages.nth(3)).to_have_text("10 minutes")
    await assert_accessible(page, "mentor analytics page")
    await screenshot(page, "mentor-analytics")
