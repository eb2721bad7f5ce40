"""The wallet pages' routes (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


# placeholder until the wallet page lands: balances and the top-up panel, so that the
# top-up journey has a page to run on (dropped at merge for the wallet helper's page).
@get("/wallet", operation_id="webWallet", include_in_schema=False, sync_to_thread=False)
def wallet_page() -> Response[str]:
    return render_page("wallet.html", page="wallet", title="Wallet")


ROUTES: list[Any] = [wallet_page]
