"""The instruments registry: seeded instruments with their class, ticks, lots and
calendars; an unknown symbol refused naming the field and the symbol; orders held to the
instrument's tick and lot; and a paper market replaying two symbols, each priced."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.trading.instruments.models import AssetClass, Calendar, Instrument
from dracarys.trading.instruments.service import trades_at
from dracarys.trading.paper_loop.loop import PaperTradingEngine
from dracarys.trading.paper_loop.runtime import (
    CRYPTO_SYMBOL,
    crypto_market_frame,
    demo_market_frames,
    market_feeds,
)
from engine.data import validate
from engine.feeds import ReplayFeed
from tests.support import AppClient, TestUser
from tests.trading.conftest import API, DAY_NS, START_NS, Desk

MakeUser = Callable[..., Awaitable[TestUser]]


async def test_the_registry_lists_seeded_instruments_with_class_ticks_lots_and_calendar(
    client: AppClient, make_user: MakeUser
) -> None:
    user = await make_user()
    listed = (await client.get(f"{API}/instruments", headers=user.headers)).json()
    by_symbol = {i["symbol"]: i for i in listed}
    assert {"DEMO", "TREND", "EURUSD", "BTCUSD", "ES", "SPX"} <= set(by_symbol)
    assert {i["asset_class"] for i in listed} >= {"equity", "fx", "crypto", "future", "index"}
    assert by_symbol["BTCUSD"]["calendar"] == "always"
    assert by_symbol["EURUSD"]["qty_step"] == 1000
    assert by_symbol["EURUSD"]["tick_size"] == 0.00001
    assert by_symbol["ES"]["timezone"] == "America/Chicago"
    one = await client.get(f"{API}/instruments/ES", headers=user.headers)
    assert one.json()["tick_size"] == 0.25


async def test_an_unknown_symbol_is_a_problem_naming_the_field_and_the_symbol(
    desk: Desk, make_user: MakeUser
) -> None:
    user = await make_user()
    await desk.acknowledge(user)
    portfolio = await desk.portfolio(user)
    refused = await desk.order(
        user, portfolio["id"], symbol="NOPE", side="buy", kind="market", qty=1
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"][0]["field"] == "symbol"
    assert "NOPE" in problem["detail"]
    assert problem["extra"]["symbol"] == "NOPE"
    assert await desk.fetch("SELECT 1 FROM paper_orders") == []

    looked_up = await desk.client.get(f"{API}/instruments/NOPE", headers=user.headers)
    assert looked_up.status_code == 404
    assert looked_up.json()["errors"][0]["field"] == "symbol"
    assert "NOPE" in looked_up.json()["detail"]

    mentor = await make_user(role=Role.MENTOR)
    signal = await desk.client.post(
        f"{API}/signals",
        json={"symbol": "NOPE", "side": "buy", "order_type": "market", "rationale": "x" * 30},
        headers=mentor.headers,
    )
    assert signal.status_code == 422, signal.text
    assert signal.json()["errors"][0]["field"] == "symbol"
    assert "NOPE" in signal.json()["detail"]


def test_calendars_trade_round_the_clock_or_in_weekday_sessions_in_their_timezone() -> None:
    def instrument(calendar: Calendar, timezone: str, opens: int, closes: int) -> Instrument:
        return Instrument(
            symbol="X", name="", asset_class=AssetClass.EQUITY, currency="USD", tick_size=0.01,
            qty_step=1, min_qty=1, feed=None, calendar=calendar, timezone=timezone,
            session_opens_min=opens, session_closes_min=closes,
        )  # fmt: skip

    saturday_noon = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)
    crypto = instrument(Calendar.ALWAYS, "UTC", 0, 1440)
    new_york = instrument(Calendar.WEEKDAYS, "America/New_York", 570, 960)
    assert trades_at(crypto, saturday_noon)
    assert not trades_at(new_york, saturday_noon)
    # Monday 14:00 UTC is 09:00 in New York (before the open), 15:00 UTC is 10:00.
    assert not trades_at(new_york, datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    assert trades_at(new_york, datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    assert not trades_at(new_york, datetime(2026, 1, 5, 21, 0, tzinfo=UTC))


def two_symbol_feed() -> ReplayFeed:
    """TREND around 50 and EURUSD around 1.1, two daily bars."""
    trend = np.array([(50.0, 51.0, 49.5, 50.5, 1e6), (50.5, 52.0, 50.0, 51.75, 1e6)]).T
    fx = np.array([(1.1, 1.102, 1.098, 1.1005, 1e6), (1.1005, 1.104, 1.1, 1.1031, 1e6)]).T
    return ReplayFeed(
        name="two-symbols",
        symbols=["TREND", "EURUSD"],
        timestamps_ns=START_NS + np.arange(2, dtype=np.int64) * DAY_NS,
        bars=[np.ascontiguousarray(trend), np.ascontiguousarray(fx)],
        speed=float("inf"),
        tick_size=[0.0001, 0.00001],
        qty_step=[1.0, 1000.0],
    )


@pytest.fixture
async def market(desk: Desk, platform: Platform) -> tuple[PaperTradingEngine, ReplayFeed]:
    feed = two_symbol_feed()
    engine = PaperTradingEngine(platform, feed)
    await engine.start()
    return engine, feed


async def test_orders_are_held_to_the_instruments_tick_and_lot(
    desk: Desk, market: tuple[PaperTradingEngine, ReplayFeed], make_user: MakeUser
) -> None:
    user = await make_user()
    await desk.acknowledge(user)
    portfolio = (await desk.portfolio(user, starting_cash_minor=100_000_000))["id"]
    order = {"symbol": "EURUSD", "side": "buy", "kind": "limit"}
    off_lot = await desk.order(user, portfolio, **order, qty=1500, limit_price=1.1)
    assert off_lot.status_code == 422
    assert off_lot.json()["errors"][0]["field"] == "qty"
    assert "multiple of 1000" in off_lot.json()["detail"]
    below = await desk.order(user, portfolio, **order, qty=0.5, limit_price=1.1)
    assert below.status_code == 422
    assert below.json()["errors"][0]["field"] == "qty"
    off_tick = await desk.order(user, portfolio, **order, qty=2000, limit_price=1.100005)
    assert off_tick.status_code == 422
    assert off_tick.json()["errors"][0]["field"] == "limit_price"
    assert "tick size 1e-05" in off_tick.json()["detail"]
    # TREND's tick is 0.0001: a price FX could take is off its grid.
    trend_off_tick = await desk.order(
        user, portfolio, symbol="TREND", side="buy", kind="limit", qty=1, limit_price=50.00005
    )
    assert trend_off_tick.json()["errors"][0]["field"] == "limit_price"
    assert await desk.fetch("SELECT 1 FROM paper_orders") == []
    placed = await desk.order(user, portfolio, **order, qty=2000, limit_price=1.10001)
    assert placed.status_code == 201, placed.text


async def test_the_paper_market_replays_two_symbols_each_priced_and_filled_at_its_own_price(
    desk: Desk, market: tuple[PaperTradingEngine, ReplayFeed], make_user: MakeUser
) -> None:
    engine, feed = market
    first = feed.tick_at(1)
    assert first is not None
    await engine.step(first)
    closes = await desk.fetch(
        """SELECT (last_closes ->> 'TREND')::float AS trend,
                  (last_closes ->> 'EURUSD')::float AS fx
           FROM market_feed_state WHERE feed = $1""",
        feed.name,
    )
    assert [(r["trend"], r["fx"]) for r in closes] == [(50.5, 1.1005)]

    user = await make_user()
    await desk.acknowledge(user)
    portfolio = (
        await desk.portfolio(user, starting_cash_minor=100_000_000, preset="frictionless")
    )["id"]
    await desk.placed(user, portfolio, symbol="TREND", side="buy", kind="market", qty=10)
    await desk.placed(user, portfolio, symbol="EURUSD", side="buy", kind="market", qty=1000)
    second = feed.tick_at(2)
    assert second is not None
    report = await engine.step(second)
    prices = {f.symbol: f.price for f in report.fills}
    # Market orders fill at the next bar's open of their own symbol.
    assert prices == {"TREND": 50.5, "EURUSD": 1.1005}
    positions = await desk.fetch(
        "SELECT symbol, qty FROM paper_positions WHERE qty <> 0 ORDER BY symbol"
    )
    assert [(r["symbol"], float(r["qty"])) for r in positions] == [("EURUSD", 1000), ("TREND", 10)]


def test_the_demo_market_ships_distinct_seeded_series_on_shared_days() -> None:
    frames = demo_market_frames()
    assert list(frames) == ["DEMO", "TREND", "EURUSD"]
    stamps = [f["timestamp"].to_list() for f in frames.values()]
    assert stamps[0] == stamps[1] == stamps[2]
    again = demo_market_frames()
    assert all(frames[s].equals(again[s]) for s in frames)
    trend = frames["TREND"]["close"].to_list()
    fx = frames["EURUSD"]["close"].to_list()
    assert trend[-1] > 3 * trend[0]  # trending
    assert min(fx) > 1.0
    assert max(fx) < 1.2


def test_the_replay_runs_btcusd_minute_bars_round_the_clock_on_its_tick(settings: Any) -> None:
    feeds = market_feeds(settings)
    assert [f.symbols for f in feeds] == [["DEMO", "TREND", "EURUSD"], [CRYPTO_SYMBOL]]
    frame = crypto_market_frame()
    validate(frame)
    gaps = frame["timestamp"].diff().drop_nulls().dt.total_seconds().unique().to_list()
    assert gaps == [60]  # weekends included
    assert frame["timestamp"].dt.weekday().unique().len() == 7
    cents = (frame["close"] * 100).round(6)
    assert (cents == cents.round(0)).all()


async def test_positions_on_another_feed_are_valued_at_that_feeds_last_close(
    desk: Desk, platform: Platform, make_user: MakeUser
) -> None:
    """Two engines, as one process runs them: TREND's marks equity, EURUSD's only
    matches; a portfolio holding both is marked with EURUSD's own last close."""
    trend_bars = np.array([(50.0, 51, 49, 50.5, 1e6)] * 4).T
    fx_bars = np.array([(1.1, 1.2, 1.0, 1.1, 1e6), (1.1, 1.2, 1.0, 1.15, 1e6)] * 2).T
    stamps = START_NS + np.arange(4, dtype=np.int64) * DAY_NS

    def one(name: str, symbol: str, bars: Any, tick: float, lot: float) -> ReplayFeed:
        return ReplayFeed(
            name=name, symbols=[symbol], timestamps_ns=stamps,
            bars=[np.ascontiguousarray(bars)], speed=float("inf"),
            tick_size=[tick], qty_step=[lot],
        )  # fmt: skip

    trend_feed = one("trend-only", "TREND", trend_bars, 0.0001, 1.0)
    fx_feed = one("fx-only", "EURUSD", fx_bars, 0.00001, 1000.0)
    trend = PaperTradingEngine(platform, trend_feed)
    fx = PaperTradingEngine(platform, fx_feed, marks_equity=False)
    await trend.start()
    await fx.start()
    for engine, feed in ((trend, trend_feed), (fx, fx_feed)):
        tick = feed.tick_at(1)
        assert tick is not None
        await engine.step(tick)
    user = await make_user()
    await desk.acknowledge(user)
    portfolio = (
        await desk.portfolio(user, starting_cash_minor=100_000_000, preset="frictionless")
    )["id"]
    await desk.placed(user, portfolio, symbol="EURUSD", side="buy", kind="market", qty=10_000)
    for seq in (2, 3, 4):
        fx_tick, trend_tick = fx_feed.tick_at(seq), trend_feed.tick_at(seq)
        assert fx_tick is not None
        assert trend_tick is not None
        await fx.step(fx_tick)
        await trend.step(trend_tick)
    # Bought 10,000 at bar 2's open 1.1; EURUSD last closed at 1.15 (bar 4).
    marks = await desk.fetch(
        "SELECT bar_seq, equity_minor FROM paper_equity WHERE portfolio_id = $1 ORDER BY bar_seq",
        uuid.UUID(portfolio),
    )
    assert marks[-1]["bar_seq"] == 4
    assert marks[-1]["equity_minor"] == 100_000_000 + 50_000  # $500.00
    # The matching-only engine recorded no marks of its own.
    assert [m["bar_seq"] for m in marks] == [2, 3, 4]
