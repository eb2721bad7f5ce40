"""The analytics pages (see pages.py for how pages are served): the admins' KPIs,
retention cohorts and funnel builder, and each mentor's own numbers."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get(
    "/staff/analytics",
    operation_id="webStaffAnalytics",
    include_in_schema=False,
    sync_to_thread=False,
)
def staff_analytics_page() -> Response[str]:
    """KPIs of the analytics stream, the weekly retention cohorts and LTV, a funnel built
    from any events, and the CSV exports: every figure from the analytics API."""
    return render_page("staff_analytics.html", page="staff_analytics", title="Analytics")


@get(
    "/mentor/analytics",
    operation_id="webMentorAnalytics",
    include_in_schema=False,
    sync_to_thread=False,
)
def mentor_analytics_page() -> Response[str]:
    """A mentor's sessions sold and held, earnings by week, subscribers and ratings."""
    return render_page("mentor_analytics.html", page="mentor_analytics", title="Your numbers")


ROUTES: list[Any] = [staff_analytics_page, mentor_analytics_page]
