"""Staff alert routes for reviewers and admins (with two-factor): the alerts, newest
first, and their acknowledgement. Everyone else gets a 403."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from dracarys import csv_export
from dracarys.admin.alerts import service
from dracarys.admin.alerts.models import StaffAlert, StaffAlertView
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.platform import Platform

STAFF = [requires_role(Role.REVIEWER, Role.ADMIN)]


class StaffAlertsController(Controller):
    path = "/api/v1/admin"
    tags = ("admin-alerts",)
    guards = STAFF

    @get("/alerts", operation_id="listStaffAlerts", summary="Operational alerts, newest first")
    async def alerts(
        self,
        platform: NamedDependency[Platform],
        unacknowledged: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[StaffAlertView]:
        return await service.list_alerts(platform, unacknowledged=unacknowledged, limit=limit)

    @post(
        "/alerts/{alert_id:uuid}/acknowledge",
        operation_id="acknowledgeStaffAlert",
        summary="Mark an operational alert as seen",
        status_code=HTTP_200_OK,
    )
    async def acknowledge(
        self,
        alert_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> StaffAlert:
        return await service.acknowledge_alert(
            platform, current_user, alert_id, source_ip=source_ip(request)
        )

    alerts_csv = csv_export.download_route(alerts, StaffAlertView, "alerts.csv")


ROUTES: list[Any] = [StaffAlertsController]
