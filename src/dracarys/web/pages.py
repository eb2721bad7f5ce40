"""The browser app: server-rendered page shells (Jinja2) and the static assets they
load, served by the same app as the API. No build step: the pages' scripts are small
hand-written ES modules and the one library they use (TradingView Lightweight Charts) is
vendored under `static/vendor/`.

A page carries no user data: the browser holds the access and refresh tokens and every
number on screen comes from an API response or a stream frame, so the HTML is the same for
every visitor and can be cached. Each area of the app (account, wallet, ...) keeps its
routes in a module of its own; this one lists them all."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from dracarys.identity import Specialty
from dracarys.web import (
    account,
    alerts,
    aml,
    analytics,
    broker,
    chat,
    community,
    drips,
    growth,
    kyc,
    learning,
    market_data,
    notification_templates,
    notifications,
    onboarding,
    people,
    promo_codes,
    sessions,
    sharing,
    social,
    staff_alerts,
    staff_money,
    wallet,
)
from dracarys.web.render import STATIC_DIR, render_page


@get("/", operation_id="webHome", include_in_schema=False, sync_to_thread=False)
def landing_page() -> Response[str]:
    """Visitors read what the platform is; a signed-in browser goes on to its home."""
    return render_page(
        "landing.html", page="landing", title="Learn to trade from mentors who show their record"
    )


@get("/staff", operation_id="webStaffHome", include_in_schema=False, sync_to_thread=False)
def staff_home_page() -> Response[str]:
    return render_page("staff.html", page="staff", title="Staff home")


@get("/signin", operation_id="webSignIn", include_in_schema=False, sync_to_thread=False)
def sign_in_page() -> Response[str]:
    return render_page("signin.html", page="signin", title="Sign in")


@get("/signup", operation_id="webSignUp", include_in_schema=False, sync_to_thread=False)
def sign_up_page() -> Response[str]:
    return render_page("signup.html", page="signup", title="Create an account")


@get("/dashboard", operation_id="webDashboard", include_in_schema=False, sync_to_thread=False)
def dashboard_page() -> Response[str]:
    return render_page("dashboard.html", page="dashboard", title="Paper trading")


@get("/signals", operation_id="webSignalFeed", include_in_schema=False, sync_to_thread=False)
def signal_feed_page() -> Response[str]:
    return render_page("signals.html", page="signals", title="Signal feed")


@get("/mentor", operation_id="webMentorConsole", include_in_schema=False, sync_to_thread=False)
def mentor_console_page() -> Response[str]:
    return render_page("mentor.html", page="mentor", title="Mentor console")


@get("/backtests", operation_id="webBacktests", include_in_schema=False, sync_to_thread=False)
def backtests_page() -> Response[str]:
    return render_page("backtests.html", page="backtests", title="Backtests")


@get(
    "/backtests/{backtest_id:uuid}",
    operation_id="webBacktestReport",
    include_in_schema=False,
    sync_to_thread=False,
)
def backtest_report_page(backtest_id: FromPath[uuid.UUID]) -> Response[str]:
    return render_page(
        "backtest_report.html",
        page="backtests",
        title="Backtest report",
        script="backtest_report",
        backtest_id=str(backtest_id),
    )


@get("/points", operation_id="webPoints", include_in_schema=False, sync_to_thread=False)
def points_page() -> Response[str]:
    return render_page("points.html", page="points", title="Points")


@get("/mentors", operation_id="webMentors", include_in_schema=False, sync_to_thread=False)
def mentors_page() -> Response[str]:
    return render_page(
        "mentors.html", page="mentors", title="Mentors", specialties=[s.value for s in Specialty]
    )


@get(
    "/mentors/{mentor_id:uuid}",
    operation_id="webMentorProfile",
    include_in_schema=False,
    sync_to_thread=False,
)
def mentor_profile_page(mentor_id: FromPath[uuid.UUID]) -> Response[str]:
    """A mentor's public profile, for members and visitors alike (the script reads the
    mentor from the API; an unknown one says so on the page)."""
    return render_page(
        "mentor_profile.html",
        page="mentors",
        title="Mentor",
        script="mentor_profile",
        mentor_id=str(mentor_id),
    )


static_files = create_static_files_router(
    path="/static",
    directories=[STATIC_DIR],
    name="web_static",
    # Short: assets are not fingerprinted, and a deploy must reach browsers quickly.
    cache_control=CacheControlHeader(max_age=300),
)

WEB_ROUTES: list[Any] = [
    landing_page,
    staff_home_page,
    sign_in_page,
    sign_up_page,
    dashboard_page,
    signal_feed_page,
    mentor_console_page,
    backtests_page,
    backtest_report_page,
    points_page,
    mentors_page,
    mentor_profile_page,
    *account.ROUTES,
    *onboarding.ROUTES,
    *kyc.ROUTES,
    *notifications.ROUTES,
    *drips.ROUTES,
    *market_data.ROUTES,
    *wallet.ROUTES,
    *promo_codes.ROUTES,
    *aml.ROUTES,
    *notification_templates.ROUTES,
    *people.ROUTES,
    *staff_money.ROUTES,
    *staff_alerts.ROUTES,
    *social.ROUTES,
    *sessions.ROUTES,
    *learning.ROUTES,
    *sharing.ROUTES,
    *growth.ROUTES,
    *chat.ROUTES,
    *community.ROUTES,
    *alerts.ROUTES,
    *broker.ROUTES,
    *analytics.ROUTES,
    static_files,
]
