"""The wallet pages' routes (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/wallet", operation_id="webWallet", include_in_schema=False, sync_to_thread=False)
def wallet_page() -> Response[str]:
    """Balances, history with the running balance, top-ups, withdrawals to M-Pesa with a
    step-up, invoices, and converting points: every figure from the wallet's API."""
    return render_page("wallet.html", page="wallet", title="Wallet")


ROUTES: list[Any] = [wallet_page]
