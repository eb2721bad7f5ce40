"""The notification pages' routes (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get(
    "/notifications", operation_id="webNotifications", include_in_schema=False, sync_to_thread=False
)
def inbox_page() -> Response[str]:
    """The inbox: notifications by category, new ones arriving live, read, read all,
    archive; the unread count is the header badge on every signed-in page."""
    return render_page("notifications.html", page="notifications", title="Inbox")


@get(
    "/notifications/preferences",
    operation_id="webNotificationPreferences",
    include_in_schema=False,
    sync_to_thread=False,
)
def preferences_page() -> Response[str]:
    """Which channels each category uses (account security and payment problems locked
    on; push shown as coming later) and quiet hours."""
    return render_page(
        "notification_preferences.html",
        page="notification_preferences",
        title="Notification settings",
    )


ROUTES: list[Any] = [inbox_page, preferences_page]
