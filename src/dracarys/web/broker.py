"""The broker page's route (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/broker", operation_id="webBroker", include_in_schema=False, sync_to_thread=False)
def broker_page() -> Response[str]:
    """Link an Alpaca account (keys checked with Alpaca, then sealed), opt in or out of
    sending mirrored signals to it, and the orders routed and positions held there."""
    return render_page("broker.html", page="broker", title="Your broker")


ROUTES: list[Any] = [broker_page]
