"""The market data page's route (see pages.py for how pages are served)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from dracarys.web.render import render_page


@get("/market-data", operation_id="webMarketData", include_in_schema=False, sync_to_thread=False)
def market_data_page() -> Response[str]:
    """Upload an OHLCV file (CSV or Parquet) for an instrument and timeframe, private or
    shared; the datasets I may use, to backtest on."""
    return render_page("market_data.html", page="market_data", title="Market data")


ROUTES: list[Any] = [market_data_page]
