"""Each Numba indicator against a plain NumPy or polars reference, to 1e-9."""

import numpy as np
import polars as pl
import pytest

from engine import indicators

N = 300
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def prices() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, N)))
    open_ = close * np.exp(rng.normal(0, 0.005, N))
    high = np.maximum(open_, close) * (1 + rng.random(N) * 0.01)
    low = np.minimum(open_, close) * (1 - rng.random(N) * 0.01)
    volume = rng.integers(1, 1000, N).astype(np.float64)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def assert_matches(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE, equal_nan=True)


def windows(values: np.ndarray, window: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(values, window)


def padded(values: np.ndarray, window: int) -> np.ndarray:
    return np.concatenate((np.full(window - 1, np.nan), values))


@pytest.mark.parametrize("window", [1, 5, 20])
def test_sma_matches_numpy_window_mean(prices: dict[str, np.ndarray], window: int) -> None:
    close = prices["close"]
    assert_matches(
        indicators.sma(close, window), padded(windows(close, window).mean(axis=1), window)
    )


@pytest.mark.parametrize("span", [3, 12, 26])
def test_ema_matches_polars_ewm_mean(prices: dict[str, np.ndarray], span: int) -> None:
    expected = (
        pl.Series(prices["close"]).ewm_mean(span=span, adjust=False, min_samples=span).to_numpy()
    )
    assert_matches(indicators.ema(prices["close"], span), expected)


def test_wma_matches_numpy_weighted_windows(prices: dict[str, np.ndarray]) -> None:
    weights = np.arange(1, 11, dtype=np.float64)
    expected = padded(windows(prices["close"], 10) @ weights / weights.sum(), 10)
    assert_matches(indicators.wma(prices["close"], 10), expected)


def reference_rsi(close: np.ndarray, window: int) -> np.ndarray:
    changes = np.diff(close)
    gains, losses = np.clip(changes, 0, None), np.clip(-changes, 0, None)
    out = np.full(close.shape[0], np.nan)
    gain, loss = gains[:window].mean(), losses[:window].mean()
    for i in range(window, close.shape[0]):
        if i > window:
            gain = (gain * (window - 1) + gains[i - 1]) / window
            loss = (loss * (window - 1) + losses[i - 1]) / window
        out[i] = 100 - 100 / (1 + gain / loss)
    return out


def test_rsi_matches_wilder_reference(prices: dict[str, np.ndarray]) -> None:
    assert_matches(indicators.rsi(prices["close"], 14), reference_rsi(prices["close"], 14))


def test_rsi_of_a_rising_series_is_100_and_of_a_flat_one_is_50() -> None:
    assert indicators.rsi(np.arange(1.0, 30.0), 14)[-1] == 100.0
    assert indicators.rsi(np.full(30, 5.0), 14)[-1] == 50.0


def test_macd_matches_polars_ewm_reference(prices: dict[str, np.ndarray]) -> None:
    close = pl.Series(prices["close"])
    fast = close.ewm_mean(span=12, adjust=False, min_samples=12)
    slow = close.ewm_mean(span=26, adjust=False, min_samples=26)
    line = (fast - slow).to_numpy()
    signal = np.full(N, np.nan)
    signal[25:] = pl.Series(line[25:]).ewm_mean(span=9, adjust=False, min_samples=9).to_numpy()
    actual_line, actual_signal, histogram = indicators.macd(prices["close"], 12, 26, 9)
    assert_matches(actual_line, line)
    assert_matches(actual_signal, signal)
    assert_matches(histogram, line - signal)


def test_bollinger_matches_numpy_mean_and_population_std(prices: dict[str, np.ndarray]) -> None:
    frames = windows(prices["close"], 20)
    middle = padded(frames.mean(axis=1), 20)
    spread = padded(frames.std(axis=1, ddof=0), 20) * 2.0
    upper, actual_middle, lower = indicators.bollinger(prices["close"], 20, 2.0)
    assert_matches(actual_middle, middle)
    assert_matches(upper, middle + spread)
    assert_matches(lower, middle - spread)


def test_atr_matches_wilder_reference(prices: dict[str, np.ndarray]) -> None:
    high, low, close = prices["high"], prices["low"], prices["close"]
    previous = np.concatenate(([np.nan], close[:-1]))
    ranges = np.nanmax(
        np.stack((high - low, np.abs(high - previous), np.abs(low - previous))), axis=0
    )
    expected = np.full(N, np.nan)
    expected[13] = ranges[:14].mean()
    for i in range(14, N):
        expected[i] = (expected[i - 1] * 13 + ranges[i]) / 14
    assert_matches(indicators.atr(high, low, close, 14), expected)


def test_stochastic_matches_numpy_windows(prices: dict[str, np.ndarray]) -> None:
    high, low, close = prices["high"], prices["low"], prices["close"]
    highest = padded(windows(high, 14).max(axis=1), 14)
    lowest = padded(windows(low, 14).min(axis=1), 14)
    percent_k = 100 * (close - lowest) / (highest - lowest)
    percent_d = np.full(N, np.nan)
    percent_d[15:] = windows(percent_k[13:], 3).mean(axis=1)
    actual_k, actual_d = indicators.stochastic(high, low, close, 14, 3)
    assert_matches(actual_k, percent_k)
    assert_matches(actual_d, percent_d)


def test_donchian_matches_numpy_window_extremes(prices: dict[str, np.ndarray]) -> None:
    upper = padded(windows(prices["high"], 20).max(axis=1), 20)
    lower = padded(windows(prices["low"], 20).min(axis=1), 20)
    actual_upper, middle, actual_lower = indicators.donchian(prices["high"], prices["low"], 20)
    assert_matches(actual_upper, upper)
    assert_matches(actual_lower, lower)
    assert_matches(middle, (upper + lower) / 2)


def test_vwap_matches_numpy_cumulative_and_rolling(prices: dict[str, np.ndarray]) -> None:
    typical = (prices["high"] + prices["low"] + prices["close"]) / 3
    volume = prices["volume"]
    cumulative = np.cumsum(typical * volume) / np.cumsum(volume)
    rolling = padded(
        windows(typical * volume, 10).sum(axis=1) / windows(volume, 10).sum(axis=1), 10
    )
    args = (prices["high"], prices["low"], prices["close"], volume)
    assert_matches(indicators.vwap(*args, 0), cumulative)
    np.testing.assert_allclose(indicators.vwap(*args, 10), rolling, rtol=1e-12, equal_nan=True)


def test_zscore_matches_polars_rolling(prices: dict[str, np.ndarray]) -> None:
    close = pl.Series(prices["close"])
    expected = ((close - close.rolling_mean(20)) / close.rolling_std(20, ddof=0)).to_numpy()
    assert_matches(indicators.zscore(prices["close"], 20), expected)


def test_realised_volatility_matches_numpy_log_return_std(prices: dict[str, np.ndarray]) -> None:
    log_returns = np.diff(np.log(prices["close"]))
    expected = np.concatenate(
        ([np.nan], padded(windows(log_returns, 20).std(axis=1, ddof=1), 20))
    ) * np.sqrt(252)
    assert_matches(indicators.realised_volatility(prices["close"], 20, 252.0), expected)


def test_warm_up_is_nan_and_short_inputs_are_all_nan() -> None:
    assert np.isnan(indicators.sma(np.arange(5.0), 10)).all()
    assert np.isnan(indicators.sma(np.arange(10.0), 3)[:2]).all()


@pytest.mark.parametrize("n", [1, 2, 9, 10, 11, 51, 52, 301, 5_000])
def test_sma_pair_equals_two_single_smas_bit_for_bit(n: int) -> None:
    """The series table computes moving averages of one source in pairs; a spec must
    see the same numbers whichever partner its average was paired with."""
    values = 100 * np.exp(np.cumsum(np.random.default_rng(n).normal(0, 0.02, n)))
    for window_a, window_b in [(1, 4), (3, 10), (10, 50), (50, 10), (10, 10)]:
        pair_a, pair_b = np.empty(n), np.empty(n)
        indicators.sma_pair_into(values, window_a, pair_a, window_b, pair_b)
        np.testing.assert_array_equal(pair_a, indicators.sma(values, window_a))
        np.testing.assert_array_equal(pair_b, indicators.sma(values, window_b))
