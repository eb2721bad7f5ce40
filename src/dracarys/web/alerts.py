"""The TradingView alerts page's route (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get(
    "/mentor/alerts", operation_id="webMentorAlerts", include_in_schema=False, sync_to_thread=False
)
def mentor_alerts_page() -> Response[str]:
    """A mentor's TradingView webhook: create, rotate or revoke its secret URL, copy the
    alert template, and the alerts received with what became of each."""
    return render_page("mentor_alerts.html", page="mentor_alerts", title="TradingView alerts")


ROUTES: list[Any] = [mentor_alerts_page]
