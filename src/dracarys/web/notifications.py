"""The notification pages' routes (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import STATIC_DIR, render_page

SERVICE_WORKER = STATIC_DIR / "sw.js"


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
    on; push opt-in), this account's push devices (and turning push on for this browser),
    and quiet hours."""
    return render_page(
        "notification_preferences.html",
        page="notification_preferences",
        title="Notification settings",
    )


@get("/sw.js", operation_id="webServiceWorker", include_in_schema=False, sync_to_thread=False)
def service_worker() -> Response[bytes]:
    """The service worker that shows Web Push notifications. Served from the site root,
    since a worker controls only the paths under its own; never cached long, so a deploy's
    new worker reaches browsers at their next visit."""
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


ROUTES: list[Any] = [inbox_page, preferences_page, service_worker]
