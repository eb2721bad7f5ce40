"""Trading HTTP API: the risk disclaimer, paper portfolios, orders, fills, performance,
leaderboards, mentor signals and track records, feed plans and subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dracarys.db import Connection, transaction
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role, authenticated, requires_role
from dracarys.platform import Platform
from dracarys.trading import performance, service, signals, store
from dracarys.trading.models import (
    AcknowledgeInput,
    Acknowledgement,
    ChainVerification,
    Disclaimer,
    FeedPlan,
    FeedPlanInput,
    Fill,
    Leaderboard,
    Mirror,
    Order,
    OrderInput,
    Performance,
    PlacedOrder,
    Portfolio,
    PortfolioInput,
    ReplaceInput,
    ShareInput,
    Signal,
    SignalFrame,
    SignalInput,
    SignalList,
    SignalOutcome,
    SubscribeInput,
    Subscriber,
    Subscription,
    TrackRecord,
)
from streams import channels

MENTOR = [requires_role(Role.MENTOR)]


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def may_watch_signals(
    conn: Connection, user_ids: Sequence[uuid.UUID], mentor_id: uuid.UUID
) -> set[uuid.UUID]:
    """A free feed is open to every signed-in user; a paid one to active subscribers."""
    plan = await store.get_plan(conn, mentor_id)
    if plan is None or plan.monthly_price_minor == 0:
        return set(user_ids)
    return await store.active_subscribers(conn, user_ids, mentor_id)


def _source_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class DisclaimerController(Controller):
    path = "/api/v1/trading/disclaimer"
    tags = ["trading"]  # noqa: RUF012 (Litestar declares it as an instance attribute)

    @get("/", operation_id="getRiskDisclaimer", summary="The risk disclaimer in force")
    async def current(self, platform: NamedDependency[Platform]) -> Disclaimer:
        async with platform.pool.acquire() as conn:
            return await store.current_disclaimer(conn)

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
        async with transaction(platform.pool) as conn:
            current = await store.current_disclaimer(conn)
            if data.version != current.version:
                raise InvalidInput(
                    f"the disclaimer in force is version {current.version}", field="version"
                )
            return await store.acknowledge(
                conn, current_user.id, current.version, platform.clock.now(), _source_ip(request)
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
        async with transaction(platform.pool) as conn:
            return await service.create_portfolio(conn, current_user.id, data, platform.clock.now())

    @get("/", operation_id="listPaperPortfolios", summary="Your paper portfolios")
    async def list_mine(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Portfolio]:
        async with platform.pool.acquire() as conn:
            return await store.list_portfolios(conn, current_user.id)

    @get("/{portfolio_id:uuid}", operation_id="getPaperPortfolio")
    async def get_one(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Portfolio:
        async with platform.pool.acquire() as conn:
            return await service.readable_portfolio(conn, current_user, portfolio_id)

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
        async with transaction(platform.pool) as conn:
            return await service.reset_portfolio(
                conn, current_user, portfolio_id, platform.clock.now()
            )

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
        async with transaction(platform.pool) as conn:
            return await service.share_portfolio(conn, current_user, portfolio_id, data.mentor_ids)

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
        async with transaction(platform.pool) as conn:
            placed = await service.submit_order(conn, platform, current_user, portfolio_id, data)
        await service.publish_orders(platform, [placed.order, *placed.legs])
        return placed

    @get("/{portfolio_id:uuid}/orders", operation_id="listPaperOrders")
    async def orders(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        open_only: Annotated[bool, QueryParameter(name="open")] = False,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[Order]:
        async with platform.pool.acquire() as conn:
            await service.readable_portfolio(conn, current_user, portfolio_id)
            return await store.list_orders(conn, portfolio_id, open_only=open_only, limit=limit)

    @get("/{portfolio_id:uuid}/fills", operation_id="listPaperFills")
    async def fills(
        self,
        portfolio_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> list[Fill]:
        async with platform.pool.acquire() as conn:
            portfolio = await service.readable_portfolio(conn, current_user, portfolio_id)
            return await store.list_fills(conn, portfolio_id, portfolio.epoch, limit)

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
        async with platform.pool.acquire() as conn:
            portfolio = await service.readable_portfolio(conn, current_user, portfolio_id)
            return await performance.portfolio_performance(conn, portfolio, points)


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
        async with transaction(platform.pool) as conn:
            cancelled = await service.cancel_order(conn, platform, current_user, order_id)
        await service.publish_orders(platform, cancelled)
        return cancelled

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
        async with transaction(platform.pool) as conn:
            placed = await service.replace_order(conn, platform, current_user, order_id, data)
        await service.publish_orders(platform, [placed.order, *placed.legs])
        return placed


class SignalController(Controller):
    path = "/api/v1/trading"
    tags = ["signals"]  # noqa: RUF012
    guards = [authenticated]  # noqa: RUF012

    @post(
        "/signals",
        operation_id="publishSignal",
        guards=MENTOR,
        status_code=HTTP_201_CREATED,
        summary="Broadcast a signal (append-only; a correction names the signal it corrects)",
    )
    async def publish(
        self,
        data: JSONBody[SignalInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Signal:
        async with transaction(platform.pool) as conn:
            signal, orders = await signals.publish_signal(conn, platform, current_user, data)
        frame = SignalFrame(**{f: getattr(signal, f) for f in signal.__struct_fields__})
        await platform.streams.publish(channels.signals(signal.mentor_id), frame)
        await service.publish_orders(platform, orders)
        return signal

    @get("/mentors/{mentor_id:uuid}/signals", operation_id="listMentorSignals")
    async def list_signals(
        self,
        mentor_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        limit: int = Parameter(default=50, ge=1, le=500),
    ) -> SignalList:
        async with platform.pool.acquire() as conn:
            allowed = (
                current_user.id == mentor_id
                or current_user.is_staff
                or bool(await may_watch_signals(conn, [current_user.id], mentor_id))
            )
            if not allowed:
                raise Forbidden("this mentor's signals are for their active subscribers")
            return SignalList(signals=await store.list_signals(conn, mentor_id, limit))

    @get(
        "/mentors/{mentor_id:uuid}/signal-outcomes",
        operation_id="listSignalOutcomes",
        summary="How the signal book closed each signal (P&L, R multiple, latency, slippage)",
    )
    async def signal_outcomes(
        self,
        mentor_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[SignalOutcome]:
        async with platform.pool.acquire() as conn:
            # Outcomes carry entry and exit prices: as private as the signals themselves.
            allowed = (
                current_user.id == mentor_id
                or current_user.is_staff
                or bool(await may_watch_signals(conn, [current_user.id], mentor_id))
            )
            if not allowed:
                raise Forbidden("this mentor's signals are for their active subscribers")
            return [
                SignalOutcome(
                    signal_id=r["signal_id"],
                    outcome=r["outcome"],
                    entry_price=_float(r["entry_price"]),
                    exit_price=_float(r["exit_price"]),
                    qty=_float(r["qty"]),
                    pnl_minor=r["pnl_minor"],
                    r_multiple=_float(r["r_multiple"]),
                    fill_latency_ms=r["fill_latency_ms"],
                    entry_slippage_bps=_float(r["entry_slippage_bps"]),
                    closed_at=r["closed_at"],
                )
                for r in await store.outcomes(conn, mentor_id)
            ]

    @get(
        "/mentors/{mentor_id:uuid}/signals/verification",
        operation_id="verifySignalChain",
        summary="Recompute the mentor's signal hash chain",
    )
    async def verify(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> ChainVerification:
        async with platform.pool.acquire() as conn:
            return await signals.verify_chain(conn, mentor_id)

    @get(
        "/mentors/{mentor_id:uuid}/track-record",
        operation_id="getMentorTrackRecord",
        summary="Verified track record of the mentor's signal book",
    )
    async def track_record(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> TrackRecord:
        async with platform.pool.acquire() as conn:
            if await store.user_role(conn, mentor_id) != "mentor":
                raise NotFound("no such mentor")
            return await signals.track_record(conn, mentor_id)

    @put(
        "/feed-plan",
        operation_id="setSignalFeedPlan",
        guards=MENTOR,
        summary="Your signal feed's monthly price (0 = free)",
    )
    async def set_plan(
        self,
        data: JSONBody[FeedPlanInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> FeedPlan:
        async with transaction(platform.pool) as conn:
            return await signals.set_plan(conn, current_user.id, data, platform.clock.now())

    @get(
        "/feed-plan/subscribers",
        operation_id="listMySignalSubscribers",
        guards=MENTOR,
        summary="Your signal feed's active subscribers",
    )
    async def subscribers(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Subscriber]:
        return await signals.list_subscribers(platform, current_user.id)

    @get(
        "/mentors/{mentor_id:uuid}/feed-plan",
        operation_id="getSignalFeedPlan",
        summary="What a mentor's signal feed costs per month (0 = free)",
    )
    async def get_plan(
        self, mentor_id: FromPath[uuid.UUID], platform: NamedDependency[Platform]
    ) -> FeedPlan:
        async with platform.pool.acquire() as conn:
            if await store.user_role(conn, mentor_id) != "mentor":
                raise NotFound("no such mentor")
            plan = await store.get_plan(conn, mentor_id)
        return plan or FeedPlan(mentor_id=mentor_id, monthly_price_minor=0, currency="USD")

    @post(
        "/mentors/{mentor_id:uuid}/subscriptions",
        operation_id="subscribeToSignals",
        status_code=HTTP_201_CREATED,
        summary="Subscribe to a mentor's signals, optionally mirroring into a portfolio",
    )
    async def subscribe(
        self,
        mentor_id: FromPath[uuid.UUID],
        data: JSONBody[SubscribeInput],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
        idempotency_key: NamedDependency[str],
    ) -> Subscription:
        async with transaction(platform.pool) as conn:
            return await signals.subscribe(
                conn, platform, current_user, mentor_id, data, idempotency_key
            )

    @get("/subscriptions", operation_id="listSignalSubscriptions")
    async def subscriptions(
        self, platform: NamedDependency[Platform], current_user: NamedDependency[CurrentUser]
    ) -> list[Subscription]:
        async with platform.pool.acquire() as conn:
            return await store.list_subscriptions(conn, current_user.id)

    @post(
        "/subscriptions/{subscription_id:uuid}/cancel",
        operation_id="cancelSignalSubscription",
        status_code=HTTP_200_OK,
    )
    async def unsubscribe(
        self,
        subscription_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> Subscription:
        async with transaction(platform.pool) as conn:
            return await signals.unsubscribe(
                conn, current_user, subscription_id, platform.clock.now()
            )

    @get(
        "/subscriptions/{subscription_id:uuid}/mirrors",
        operation_id="listSignalMirrors",
        summary="Mirrored orders and skipped copies (with reasons and latency)",
    )
    async def mirrors(
        self,
        subscription_id: FromPath[uuid.UUID],
        platform: NamedDependency[Platform],
        current_user: NamedDependency[CurrentUser],
    ) -> list[Mirror]:
        async with platform.pool.acquire() as conn:
            subscription = await store.get_subscription(conn, subscription_id)
            if subscription is None:
                raise NotFound("no such subscription")
            if not current_user.may_read_as_owner(subscription.subscriber_id):
                raise Forbidden("this subscription belongs to another user")
            return await store.list_mirrors(conn, subscription_id)

    @get(
        "/leaderboards/{board:str}",
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
        async with platform.pool.acquire() as conn:
            return await performance.leaderboard(
                conn, platform.settings, board, period, platform.clock.now(), limit
            )


TRADING_CONTROLLERS = [
    DisclaimerController,
    PortfolioController,
    OrderController,
    SignalController,
]
