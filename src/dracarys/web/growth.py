"""The growth pages' routes (see pages.py for how pages are served): a member's referral
page, the affiliate page (apply, then the dashboard) and the admins' affiliate
applications."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/referrals", operation_id="webReferrals", include_in_schema=False, sync_to_thread=False)
def referrals_page() -> Response[str]:
    """The member's link (copy, QR code), their referees with each one's status, and who
    referred them: every figure from the referrals API."""
    return render_page("referrals.html", page="referrals", title="Invite friends")


@get("/affiliate", operation_id="webAffiliate", include_in_schema=False, sync_to_thread=False)
def affiliate_page() -> Response[str]:
    """Apply to the affiliate programme; once approved, the dashboard: terms, link,
    clicks, sign-ups, conversions and earnings with their charts."""
    return render_page("affiliate.html", page="affiliate", title="Affiliate programme")


@get(
    "/staff/affiliates",
    operation_id="webStaffAffiliates",
    include_in_schema=False,
    sync_to_thread=False,
)
def staff_affiliates_page() -> Response[str]:
    """Admins approve affiliate applications with terms, or reject them, and review the
    referrals the fraud rules refused."""
    return render_page(
        "staff_affiliates.html", page="staff_affiliates", title="Affiliates and referrals"
    )


ROUTES: list[Any] = [referrals_page, affiliate_page, staff_affiliates_page]
