"""The session pages' routes: a member's booked sessions (join, cancel or move under the
refund policy, invitations, the calendar feed, ratings) and a mentor's week of sessions
with their availability and session types (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/sessions", operation_id="webMySessions", include_in_schema=False, sync_to_thread=False)
def my_sessions_page() -> Response[str]:
    """Upcoming and past bookings: the room link in the join window, cancel with the refund
    the server quotes before confirming, move to another free slot, `.ics` invitations,
    the private calendar feed and rating the mentor after the session."""
    return render_page("sessions.html", page="sessions", title="My sessions")


@get(
    "/mentor/sessions",
    operation_id="webMentorSessions",
    include_in_schema=False,
    sync_to_thread=False,
)
def mentor_sessions_page() -> Response[str]:
    """The mentor's week of booked sessions in their timezone (join, attendance, complete,
    rate the mentee, recording link), the availability editor with a preview of the slots
    mentees see, and session types."""
    return render_page("mentor_sessions.html", page="mentor_sessions", title="Teaching sessions")


ROUTES: list[Any] = [my_sessions_page, mentor_sessions_page]
