"""The drip programs' staff page route (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/staff/drips", operation_id="webStaffDrips", include_in_schema=False, sync_to_thread=False)
def drips_page() -> Response[str]:
    """Admins: each program's steps with sent/opened/clicked, its enrolments, pause and
    resume, and a step's delay and texts edited."""
    return render_page("staff_drips.html", page="staff_drips", title="Drip e-mails")


ROUTES: list[Any] = [drips_page]
