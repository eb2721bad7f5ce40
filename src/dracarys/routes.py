"""Every HTTP and WebSocket route of the platform, in one list the app mounts: each
domain's `api.ROUTES`. A domain adds its routes here."""

from __future__ import annotations

from typing import Any

from dracarys.admin.api import ROUTES as ADMIN_ROUTES
from dracarys.analytics.api import ROUTES as ANALYTICS_ROUTES
from dracarys.backtests.api import ROUTES as BACKTEST_ROUTES
from dracarys.checkout.api import ROUTES as CHECKOUT_ROUTES
from dracarys.community.api import ROUTES as COMMUNITY_ROUTES
from dracarys.curriculum.api import ROUTES as CURRICULUM_ROUTES
from dracarys.identity.api import ROUTES as IDENTITY_ROUTES
from dracarys.marketdata.api import ROUTES as MARKET_DATA_ROUTES
from dracarys.mentorship.api import ROUTES as MENTORSHIP_ROUTES
from dracarys.notifications.api import ROUTES as NOTIFICATIONS_ROUTES
from dracarys.points.api import ROUTES as POINTS_ROUTES
from dracarys.realtime.api import ROUTES as REALTIME_ROUTES
from dracarys.social.api import ROUTES as SOCIAL_ROUTES
from dracarys.system.api import ROUTES as SYSTEM_ROUTES
from dracarys.trading.api import ROUTES as TRADING_ROUTES
from dracarys.wallet.api import ROUTES as WALLET_ROUTES
from dracarys.web.pages import WEB_ROUTES

ROUTE_HANDLERS: list[Any] = [
    *SYSTEM_ROUTES,
    *REALTIME_ROUTES,
    *IDENTITY_ROUTES,
    *CURRICULUM_ROUTES,
    *MENTORSHIP_ROUTES,
    *POINTS_ROUTES,
    *WALLET_ROUTES,
    *CHECKOUT_ROUTES,
    *SOCIAL_ROUTES,
    *NOTIFICATIONS_ROUTES,
    *COMMUNITY_ROUTES,
    *BACKTEST_ROUTES,
    *MARKET_DATA_ROUTES,
    *TRADING_ROUTES,
    *ADMIN_ROUTES,
    *ANALYTICS_ROUTES,
    *WEB_ROUTES,
]
