"""The paper loop across restarts and replays: stopping (even mid-tick) and starting again
from the database loses no fill and doubles none, fills are append-only and unique per
(order, bar), and replaying the demo data gives the same fills twice."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import msgspec
import pytest

from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.trading import service, store
from dracarys.trading.demo import seed_trading_demo
from dracarys.trading.models import (
    BracketLegs,
    OrderInput,
    OrderKind,
    PortfolioInput,
    PresetName,
    Side,
)
from dracarys.trading.paper_loop import store as loop_store
from dracarys.trading.paper_loop.loop import PaperTradingEngine, fill_id
from dracarys.trading.paper_loop.runtime import DEMO_DATA, DEMO_FEED, DEMO_SYMBOL, DEMO_TICK_SIZE
from engine.feeds import ReplayFeed
from tests.support import add_instrument, create_user
from tests.trading.conftest import Bar, logical_fills, scripted_feed

# Thin volume (realistic fills at most 100 a bar) so orders fill in parts across the
# restart; prices rise, dip and recover so brackets, stops and limits all act.
RESTART_BARS: list[Bar] = [
    (100.0, 101.0, 99.0, 100.0, 1_000),
    (100.0, 102.0, 98.5, 101.0, 1_000),
    (101.0, 103.0, 100.0, 102.5, 1_000),
    (102.5, 104.0, 101.0, 103.0, 1_000),
    (103.0, 105.0, 97.0, 98.0, 1_000),
    (98.0, 99.0, 94.0, 95.0, 1_000),
    (95.0, 100.0, 94.5, 99.5, 1_000),
    (99.5, 106.0, 99.0, 105.0, 1_000),
    (105.0, 107.0, 104.0, 106.0, 1_000),
    (106.0, 108.0, 105.0, 107.0, 1_000),
]
LAST_SEQ = len(RESTART_BARS)


async def open_book(platform: Platform) -> PaperTradingEngine:
    """Instrument, a trader with orders of every kind, and an engine past the first bar."""
    await add_instrument(platform.pool)
    user = await create_user(platform.pool, platform.settings, platform.clock)
    feed = scripted_feed(RESTART_BARS)
    engine = PaperTradingEngine(platform, feed)
    await engine.start()
    first = feed.tick_at(1)
    assert first is not None
    await engine.step(first)
    orders = [
        OrderInput(
            symbol="XYZ", side=Side.BUY, kind=OrderKind.MARKET, qty=250, client_order_id="m"
        ),
        OrderInput(
            symbol="XYZ", side=Side.BUY, kind=OrderKind.LIMIT, qty=150, limit_price=99.0,
            bracket=BracketLegs(stop_loss=95.5, take_profit=104.0), client_order_id="bracket",
        ),
        OrderInput(
            symbol="XYZ", side=Side.BUY, kind=OrderKind.STOP, qty=120, stop_price=102.0,
            client_order_id="stop",
        ),
        OrderInput(
            symbol="XYZ", side=Side.BUY, kind=OrderKind.STOP_LIMIT, qty=60, stop_price=104.5,
            limit_price=105.5, client_order_id="stop-limit",
        ),
        OrderInput(
            symbol="XYZ", side=Side.SELL, kind=OrderKind.LIMIT, qty=200, limit_price=106.5,
            client_order_id="take",
        ),
    ]  # fmt: skip
    portfolio = await service.create_portfolio(
        platform,
        user.id,
        PortfolioInput(name="Restart", starting_cash_minor=10**10, preset=PresetName.REALISTIC),
    )
    async with transaction(platform.pool) as conn:
        for order in orders:
            await service.place_order(conn, platform, portfolio, order)
    return engine


async def run_to_the_end(engine: PaperTradingEngine, from_seq: int) -> None:
    for seq in range(from_seq, LAST_SEQ + 1):
        tick = engine.feed.tick_at(seq)  # type: ignore[attr-defined]
        await engine.step(tick)


async def test_engine_restarted_mid_replay_loses_and_doubles_no_fill(
    platform: Platform, other_platform: Platform
) -> None:
    straight = await open_book(platform)
    await run_to_the_end(straight, 2)
    expected = await logical_fills(platform.pool)
    assert len(expected) >= 8  # partial fills, bracket legs, stops, limits

    first = await open_book(other_platform)
    await run_to_the_end_until(first, 2, 4)
    # The process dies in the middle of tick 5, wherever it happens to be.
    tick = first.feed.tick_at(5)  # type: ignore[attr-defined]
    dying = asyncio.create_task(first.step(tick))
    for _ in range(7):
        await asyncio.sleep(0)
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying

    second = PaperTradingEngine(other_platform, first.feed)
    await second.start()
    assert second.last_seq in (4, 5)
    # The feed re-sends ticks the first engine had already persisted: they are skipped.
    for seq in range(3, LAST_SEQ + 1):
        await second.step(first.feed.tick_at(seq))  # type: ignore[attr-defined]
    assert await logical_fills(other_platform.pool) == expected
    async with other_platform.pool.acquire() as conn:
        doubles = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT (order_id, bar_seq)) FROM paper_fills"
        )
        state = await loop_store.feed_state(conn, "test")
    assert doubles == 0
    assert state is not None
    assert state.last_seq == LAST_SEQ
    await assert_books_balance(other_platform)


async def assert_books_balance(platform: Platform) -> None:
    """Cash and positions are derived state: each must equal the sum over the fills."""
    async with platform.pool.acquire() as conn:
        fills = await conn.fetch("SELECT portfolio_id, symbol, side, qty, price FROM paper_fills")
        portfolios = await conn.fetch(
            "SELECT id, starting_cash_minor, cash_minor FROM paper_portfolios"
        )
        positions = await conn.fetch("SELECT portfolio_id, symbol, qty FROM paper_positions")
    cash = {p["id"]: p["starting_cash_minor"] for p in portfolios}
    held: dict[tuple[uuid.UUID, str], float] = {}
    for f in fills:
        signed = float(f["qty"]) * (1 if f["side"] == "buy" else -1)
        cash[f["portfolio_id"]] -= round(signed * float(f["price"]) * 100)
        key = (f["portfolio_id"], f["symbol"])
        held[key] = held.get(key, 0.0) + signed
    assert {p["id"]: p["cash_minor"] for p in portfolios} == cash
    assert {(p["portfolio_id"], p["symbol"]): float(p["qty"]) for p in positions} == held


async def run_to_the_end_until(engine: PaperTradingEngine, from_seq: int, to_seq: int) -> None:
    for seq in range(from_seq, to_seq + 1):
        await engine.step(engine.feed.tick_at(seq))  # type: ignore[attr-defined]


async def test_fills_are_append_only_and_unique_per_order_and_bar(platform: Platform) -> None:
    engine = await open_book(platform)
    await run_to_the_end_until(engine, 2, 3)
    async with platform.pool.acquire() as conn:
        fill = await conn.fetchrow("SELECT * FROM paper_fills ORDER BY bar_seq LIMIT 1")
        assert fill is not None
        assert fill["id"] == fill_id(fill["order_id"], fill["bar_seq"])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE paper_fills SET price = 1 WHERE id = $1", fill["id"])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM paper_fills WHERE id = $1", fill["id"])
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                """INSERT INTO paper_fills (id, order_id, portfolio_id, epoch, symbol, side, qty,
                       price, reference_price, slippage_bps, preset, feed, bar_seq, market_time,
                       filled_at)
                   SELECT $1, order_id, portfolio_id, epoch, symbol, side, qty, price,
                          reference_price, slippage_bps, preset, feed, bar_seq, market_time,
                          filled_at
                   FROM paper_fills WHERE id = $2""",
                uuid.uuid4(),
                fill["id"],
            )


async def test_an_order_cancelled_while_the_engine_matches_it_is_not_filled(
    platform: Platform,
) -> None:
    engine = await open_book(platform)
    async with platform.pool.acquire() as conn:
        market = await conn.fetchval("SELECT id FROM paper_orders WHERE client_order_id = 'm'")
    async with platform.pool.acquire() as owner:
        cancelling = owner.transaction()
        await cancelling.start()
        await owner.execute("SELECT 1 FROM paper_orders WHERE id = $1 FOR UPDATE", market)
        # The engine loads and matches the order, then waits for the owner's row lock.
        step = asyncio.create_task(engine.step(engine.feed.tick_at(2)))  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        assert not step.done()
        await store.close_orders(
            owner, [market], "cancelled", "cancelled by owner", platform.clock.now()
        )
        await cancelling.commit()
    await step
    async with platform.pool.acquire() as conn:
        filled = await conn.fetchval("SELECT count(*) FROM paper_fills WHERE order_id = $1", market)
        others = await conn.fetchval("SELECT count(*) FROM paper_fills")
        status = await conn.fetchval("SELECT status FROM paper_orders WHERE id = $1", market)
    assert (filled, status) == (0, "cancelled")
    assert others > 0  # the rest of the book was matched again and filled


async def demo_run(platform: Platform, ticks: int) -> list[tuple[object, ...]]:
    await create_user(platform.pool, platform.settings, platform.clock, role=Role.MENTOR)
    await create_user(platform.pool, platform.settings, platform.clock)
    await seed_trading_demo(platform)
    await seed_trading_demo(platform)  # seeding twice changes nothing
    feed = ReplayFeed.from_files(
        DEMO_FEED,
        {DEMO_SYMBOL: DEMO_DATA},
        speed=float("inf"),
        loop=True,
        tick_size=[DEMO_TICK_SIZE],
        qty_step=[1.0],
    )
    engine = PaperTradingEngine(platform, feed)
    await engine.start()
    async for tick in feed.ticks(0):
        await engine.step(tick)
        if tick.seq == ticks:
            break
    return await logical_fills(platform.pool)


async def test_replaying_the_demo_data_gives_identical_fills_twice(
    platform: Platform, other_platform: Platform
) -> None:
    first = await demo_run(platform, 150)
    second = await demo_run(other_platform, 150)
    assert len(first) >= 3
    assert first == second
    await assert_books_balance(platform)


async def test_engine_republishes_leaderboards_every_few_ticks(platform: Platform) -> None:
    every_two = Platform(
        settings=msgspec.structs.replace(platform.settings, trading_leaderboard_every_ticks=2),
        database=platform.database,
        clock=platform.clock,
    )
    engine = await open_book(every_two)  # tick 1
    await run_to_the_end_until(engine, 2, 5)  # ticks 2–5: published after ticks 2 and 4
    caught = await every_two.streams.catch_up("leaderboard:portfolios-all", 0)
    assert len(caught.frames) == 2
    board = msgspec.json.decode(caught.frames[-1][1])["data"]
    assert board["type"] == "leaderboard"
    assert [e["name"] for e in board["entries"]] == ["Restart"]


async def test_an_order_committed_after_a_later_numbered_one_is_still_matched(
    platform: Platform,
) -> None:
    engine = await open_book(platform)
    async with platform.pool.acquire() as conn:
        portfolio_id = await conn.fetchval("SELECT id FROM paper_portfolios")
        portfolio = await store.get_portfolio(conn, portfolio_id)
    assert portfolio is not None

    def market(name: str) -> OrderInput:
        return OrderInput(
            symbol="XYZ", side=Side.BUY, kind=OrderKind.MARKET, qty=1, client_order_id=name
        )

    async with platform.pool.acquire() as slow:
        # The slow transaction takes its change number first but commits last.
        late = slow.transaction()
        await late.start()
        await service.place_order(slow, platform, portfolio, market("slow"), check_limits=False)
        async with transaction(platform.pool) as fast:
            await service.place_order(fast, platform, portfolio, market("fast"), check_limits=False)
        await run_to_the_end_until(engine, 2, 2)  # sees "fast" only
        await late.commit()
    await run_to_the_end_until(engine, 3, 3)
    async with platform.pool.acquire() as conn:
        filled = await conn.fetch(
            """SELECT o.client_order_id, f.bar_seq FROM paper_fills f
               JOIN paper_orders o ON o.id = f.order_id
               WHERE o.client_order_id IN ('slow', 'fast') ORDER BY 1"""
        )
    assert [(r["client_order_id"], r["bar_seq"]) for r in filled] == [("fast", 2), ("slow", 3)]


async def persisted_seq(conn: asyncpg.Connection) -> int | None:
    state = await loop_store.feed_state(conn, "test")
    return None if state is None else state.last_seq


async def _wait_for_a_lock_wait(pool: asyncpg.Pool) -> None:
    for _ in range(500):
        waiting = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    pytest.fail("the engine never reached the held row")


async def test_a_stopped_engine_finishes_the_tick_in_progress_and_a_second_stop_abandons_it(
    platform: Platform,
) -> None:
    engine = await open_book(platform)  # tick 1 persisted
    async with platform.pool.acquire() as holder:
        # Another transaction holds the feed's position row: tick 2 waits on it mid-tick.
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT 1 FROM market_feed_state WHERE feed = 'test' FOR UPDATE")
        running = asyncio.create_task(engine.run())
        await _wait_for_a_lock_wait(platform.pool)
        running.cancel()
        await asyncio.sleep(0.2)
        assert not running.done(), "the stop did not wait for the tick in progress"
        await held.rollback()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert await persisted_seq(holder) == 2

        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT 1 FROM market_feed_state WHERE feed = 'test' FOR UPDATE")
        running = asyncio.create_task(engine.run())
        await _wait_for_a_lock_wait(platform.pool)
        running.cancel()
        await asyncio.sleep(0.2)
        running.cancel()  # a second stop: the tick is abandoned and rolls back
        with pytest.raises(asyncio.CancelledError):
            await running
        await held.rollback()
        assert await persisted_seq(holder) == 2
