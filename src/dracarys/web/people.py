"""The staff console's people pages (see pages.py for how pages are served), for
reviewers and admins: the KYC review queue with its document viewer, finding a member and
one member's account (role, KYC level, ban, sessions, audit trail), and the mentors'
vetting queue. What only admins may do is hidden from reviewers by the page's script and
refused by the API."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get
from litestar.params import FromPath

from dracarys.web.render import render_page


@get("/staff/kyc", operation_id="webStaffKyc", include_in_schema=False, sync_to_thread=False)
def kyc_reviews_page() -> Response[str]:
    """KYC documents waiting for review, oldest first; each opened beside the member's
    current level, approved, or rejected with a reason."""
    return render_page("staff_kyc.html", page="staff_kyc", title="KYC reviews")


@get("/staff/users", operation_id="webStaffUsers", include_in_schema=False, sync_to_thread=False)
def members_page() -> Response[str]:
    """Find a member by e-mail address or id."""
    return render_page("staff_users.html", page="staff_users", title="Members")


@get(
    "/staff/users/{user_id:uuid}",
    operation_id="webStaffUser",
    include_in_schema=False,
    sync_to_thread=False,
)
def member_page(user_id: FromPath[uuid.UUID]) -> Response[str]:
    """One member: profile, role, KYC level, ban, signed-in sessions, audit trail."""
    return render_page(
        "staff_user.html", page="staff_users", title="Member", script="staff_user", user_id=user_id
    )


@get(
    "/staff/mentors", operation_id="webStaffMentors", include_in_schema=False, sync_to_thread=False
)
def mentor_vetting_page() -> Response[str]:
    """Mentors on probation or unverified: verify them, end their probation, set their
    contract share (admins)."""
    return render_page("staff_mentors.html", page="staff_mentors", title="Mentor vetting")


ROUTES: list[Any] = [kyc_reviews_page, members_page, member_page, mentor_vetting_page]
