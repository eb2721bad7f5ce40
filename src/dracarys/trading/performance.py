"""Performance of paper portfolios and leaderboards, computed from the equity marks the
engine records at every bar with the engine's own metric kernels (`engine.metrics`), so
a portfolio's Sharpe and drawdown mean exactly what a backtest's do.

Leaderboards rank by risk-adjusted return: the annualised Sharpe ratio of the equity
marks inside the period (day, week, month or all time, by when the marks were recorded);
a curve too short or too flat to have one scores 0 and ranks after those that do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

import numpy as np

from dracarys.db import Connection
from dracarys.errors import InvalidInput
from dracarys.identity import CurrentUser, display_names
from dracarys.money import to_minor
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.trading import service, store
from dracarys.trading.models import (
    EquityMark,
    EquityPoint,
    Leaderboard,
    LeaderboardEntry,
    LeaderboardFrame,
    Performance,
    Period,
    Portfolio,
    Position,
)
from engine.backtest import TRADE_COLUMNS
from engine.data import SECONDS_PER_YEAR
from engine.metrics import M_MAX_DRAWDOWN, M_SHARPE, drawdown_series, performance
from streams import channels

PERIODS: tuple[str, ...] = get_args(Period)
BOARDS = ("portfolios", "mentors")
_PERIOD_LENGTH = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
_NO_TRADES = np.zeros((0, TRADE_COLUMNS))


@dataclass(frozen=True, slots=True)
class CurveStats:
    equity_minor: int | None
    return_pct: float
    sharpe: float | None
    max_drawdown_pct: float


def bars_per_year(times: list[datetime]) -> float:
    """From the marks' market times: business-day bars give about 252."""
    if len(times) < 2:
        return 252.0
    span_s = (times[-1] - times[0]).total_seconds()
    if span_s <= 0:
        return 252.0
    return (len(times) - 1) / (span_s / SECONDS_PER_YEAR)


def curve_stats(curve_minor: list[int], start_minor: int, per_year: float) -> CurveStats:
    if not curve_minor:
        return CurveStats(None, 0.0, None, 0.0)
    equity = np.asarray(curve_minor, dtype=np.float64)
    values = performance(equity, _NO_TRADES, float(start_minor), per_year)
    sharpe = float(values[M_SHARPE])
    return CurveStats(
        equity_minor=int(curve_minor[-1]),
        return_pct=100.0 * (curve_minor[-1] / start_minor - 1.0),
        sharpe=None if np.isnan(sharpe) else sharpe,
        max_drawdown_pct=float(values[M_MAX_DRAWDOWN]),
    )


async def curve_stats_of(conn: Connection, portfolio: Portfolio) -> CurveStats:
    marks = await store.equity_curve(conn, portfolio.id, portfolio.epoch)
    return curve_stats(
        [m.equity_minor for m in marks],
        portfolio.starting_cash_minor,
        bars_per_year([m.market_time for m in marks]),
    )


async def portfolio_performance(
    platform: Platform, user: CurrentUser, portfolio_id: uuid.UUID, curve_limit: int
) -> Performance:
    """For whoever may read the portfolio (its owner, the mentors it is shared with)."""
    async with platform.pool.acquire() as conn:
        portfolio = await service.readable_portfolio(conn, user, portfolio_id)
        return await _performance(conn, portfolio, curve_limit)


def _equity_points(
    marks: list[EquityMark], curve: list[int], starting_cash_minor: int, limit: int
) -> list[EquityPoint]:
    """The last `limit` marks with the drawdown at each (measured over the whole curve)."""
    drawdowns = (
        drawdown_series(np.asarray(curve, dtype=np.float64), float(starting_cash_minor))
        if curve
        else np.zeros(0)
    )
    return [
        EquityPoint(
            bar_seq=marks[k].bar_seq,
            market_time=marks[k].market_time,
            equity_minor=curve[k],
            drawdown_pct=100.0 * float(drawdowns[k]),
        )
        for k in range(max(0, len(marks) - limit), len(marks))
    ]


async def equity_points(conn: Connection, portfolio: Portfolio, limit: int) -> list[EquityPoint]:
    """A portfolio's equity curve (this epoch), its last `limit` points."""
    marks = await store.equity_curve(conn, portfolio.id, portfolio.epoch)
    curve = [m.equity_minor for m in marks]
    return _equity_points(marks, curve, portfolio.starting_cash_minor, limit)


async def _performance(conn: Connection, portfolio: Portfolio, curve_limit: int) -> Performance:
    marks = await store.equity_curve(conn, portfolio.id, portfolio.epoch)
    curve = [m.equity_minor for m in marks]
    stats = curve_stats(
        curve, portfolio.starting_cash_minor, bars_per_year([m.market_time for m in marks])
    )
    currency = portfolio.currency
    open_positions: list[Position] = []
    prices = {p.symbol: p.mark for p in await store.marked_positions(conn, portfolio.id)}
    for held in await store.positions(conn, portfolio.id):
        if held.qty == 0:
            continue
        mark = prices.get(held.symbol)
        open_positions.append(
            Position(
                symbol=held.symbol,
                qty=held.qty,
                avg_price=held.avg_price,
                realized_pnl_minor=held.realized_pnl_minor,
                market_price=mark,
                unrealized_pnl_minor=(
                    to_minor((mark - held.avg_price) * held.qty, currency)
                    if mark is not None
                    else None
                ),
            )
        )
    equity_now = portfolio.cash_minor + to_minor(
        sum(p.qty * (p.market_price or p.avg_price) for p in open_positions), currency
    )
    fills = await store.count_fills(conn, portfolio.id, portfolio.epoch)
    return Performance(
        portfolio_id=portfolio.id,
        currency=portfolio.currency,
        starting_cash_minor=portfolio.starting_cash_minor,
        equity_minor=equity_now,
        total_return_pct=100.0 * (equity_now / portfolio.starting_cash_minor - 1.0),
        sharpe=stats.sharpe,
        max_drawdown_pct=stats.max_drawdown_pct,
        trades=await store.count_exits(conn, portfolio.id, portfolio.epoch),
        fills=fills,
        open_positions=open_positions,
        equity_curve=_equity_points(marks, curve, portfolio.starting_cash_minor, curve_limit),
    )


async def leaderboard(platform: Platform, board: str, period: str, limit: int) -> Leaderboard:
    async with platform.pool.acquire() as conn:
        return await _leaderboard(
            conn, platform.settings, board, period, platform.clock.now(), limit
        )


async def _leaderboard(
    conn: Connection, settings: Settings, board: str, period: str, now: datetime, limit: int = 50
) -> Leaderboard:
    if board not in BOARDS:
        raise InvalidInput(f"board is one of {', '.join(BOARDS)}", field="board")
    if period not in PERIODS:
        raise InvalidInput(f"period is one of {', '.join(PERIODS)}", field="period")
    since = now - _PERIOD_LENGTH[period] if period in _PERIOD_LENGTH else None
    kind = "personal" if board == "portfolios" else "signal_book"
    curves = await store.equity_curves(conn, since, kind)
    # A mentor's board shows the mentor's name, sealed at rest: asked of identity.
    names = (
        await display_names(conn, settings, {c.user_id for c in curves})
        if board == "mentors"
        else {}
    )
    scored: list[tuple[float, float, LeaderboardEntry]] = []
    for row in curves:
        curve = row.curve
        # Inside a window the first mark is the base; all time starts from the cash.
        base = row.starting_cash_minor if since is None else curve[0]
        stats = curve_stats(curve, base, 252.0)
        score = stats.sharpe if stats.sharpe is not None else 0.0
        entry = LeaderboardEntry(
            rank=0,
            id=row.id,
            owner_id=row.user_id,
            name=names.get(row.user_id, row.name) if board == "mentors" else row.name,
            return_pct=round(stats.return_pct, 6),
            sharpe=None if stats.sharpe is None else round(stats.sharpe, 6),
            max_drawdown_pct=round(stats.max_drawdown_pct, 6),
            score=round(score, 6),
        )
        scored.append((-score, -stats.return_pct, entry))
    scored.sort(key=lambda item: (item[0], item[1], str(item[2].id)))
    entries = [
        LeaderboardEntry(**{**{f: getattr(e, f) for f in e.__struct_fields__}, "rank": k})
        for k, (_, _, e) in enumerate(scored[:limit], start=1)
    ]
    return Leaderboard(board=board, period=period, entries=entries, computed_at=now)


def board_channel(board: str, period: str) -> str:
    return channels.leaderboard(f"{board}-{period}")


async def publish_leaderboards(platform: Platform) -> list[Leaderboard]:
    now = platform.clock.now()
    boards: list[Leaderboard] = []
    async with platform.pool.acquire() as conn:
        for board in BOARDS:
            for period in PERIODS:
                boards.append(await _leaderboard(conn, platform.settings, board, period, now))
    for result in boards:
        await platform.streams.publish(
            board_channel(result.board, result.period),
            LeaderboardFrame(
                board=result.board,
                period=result.period,
                entries=result.entries,
                computed_at=result.computed_at,
            ),
        )
    return boards
