"""Demo trading data for `dracarys up`: the DEMO instrument, a free signal feed with one
signal from the first mentor, and for the first mentee a paper portfolio with a few
resting orders and a mirroring subscription, so the replay feed fills something. Safe to
run again: everything is keyed by deterministic ids or checked first."""

from __future__ import annotations

import uuid

from dracarys.db import transaction
from dracarys.identity import CurrentUser, Role, active_accounts_with_role
from dracarys.platform import Platform
from dracarys.trading import service, store
from dracarys.trading.instruments import store as instrument_store
from dracarys.trading.models import BracketLegs, OrderInput, OrderKind, Side
from dracarys.trading.paper_loop.runtime import DEMO_FEED, DEMO_SYMBOL, DEMO_TICK_SIZE
from dracarys.trading.signals import store as signal_store
from dracarys.trading.signals.models import (
    FeedPlanInput,
    MirrorSettings,
    Scaling,
    SignalInput,
    SubscribeInput,
)
from dracarys.trading.signals.service import append_signal
from dracarys.trading.signals.subscriptions import set_plan_in, start_subscription

DEMO_NAMESPACE = uuid.UUID("5d3f1a9e-7c2b-4e61-a0d8-93b4c6e2f017")

# Around the sample's first open (100.41), so the first weeks of the replay fill them.
DEMO_ORDERS = (
    OrderInput(
        symbol=DEMO_SYMBOL, side=Side.BUY, kind=OrderKind.LIMIT, qty=100, limit_price=99.5,
        bracket=BracketLegs(stop_loss=95.0, take_profit=104.0), client_order_id="demo-bracket",
    ),
    OrderInput(
        symbol=DEMO_SYMBOL, side=Side.BUY, kind=OrderKind.STOP, qty=50, stop_price=101.5,
        client_order_id="demo-breakout",
    ),
    OrderInput(
        symbol=DEMO_SYMBOL, side=Side.BUY, kind=OrderKind.STOP_LIMIT, qty=25, stop_price=102.5,
        limit_price=103.0, client_order_id="demo-stop-limit",
    ),
)  # fmt: skip


async def _first_user(platform: Platform, role: Role) -> uuid.UUID | None:
    async with platform.pool.acquire() as conn:
        accounts = await active_accounts_with_role(conn, role, limit=1)
    return accounts[0].id if accounts else None


async def seed_trading_demo(platform: Platform) -> None:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        if await instrument_store.get_instrument(conn, DEMO_SYMBOL) is None:
            await instrument_store.upsert_instrument(
                conn,
                symbol=DEMO_SYMBOL,
                feed=DEMO_FEED,
                tick_size=DEMO_TICK_SIZE,
                qty_step=1.0,
                min_qty=1.0,
            )
    mentor_id = await _first_user(platform, Role.MENTOR)
    mentee_id = await _first_user(platform, Role.MENTEE)
    if mentor_id is not None:
        mentor = CurrentUser(id=mentor_id, role=Role.MENTOR, session_id=uuid.uuid4())
        async with transaction(platform.pool) as conn:
            await set_plan_in(conn, mentor_id, FeedPlanInput(monthly_price_minor=0), now)
            if await signal_store.signal_count(conn, mentor_id) == 0:
                await append_signal(
                    conn,
                    platform,
                    mentor,
                    SignalInput(
                        symbol=DEMO_SYMBOL,
                        side=Side.BUY,
                        order_type="limit",
                        entry_price=99.0,
                        stop_loss=95.0,
                        take_profit=106.0,
                        size_hint_pct=10.0,
                        rationale="Demo: buying the pull-back to support with a 1:1.75 "
                        "reward-to-risk bracket.",
                    ),
                )
    if mentee_id is None:
        return
    mentee = CurrentUser(id=mentee_id, role=Role.MENTEE, session_id=uuid.uuid4())
    portfolio_id = uuid.uuid5(DEMO_NAMESPACE, f"portfolio:{mentee_id}")
    async with transaction(platform.pool) as conn:
        disclaimer = await store.current_disclaimer(conn)
        await store.acknowledge(conn, mentee_id, disclaimer.version, now, "demo-seed")
        if await store.get_portfolio(conn, portfolio_id) is None:
            await store.insert_portfolio(
                conn,
                portfolio_id=portfolio_id,
                user_id=mentee_id,
                name="Demo portfolio",
                kind="personal",
                currency="USD",
                starting_cash_minor=10_000_000,
                preset="realistic",
                max_position_pct=100.0,
                now=now,
            )
        portfolio = await store.get_portfolio(conn, portfolio_id, lock=True)
        assert portfolio is not None
        for order in DEMO_ORDERS:
            await service.place_order(conn, platform, portfolio, order, check_limits=False)
        if mentor_id is not None and not await signal_store.active_subscribers(
            conn, [mentee_id], mentor_id
        ):
            await start_subscription(
                conn,
                platform,
                mentee,
                mentor_id,
                SubscribeInput(
                    mirror=MirrorSettings(
                        portfolio_id=portfolio_id, scaling=Scaling.FIXED_FRACTION, scaling_value=0.1
                    )
                ),
                "demo-signal-subscription",
            )
