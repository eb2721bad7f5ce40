"""The staff alerts page's route (see pages.py for how pages are served), for reviewers
and admins."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/staff/alerts", operation_id="webStaffAlerts", include_in_schema=False, sync_to_thread=False)
def staff_alerts_page() -> Response[str]:
    """Operational alerts (chargebacks, payout failures, suspicious sign-ins, failed
    sign-in bursts, unusual points issuance), newest first, each acknowledged once seen."""
    return render_page("staff_alerts.html", page="staff_alerts", title="Alerts")


ROUTES: list[Any] = [staff_alerts_page]
