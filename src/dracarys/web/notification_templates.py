"""The admins' notification texts page (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get(
    "/staff/templates",
    operation_id="webNotificationTemplates",
    include_in_schema=False,
    sync_to_thread=False,
)
def notification_templates_page() -> Response[str]:
    """Every notification's texts per channel and language: edit one with a live preview
    filled with sample values, save it as a new version, go back to an earlier one; every
    text and figure from the admin notification templates API."""
    return render_page(
        "notification_templates.html",
        page="notification_templates",
        title="Notification texts",
    )


ROUTES: list[Any] = [notification_templates_page]
