"""AML routes for staff (reviewers and admins, with two-factor): alerts and their
acknowledgement, cases (assign, notes, decisions, the report export) and the rules
editor. Everyone else gets a 403."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from dracarys import csv_export
from dracarys.admin.aml import service
from dracarys.admin.aml.models import (
    Alert,
    AlertSummary,
    AssignInput,
    CaseDetail,
    CaseSummary,
    DecisionInput,
    NoteInput,
    RuleUpdate,
    RuleView,
)
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.platform import Platform

STAFF = [requires_role(Role.REVIEWER, Role.ADMIN)]


class AmlController(Controller):
    path = "/api/v1/admin/aml"
    tags = ("admin-aml",)
    guards = STAFF

    @get("/alerts", operation_id="listAmlAlerts", summary="AML alerts, newest first")
    async def alerts(
        self,
        platform: NamedDependency[Platform],
        unacknowledged: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[AlertSummary]:
        return await service.list_alerts(platform, unacknowledged=unacknowledged, limit=limit)

    alerts_csv = csv_export.download_route(alerts, AlertSummary, "aml-alerts.csv")

    @post(
        "/alerts/{alert_id:uuid}/acknowledge",
        operation_id="acknowledgeAmlAlert",
        summary="Mark an alert as seen",
        status_code=HTTP_200_OK,
    )
    async def acknowledge(
        self,
        alert_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Alert:
        return await service.acknowledge_alert(
            platform, current_user, alert_id, source_ip=source_ip(request)
        )

    @get("/cases", operation_id="listAmlCases", summary="Cases under review, or decided ones")
    async def cases(
        self,
        platform: NamedDependency[Platform],
        decided: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[CaseSummary]:
        return await service.list_cases(platform, decided=decided, limit=limit)

    cases_csv = csv_export.download_route(cases, CaseSummary, "aml-cases.csv")

    @get("/cases/{case_id:uuid}", operation_id="getAmlCase", summary="A case with its timeline")
    async def case(
        self, case_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> CaseDetail:
        return await service.case_detail(platform, case_id)

    @post(
        "/cases/{case_id:uuid}/assign",
        operation_id="assignAmlCase",
        summary="Give a case to a reviewer or admin",
        status_code=HTTP_200_OK,
    )
    async def assign(
        self,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[AssignInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> CaseDetail:
        return await service.assign_case(
            platform, current_user, case_id, data.assignee_id, source_ip=source_ip(request)
        )

    @post(
        "/cases/{case_id:uuid}/notes",
        operation_id="addAmlCaseNote",
        summary="Add a note to a case's timeline",
        status_code=HTTP_200_OK,
    )
    async def note(
        self,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[NoteInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> CaseDetail:
        return await service.add_note(
            platform, current_user, case_id, data.body, source_ip=source_ip(request)
        )

    @post(
        "/cases/{case_id:uuid}/decision",
        operation_id="decideAmlCase",
        summary="Clear (withdrawals released), escalate, or close with a report filed",
        status_code=HTTP_200_OK,
    )
    async def decide(
        self,
        case_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> CaseDetail:
        return await service.decide_case(
            platform, current_user, case_id, data, source_ip=source_ip(request)
        )

    @post(
        "/cases/{case_id:uuid}/export",
        operation_id="exportAmlCase",
        summary="The case as a JSON report for the authority (alerts, movements, notes)",
        status_code=HTTP_200_OK,
    )
    async def export(
        self,
        case_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Response[bytes]:
        report = await service.export_case(
            platform, current_user, case_id, source_ip=source_ip(request)
        )
        return Response(
            content=msgspec.json.encode(report),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="aml-case-{case_id}.json"',
                "Cache-Control": "no-store",
            },
        )

    @post(
        "/cases/{case_id:uuid}/export.csv",
        operation_id="exportAmlCaseCsv",
        summary="The case as a CSV report for the authority (alerts, movements, notes)",
        status_code=HTTP_200_OK,
        media_type=csv_export.MEDIA_TYPE,
    )
    async def export_csv(
        self,
        case_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Response[bytes]:
        report = await service.export_case(
            platform, current_user, case_id, source_ip=source_ip(request)
        )
        return csv_export.response(service.case_report_csv(report), f"aml-case-{case_id}.csv")

    @get(
        "/reports/{year:int}/{month:int}",
        operation_id="monthlyAmlCasesReport",
        summary="The AML cases opened or decided in a month, as CSV (compliance report)",
        media_type=csv_export.MEDIA_TYPE,
    )
    async def monthly_report(
        self,
        year: Annotated[int, PathParameter(ge=2000, le=9999)],
        month: Annotated[int, PathParameter(ge=1, le=12)],
        platform: NamedDependency[Platform],
    ) -> Response[bytes]:
        body = await service.monthly_cases_csv(platform, year, month)
        return csv_export.response(body, f"aml-cases-{year}-{month:02d}.csv")

    @get("/rules", operation_id="listAmlRules", summary="The AML rules of every country")
    async def rules(self, platform: NamedDependency[Platform]) -> list[RuleView]:
        return await service.list_rules(platform)

    @patch(
        "/rules/{rule_id:uuid}",
        operation_id="updateAmlRule",
        summary="Change a rule's parameters, action or switch",
    )
    async def update_rule(
        self,
        rule_id: FromPath[uuid.UUID],
        data: JSONBody[RuleUpdate],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> RuleView:
        return await service.update_rule(
            platform, current_user, rule_id, data, source_ip=source_ip(request)
        )


ROUTES: list[Any] = [AmlController]
