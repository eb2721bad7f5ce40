"""Affiliate routes: apply, the affiliate's dashboard, and the admins' queue of
applications with their decision."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.social.affiliates import service
from dracarys.social.affiliates.models import (
    AffiliateApplication,
    AffiliateDashboard,
    AffiliateDecision,
    AffiliateView,
)

ADMIN = [requires_role(Role.ADMIN)]


@post(
    "/api/v1/affiliates/apply",
    operation_id="applyAsAffiliate",
    tags=["social"],
    guards=[authenticated],
    status_code=HTTP_201_CREATED,
    summary="Apply to the affiliate programme",
)
async def apply_as_affiliate(
    data: JSONBody[AffiliateApplication],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> AffiliateView:
    return await service.apply(platform, current_user, data)


@get(
    "/api/v1/affiliates/me",
    operation_id="myAffiliateDashboard",
    tags=["social"],
    guards=[authenticated],
    summary="Your affiliate application or terms, clicks, sign-ups, conversions and earnings",
)
async def my_affiliate_dashboard(
    platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
) -> AffiliateDashboard:
    return await service.dashboard(platform, current_user.id)


@get(
    "/api/v1/affiliates/applications",
    operation_id="listAffiliateApplications",
    tags=["social", "admin"],
    guards=ADMIN,
    summary="Affiliate applications waiting for a decision, oldest first",
)
async def affiliate_applications(platform: NamedDependency[Platform]) -> list[AffiliateView]:
    return await service.applications(platform)


affiliate_applications_csv = csv_export.download_route(
    affiliate_applications, AffiliateView, "affiliate-applications.csv"
)


@post(
    "/api/v1/affiliates/{user_id:uuid}/decision",
    operation_id="decideAffiliateApplication",
    tags=["social", "admin"],
    guards=ADMIN,
    status_code=HTTP_200_OK,
    summary="Approve (with terms) or reject an affiliate application",
)
async def decide_affiliate_application(
    user_id: FromPath[uuid.UUID],
    data: JSONBody[AffiliateDecision],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    request: Request[Any, Any, Any],
) -> AffiliateView:
    return await service.decide(
        platform,
        current_user,
        user_id,
        data,
        source_ip=source_ip(request),
    )


ROUTES: list[Any] = [
    apply_as_affiliate,
    my_affiliate_dashboard,
    affiliate_applications,
    affiliate_applications_csv,
    decide_affiliate_application,
]
