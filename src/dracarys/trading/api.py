"""Trading HTTP API: the risk disclaimer, paper portfolios, orders, fills, performance and
leaderboards here; mentor signals, track records, feed plans and subscriptions from
`trading.signals.api`; TradingView alerts in from `trading.alerts.api`. `ROUTES` lists
them all. Handlers call services only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.edge import source_ip
from dracarys.identity import CurrentUser, authenticated
from dracarys.platform import Platform
from dracarys.trading import performance, service
from dracarys.trading.alerts.api import ROUTES as ALERT_ROUTES
from dracarys.trading.brokers.api import ROUTES as BROKER_ROUTES
from dracarys.trading.instruments.api import ROUTES as INSTRUMENT_ROUTES
from dracarys.trading.models import (
    AcknowledgeInput,
    Acknowledgement,
    Disclaimer,
    Fill,
    Leaderboard,
    Order,
    OrderInput,
    Performance,
    PlacedOrder,
    Portfolio,
    PortfolioInput,
    ReplaceInput,
    ShareInput,
)
from dracarys.trading.signals.api import ROUTES as SIGNAL_ROUTES


class DisclaimerController(Controller):
    path = "/api/v1/trading/disclaimer"
    tags = ["trading"]  # noqa: RUF012 (Litestar declares it as an instance attribute)

    @get("/", operation_id="getRiskDisclaimer", summary="The risk disclaimer in force")
    async def current(self, platform: NamedDependency[Platform]) -> Disclaimer:
        return await service.current_disclaimer(platform)

    @post(
        "/acknowledgements",
        operation_id="acknowledgeRiskDisclaimer",
        guards=[authenticated],
        status_code=HTTP_201_CREATED,
        summary="Acknowledge the disclaimer's current version (needed before trading)",
    )
    async def acknowledge(
        self,
        data: JSONBody[AcknowledgeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        request: Request[Any, Any, Any],
    ) -> Acknowledgement:
        return await service.acknowledge_disclaimer(
            platform, current_user, data.version, source_ip(request)
        )


class PortfolioController(Controller):
    path = "/api/v1/trading/portfolios"
    tags = ["trading"]  # noqa: RUF012
    guards = [authenticated]  # noqa: RUF012

    @post("/", operation_id="createPaperPortfolio", status_code=HTTP_201_CREATED)
    async def create(
        self,
        data: JSONBody[PortfolioInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Portfolio:
        return await service.create_portfolio(platform, current_user.id, data)

    @get("/", operation_id="listPaperPortfolios", summary="Your paper portfolios")
    async def list_mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Portfolio]:
        return await service.list_portfolios(platform, current_user)

    @get("/{portfolio_id:uuid}", operation_id="getPaperPortfolio")
    async def get_one(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Portfolio:
        return await service.get_portfolio(platform, current_user, portfolio_id)

    @post(
        "/{portfolio_id:uuid}/reset",
        operation_id="resetPaperPortfolio",
        status_code=HTTP_200_OK,
        summary="Cancel open orders, drop positions and restore the starting cash",
    )
    async def reset(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Portfolio:
        return await service.reset_portfolio(platform, current_user, portfolio_id)

    @put(
        "/{portfolio_id:uuid}/sharing",
        operation_id="sharePaperPortfolio",
        summary="The mentors who may watch this portfolio",
    )
    async def share(
        self,
        portfolio_id: FromPath[uuid.UUID],
        data: JSONBody[ShareInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Portfolio:
        return await service.share_portfolio(platform, current_user, portfolio_id, data.mentor_ids)

    @post(
        "/{portfolio_id:uuid}/orders",
        operation_id="placePaperOrder",
        status_code=HTTP_201_CREATED,
        summary="Place a market, limit, stop, stop-limit or bracket order",
    )
    async def place(
        self,
        portfolio_id: FromPath[uuid.UUID],
        data: JSONBody[OrderInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PlacedOrder:
        return await service.submit_order(platform, current_user, portfolio_id, data)

    @get("/{portfolio_id:uuid}/orders", operation_id="listPaperOrders")
    async def orders(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        open_only: Annotated[bool, QueryParameter(name="open")] = False,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[Order]:
        return await service.list_orders(
            platform, current_user, portfolio_id, open_only=open_only, limit=limit
        )

    @get("/{portfolio_id:uuid}/fills", operation_id="listPaperFills")
    async def fills(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> list[Fill]:
        return await service.list_fills(platform, current_user, portfolio_id, limit)

    @get(
        "/{portfolio_id:uuid}/performance",
        operation_id="getPaperPerformance",
        summary="Equity curve, drawdown, Sharpe, trades and open positions",
    )
    async def performance(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        points: int = Parameter(default=500, ge=1, le=10_000),
    ) -> Performance:
        return await performance.portfolio_performance(platform, current_user, portfolio_id, points)


class OrderController(Controller):
    path = "/api/v1/trading/orders"
    tags = ["trading"]  # noqa: RUF012
    guards = [authenticated]  # noqa: RUF012

    @post(
        "/{order_id:uuid}/cancel",
        operation_id="cancelPaperOrder",
        status_code=HTTP_200_OK,
        summary="Cancel an open order (with its bracket legs, or its OCO sibling)",
    )
    async def cancel(
        self,
        order_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[Order]:
        return await service.cancel_order(platform, current_user, order_id)

    @post(
        "/{order_id:uuid}/replace",
        operation_id="replacePaperOrder",
        status_code=HTTP_201_CREATED,
        summary="Cancel an unfilled order and place its successor atomically",
    )
    async def replace(
        self,
        order_id: FromPath[uuid.UUID],
        data: JSONBody[ReplaceInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> PlacedOrder:
        return await service.replace_order(platform, current_user, order_id, data)


class LeaderboardController(Controller):
    path = "/api/v1/trading/leaderboards"
    tags = ["trading"]  # noqa: RUF012
    guards = [authenticated]  # noqa: RUF012

    @get(
        "/{board:str}",
        operation_id="getTradingLeaderboard",
        summary="Portfolios or mentors ranked by risk-adjusted return (Sharpe)",
    )
    async def leaderboard(
        self,
        board: FromPath[str],
        platform: NamedDependency[Platform],
        period: str = Parameter(default="week"),
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> Leaderboard:
        return await performance.leaderboard(platform, board, period, limit)


ROUTES: list[Any] = [
    DisclaimerController,
    PortfolioController,
    OrderController,
    LeaderboardController,
    *INSTRUMENT_ROUTES,
    *SIGNAL_ROUTES,
    *ALERT_ROUTES,
    *BROKER_ROUTES,
]
