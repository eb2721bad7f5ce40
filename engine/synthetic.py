"""Seeded synthetic OHLCV: a geometric random walk with drift, Markov-switching volatility
regimes and Poisson jumps, as daily (business days) or intraday (round-the-clock) bars.
The same arguments always give the same frame; nothing here is real market data."""

from datetime import UTC, datetime

import numpy as np
import polars as pl

from engine.data import SECONDS_PER_YEAR


def generate(
    bars: int,
    *,
    seed: int,
    bar_seconds: int = 86_400,
    start: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    start_price: float = 100.0,
    annual_drift: float = 0.06,
    calm_volatility: float = 0.15,
    stressed_volatility: float = 0.45,
    regime_persistence: float = 0.99,
    jumps_per_year: float = 3.0,
    jump_scale: float = 0.05,
    business_days: bool = True,
) -> pl.DataFrame:
    """``bars`` bars of ``bar_seconds`` each. Volatility switches between a calm and a
    stressed regime, staying put with probability ``regime_persistence`` per bar; jumps
    arrive at ``jumps_per_year`` with normal sizes of scale ``jump_scale``. Daily bars
    skip weekends when ``business_days`` (252 bars a year); intraday bars run 24/7."""
    rng = np.random.default_rng(seed)
    daily = bar_seconds >= 86_400
    bars_per_year = (
        252.0 * 86_400 / bar_seconds if daily and business_days else SECONDS_PER_YEAR / bar_seconds
    )
    dt = 1.0 / bars_per_year

    switches = rng.random(bars) > regime_persistence
    stressed = np.cumsum(switches) % 2 == 1
    volatility = np.where(stressed, stressed_volatility, calm_volatility)
    shocks = rng.standard_normal(bars)
    jumps = rng.poisson(jumps_per_year * dt, bars) * rng.normal(0.0, jump_scale, bars)
    log_returns = (
        (annual_drift - 0.5 * volatility**2) * dt + volatility * np.sqrt(dt) * shocks + jumps
    )
    close = start_price * np.exp(np.cumsum(log_returns))

    # The open gaps a little from the previous close; the wicks reach beyond both.
    previous_close = np.concatenate(([start_price], close[:-1]))
    bar_volatility = volatility * np.sqrt(dt)
    open_ = previous_close * np.exp(0.2 * bar_volatility * rng.standard_normal(bars))
    upper_wick = np.abs(rng.standard_normal(bars)) * 0.5 * bar_volatility
    lower_wick = np.abs(rng.standard_normal(bars)) * 0.5 * bar_volatility
    high = np.maximum(open_, close) * np.exp(upper_wick)
    low = np.minimum(open_, close) * np.exp(-lower_wick)
    activity = np.abs(log_returns) / bar_volatility
    volume = np.round(1_000_000 * np.exp(0.3 * rng.standard_normal(bars)) * (0.5 + activity))

    stamps = _timestamps(bars, bar_seconds, start, business_days and daily)
    return pl.DataFrame(
        {
            "timestamp": pl.Series(stamps).cast(pl.Datetime("us", "UTC")),
            "open": np.round(open_, 4),
            "high": np.round(high, 4),
            "low": np.round(low, 4),
            "close": np.round(close, 4),
            "volume": volume,
        }
    ).with_columns(
        # Rounding to 4 decimals may put open/close a hair outside the wicks; keep OHLC consistent.
        pl.max_horizontal("open", "high", "close").alias("high"),
        pl.min_horizontal("open", "low", "close").alias("low"),
    )


def _timestamps(bars: int, bar_seconds: int, start: datetime, business_days: bool) -> np.ndarray:
    origin = np.datetime64(start.replace(tzinfo=None), "us")
    if not business_days:
        return origin + np.arange(bars, dtype=np.int64) * np.timedelta64(bar_seconds, "s")
    days = np.busday_offset(origin.astype("datetime64[D]"), np.arange(bars), roll="forward")
    return days.astype("datetime64[us]")


def generate_daily(bars: int, *, seed: int) -> pl.DataFrame:
    return generate(bars, seed=seed)


def generate_intraday(bars: int, *, seed: int, bar_seconds: int = 60) -> pl.DataFrame:
    return generate(bars, seed=seed, bar_seconds=bar_seconds, business_days=False)


def generate_trending(bars: int, *, seed: int, start_price: float = 50.0) -> pl.DataFrame:
    """Daily business-day bars with a strong, steady drift and mild volatility."""
    return generate(
        bars,
        seed=seed,
        start_price=start_price,
        annual_drift=0.25,
        calm_volatility=0.12,
        stressed_volatility=0.25,
        jumps_per_year=1.0,
        jump_scale=0.02,
    )


def generate_mean_reverting(
    bars: int,
    *,
    seed: int,
    bar_seconds: int = 86_400,
    start: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    mean_price: float = 1.10,
    reversion_per_bar: float = 0.05,
    volatility_per_bar: float = 0.004,
    business_days: bool = True,
    decimals: int = 5,
) -> pl.DataFrame:
    """Bars whose log price is an Ornstein-Uhlenbeck process around ``mean_price``: each
    bar closes ``reversion_per_bar`` of the way back towards the mean, plus noise (an FX
    cross in a range)."""
    rng = np.random.default_rng(seed)
    centre = np.log(mean_price)
    shocks = rng.standard_normal(bars) * volatility_per_bar
    log_close = np.empty(bars)
    level = centre
    for k in range(bars):
        level += reversion_per_bar * (centre - level) + shocks[k]
        log_close[k] = level
    close = np.exp(log_close)
    previous_close = np.concatenate(([mean_price], close[:-1]))
    open_ = previous_close * np.exp(0.2 * volatility_per_bar * rng.standard_normal(bars))
    high = np.maximum(open_, close) * np.exp(
        np.abs(rng.standard_normal(bars)) * 0.5 * volatility_per_bar
    )
    low = np.minimum(open_, close) * np.exp(
        -np.abs(rng.standard_normal(bars)) * 0.5 * volatility_per_bar
    )
    volume = np.round(1_000_000 * np.exp(0.3 * rng.standard_normal(bars)))
    stamps = _timestamps(bars, bar_seconds, start, business_days and bar_seconds >= 86_400)
    return pl.DataFrame(
        {
            "timestamp": pl.Series(stamps).cast(pl.Datetime("us", "UTC")),
            "open": np.round(open_, decimals),
            "high": np.round(high, decimals),
            "low": np.round(low, decimals),
            "close": np.round(close, decimals),
            "volume": volume,
        }
    ).with_columns(
        pl.max_horizontal("open", "high", "close").alias("high"),
        pl.min_horizontal("open", "low", "close").alias("low"),
    )
