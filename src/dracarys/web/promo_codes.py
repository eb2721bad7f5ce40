"""The admins' promo code page (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page

# What a promo code may be restricted to, as the page offers it (the wallet's PurchaseKind).
PURCHASE_KINDS = (
    ("session", "Mentor sessions"),
    ("cohort", "Cohort seats"),
    ("signal_feed", "Signal feeds"),
    ("package", "Mentorship packages"),
)


@get(
    "/staff/promo-codes",
    operation_id="webPromoCodes",
    include_in_schema=False,
    sync_to_thread=False,
)
def promo_codes_page() -> Response[str]:
    """Create promo codes, see each one's uses and what is left, deactivate one: every
    figure from the admin promo code API."""
    return render_page(
        "promo_codes.html",
        page="promo_codes",
        title="Promo codes",
        purchase_kinds=PURCHASE_KINDS,
    )


ROUTES: list[Any] = [promo_codes_page]
