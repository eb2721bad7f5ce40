"""The inbox over HTTP: a page of notifications (by category, archived or not), the unread
count for the header badge, mark read, mark all read, archive."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from dracarys.identity import CurrentUser, authenticated
from dracarys.notifications.inbox import service
from dracarys.notifications.inbox.models import (
    Changed,
    InboxPage,
    MarkAllRead,
    MarkRead,
    UnreadCount,
)
from dracarys.platform import Platform


@get(
    "/api/v1/notifications",
    operation_id="listNotifications",
    guards=[authenticated],
    tags=["notifications"],
    summary="Your in-app notifications, newest first, with the unread counts per category",
)
async def list_notifications(
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
    category: str | None = Parameter(default=None),
    archived: bool = Parameter(default=False),
    before: str | None = Parameter(default=None),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> InboxPage:
    return await service.inbox_page(
        platform, current_user, category=category, archived=archived, before=before, limit=limit
    )


@get(
    "/api/v1/notifications/unread",
    operation_id="countUnreadNotifications",
    guards=[authenticated],
    tags=["notifications"],
    summary="How many in-app notifications you have not read (the header badge)",
)
async def unread(
    platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
) -> UnreadCount:
    return await service.unread_count(platform, current_user)


@post(
    "/api/v1/notifications/read",
    operation_id="markNotificationsRead",
    guards=[authenticated],
    tags=["notifications"],
    status_code=HTTP_200_OK,
    summary="Mark some of your notifications read",
)
async def mark_read(
    data: JSONBody[MarkRead],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> Changed:
    return await service.mark_read(platform, current_user, data)


@post(
    "/api/v1/notifications/read-all",
    operation_id="markAllNotificationsRead",
    guards=[authenticated],
    tags=["notifications"],
    status_code=HTTP_200_OK,
    summary="Mark all your notifications read (or all of one category)",
)
async def mark_all_read(
    data: JSONBody[MarkAllRead],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> Changed:
    return await service.mark_all_read(platform, current_user, data)


@post(
    "/api/v1/notifications/{notification_id:uuid}/archive",
    operation_id="archiveNotification",
    guards=[authenticated],
    tags=["notifications"],
    status_code=HTTP_200_OK,
    summary="Archive one of your notifications (it is read, and leaves the inbox)",
)
async def archive(
    notification_id: FromPath[uuid.UUID],
    platform: NamedDependency[Platform],
    current_user: NamedDependency[CurrentUser],
) -> Changed:
    return await service.archive(platform, current_user, notification_id)


ROUTES: list[Any] = [list_notifications, unread, mark_read, mark_all_read, archive]
