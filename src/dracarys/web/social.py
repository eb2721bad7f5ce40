"""The growth pages' routes (see pages.py for how pages are served): a member's referral
page."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/referrals", operation_id="webReferrals", include_in_schema=False, sync_to_thread=False)
def referrals_page() -> Response[str]:
    """The member's link (copy, QR code), their referees with each one's status, and who
    referred them: every figure from the referrals API."""
    return render_page("referrals.html", page="referrals", title="Invite friends")


ROUTES: list[Any] = [referrals_page]
