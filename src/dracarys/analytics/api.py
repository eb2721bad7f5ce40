"""Analytics routes: the staff's KPI report, funnels and CSV exports, and each mentor's own
numbers. Handlers call services only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, PathParameter, QueryParameter
from litestar.response import Stream

from dracarys import csv_export
from dracarys.analytics.exports import service as exports
from dracarys.analytics.funnels import service as funnels
from dracarys.analytics.funnels.models import Funnel, FunnelQuery
from dracarys.analytics.kpis.models import KpiReport
from dracarys.analytics.kpis.service import kpi_report
from dracarys.analytics.mentors.models import MentorNumbers
from dracarys.analytics.mentors.service import mentor_numbers
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.platform import Platform

ADMIN = [requires_role(Role.ADMIN)]
MENTOR = [requires_role(Role.MENTOR)]
TAGS = ["analytics", "admin"]


@get(
    "/api/v1/analytics/kpis",
    operation_id="analyticsKpis",
    tags=TAGS,
    guards=ADMIN,
    summary="Activation, course completion, retention and LTV by weekly cohort, points, "
    "payouts and ratings, over the analytics event stream",
)
async def kpis(platform: NamedDependency[Platform]) -> KpiReport:
    return await kpi_report(platform)


@get(
    "/api/v1/analytics/kpis.csv",
    operation_id="analyticsKpisCsv",
    tags=TAGS,
    guards=ADMIN,
    summary="The KPI report as CSV",
    media_type="text/csv",
)
async def kpis_csv(platform: NamedDependency[Platform]) -> Response[bytes]:
    return csv_export.response(exports.kpis_csv(await kpi_report(platform)), "kpis.csv")


@get(
    "/api/v1/analytics/topics",
    operation_id="analyticsTopics",
    tags=TAGS,
    guards=ADMIN,
    summary="The event topics a funnel step may be",
    sync_to_thread=False,
)
def topics() -> list[str]:
    return funnels.topics()


@get(
    "/api/v1/analytics/funnel",
    operation_id="analyticsFunnel",
    tags=TAGS,
    guards=ADMIN,
    summary="Members reaching each step of a funnel of event topics (steps repeated in "
    "order), after the step before and within a window of entering",
)
async def funnel(
    steps: FromQuery[list[str]],
    since: FromQuery[datetime],
    until: FromQuery[datetime],
    platform: NamedDependency[Platform],
    window_days: Annotated[int, QueryParameter(ge=1, le=365)] = 30,
) -> Funnel:
    query = FunnelQuery(steps=steps, since=since, until=until, window_days=window_days)
    return await funnels.funnel(platform, query)


@get(
    "/api/v1/analytics/funnel.csv",
    operation_id="analyticsFunnelCsv",
    tags=TAGS,
    guards=ADMIN,
    summary="A funnel (steps repeated in order) as CSV",
    media_type="text/csv",
)
async def funnel_csv(
    steps: FromQuery[list[str]],
    since: FromQuery[datetime],
    until: FromQuery[datetime],
    platform: NamedDependency[Platform],
    window_days: Annotated[int, QueryParameter(ge=1, le=365)] = 30,
) -> Response[bytes]:
    query = FunnelQuery(steps=steps, since=since, until=until, window_days=window_days)
    body = exports.funnel_csv(await funnels.funnel(platform, query))
    return csv_export.response(body, "funnel.csv")


@get(
    "/api/v1/analytics/events.csv",
    operation_id="analyticsEventsCsv",
    tags=TAGS,
    guards=ADMIN,
    summary="The analytics events of a period as CSV, streamed",
    media_type="text/csv",
)
async def events_csv(
    since: FromQuery[datetime], until: FromQuery[datetime], platform: NamedDependency[Platform]
) -> Stream:
    return csv_export.streamed(exports.events_csv(platform, since, until), "analytics-events.csv")


@get(
    "/api/v1/analytics/compliance/{year:int}/{month:int}",
    operation_id="analyticsComplianceReport",
    tags=TAGS,
    guards=ADMIN,
    summary="A month's KYC decisions and payouts per currency as CSV",
    media_type="text/csv",
)
async def compliance_report(
    year: Annotated[int, PathParameter(ge=2000, le=9999)],
    month: Annotated[int, PathParameter(ge=1, le=12)],
    platform: NamedDependency[Platform],
) -> Response[bytes]:
    body = await exports.compliance_csv(platform, year, month)
    return csv_export.response(body, f"compliance-{year}-{month:02d}.csv")


@get(
    "/api/v1/analytics/mentor/me",
    operation_id="myMentorAnalytics",
    tags=["analytics"],
    guards=MENTOR,
    summary="Your sessions sold and held, earnings, subscribers and ratings",
)
async def my_mentor_numbers(
    platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
) -> MentorNumbers:
    return await mentor_numbers(platform, current_user.id)


ROUTES: list[Any] = [
    kpis,
    kpis_csv,
    topics,
    funnel,
    funnel_csv,
    events_csv,
    compliance_report,
    my_mentor_numbers,
]
