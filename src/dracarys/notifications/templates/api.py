"""Notification templates over HTTP, for admins: every text, one text with its variables,
sample values and history, a live preview, save, and revert."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys import csv_export
from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, Language, Role, requires_role
from dracarys.notifications.templates import service
from dracarys.notifications.templates.models import (
    Preview,
    RevertInput,
    TemplateDetail,
    TemplateInput,
    TemplateSummary,
)
from dracarys.platform import Platform

_ONE = "/notification-templates/{kind:str}/{channel:str}/{language:str}"


class NotificationTemplatesController(Controller):
    path = "/api/v1/admin"
    tags = ("notifications-admin",)
    guards = (requires_role(Role.ADMIN),)

    @get(
        "/notification-templates",
        operation_id="listNotificationTemplates",
        summary="Every notification text (kind × channel × language) and its active version",
    )
    async def list_all(
        self, platform: NamedDependency[Platform], language: FromQuery[Language | None] = None
    ) -> list[TemplateSummary]:
        return await service.list_templates(platform, language)

    list_all_csv = csv_export.download_route(
        list_all, TemplateSummary, "notification-templates.csv"
    )

    @get(
        _ONE,
        operation_id="getNotificationTemplate",
        summary="One text: its active version, variables, sample values and history",
    )
    async def one(
        self,
        kind: FromPath[str],
        channel: FromPath[str],
        language: FromPath[str],
        platform: NamedDependency[Platform],
    ) -> TemplateDetail:
        return await service.template_detail(platform, kind, channel, language)

    @post(
        f"{_ONE}/preview",
        operation_id="previewNotificationTemplate",
        status_code=HTTP_200_OK,
        summary="A text filled with sample values, and what saving it would refuse",
    )
    async def preview(
        self,
        kind: FromPath[str],
        channel: FromPath[str],
        language: FromPath[str],
        data: JSONBody[TemplateInput],
        platform: NamedDependency[Platform],
    ) -> Preview:
        return service.preview_template(platform, kind, channel, language, data)

    @post(
        f"{_ONE}/versions",
        operation_id="saveNotificationTemplate",
        status_code=HTTP_201_CREATED,
        summary="Save a new version (422 naming the field and the variable when it is wrong)",
    )
    async def save(
        self,
        kind: FromPath[str],
        channel: FromPath[str],
        language: FromPath[str],
        data: JSONBody[TemplateInput],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> TemplateDetail:
        return await service.save_template(
            platform,
            current_user,
            kind,
            channel,
            language,
            data,
            source_ip=source_ip(request),
        )

    @post(
        f"{_ONE}/revert",
        operation_id="revertNotificationTemplate",
        status_code=HTTP_201_CREATED,
        summary="Go back to an earlier version (0: the built-in text), as a new version",
    )
    async def revert(
        self,
        kind: FromPath[str],
        channel: FromPath[str],
        language: FromPath[str],
        data: JSONBody[RevertInput],
        request: Request[Any, Any, Any],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> TemplateDetail:
        return await service.revert_template(
            platform,
            current_user,
            kind,
            channel,
            language,
            data,
            source_ip=source_ip(request),
        )


ROUTES: list[Any] = [NotificationTemplatesController]
