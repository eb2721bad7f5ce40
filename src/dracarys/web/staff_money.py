"""The staff console's money and points pages (see pages.py for how pages are served):
payouts to settle, escrow disputes to decide, chargebacks, the points review queue with
rules, events and the economy's health, and merch orders to fulfil. Each page is a shell;
its script reads the wallet's and points' staff APIs."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get(
    "/staff/payouts", operation_id="webStaffPayouts", include_in_schema=False, sync_to_thread=False
)
def payouts_page() -> Response[str]:
    """Payouts held for review, stuck in flight or waiting for a bank transfer (admins)."""
    return render_page("staff_payouts.html", page="staff_payouts", title="Payouts to settle")


@get(
    "/staff/disputes",
    operation_id="webStaffDisputes",
    include_in_schema=False,
    sync_to_thread=False,
)
def disputes_page() -> Response[str]:
    """Open escrow disputes with both sides' evidence, decided with a refund (admins)."""
    return render_page("staff_disputes.html", page="staff_disputes", title="Escrow disputes")


@get(
    "/staff/chargebacks",
    operation_id="webStaffChargebacks",
    include_in_schema=False,
    sync_to_thread=False,
)
def chargebacks_page() -> Response[str]:
    """Card chargebacks and the deposits they hit (admins)."""
    return render_page("staff_chargebacks.html", page="staff_chargebacks", title="Chargebacks")


@get("/staff/points", operation_id="webStaffPoints", include_in_schema=False, sync_to_thread=False)
def points_page() -> Response[str]:
    """The points review queue, rules and their versions, events, the economy's health."""
    return render_page("staff_points.html", page="staff_points", title="Points review")


@get("/staff/merch", operation_id="webStaffMerch", include_in_schema=False, sync_to_thread=False)
def merch_page() -> Response[str]:
    """Merch orders to fulfil, moved one step at a time (admins)."""
    return render_page("staff_merch.html", page="staff_merch", title="Merch orders")


ROUTES: list[Any] = [payouts_page, disputes_page, chargebacks_page, points_page, merch_page]
