"""Technical indicators as Numba kernels over float64 arrays.

Every kernel returns arrays the length of its input, with NaN wherever the window is not
yet full (the warm-up), so that comparisons during warm-up are false and never signal.
Inputs are assumed validated (finite prices, see ``engine.data``).
"""

import numpy as np
import numpy.typing as npt

from engine.compile import inline_kernel, kernel

FloatArray = npt.NDArray[np.float64]
FlagArray = npt.NDArray[np.int8]


@kernel
def sma_into(values: FloatArray, window: int, out: FloatArray) -> None:
    """Simple moving average of ``values`` over ``window`` bars (inclusive) into ``out``.

    A running sum is a chain of dependent additions, which bounds its speed, so the bars
    are split in two halves, each starting from its own freshly summed window, advanced
    side by side in one loop: the processor overlaps the two chains. Sums are taken
    relative to an anchor so that large price levels do not cost digits; the mean
    multiplies by the reciprocal of the window (a division per bar would be slower)."""
    if window < 1 or values.shape[0] < window:
        out[:] = np.nan
        return
    first, middle, lower, upper, side = _sma_start(values, window, out)
    lower, upper = _sma_halves(values, window, out, first, middle, lower, upper, 0, side)
    _sma_finish(values, window, out, first, middle, lower, upper, side)


@kernel
def sma_pair_into(
    values: FloatArray, window_a: int, out_a: FloatArray, window_b: int, out_b: FloatArray
) -> None:
    """Two simple moving averages of the same values in one pass (four running sums side
    by side, each value read once), each bit for bit what ``sma_into`` gives."""
    n = values.shape[0]
    if window_a < 1 or n < window_a or window_b < 1 or n < window_b:
        sma_into(values, window_a, out_a)
        sma_into(values, window_b, out_b)
        return
    first_a, middle_a, lower_a, upper_a, side_a = _sma_start(values, window_a, out_a)
    first_b, middle_b, lower_b, upper_b, side_b = _sma_start(values, window_b, out_b)
    anchor = values[0]
    inverse_a = 1.0 / window_a
    inverse_b = 1.0 / window_b
    lower_in_a = values[first_a + 1 :]
    lower_out_a = values[first_a + 1 - window_a :]
    lower_mean_a = out_a[first_a + 1 :]
    upper_in_a = values[middle_a + 1 :]
    upper_out_a = values[middle_a + 1 - window_a :]
    upper_mean_a = out_a[middle_a + 1 :]
    lower_in_b = values[first_b + 1 :]
    lower_out_b = values[first_b + 1 - window_b :]
    lower_mean_b = out_b[first_b + 1 :]
    upper_in_b = values[middle_b + 1 :]
    upper_out_b = values[middle_b + 1 - window_b :]
    upper_mean_b = out_b[middle_b + 1 :]
    common = max(min(side_a, side_b), 0)
    for k in range(common):
        lower_a += lower_in_a[k] - lower_out_a[k]
        upper_a += upper_in_a[k] - upper_out_a[k]
        lower_b += lower_in_b[k] - lower_out_b[k]
        upper_b += upper_in_b[k] - upper_out_b[k]
        lower_mean_a[k] = anchor + lower_a * inverse_a
        upper_mean_a[k] = anchor + upper_a * inverse_a
        lower_mean_b[k] = anchor + lower_b * inverse_b
        upper_mean_b[k] = anchor + upper_b * inverse_b
    lower_a, upper_a = _sma_halves(
        values, window_a, out_a, first_a, middle_a, lower_a, upper_a, common, side_a
    )
    lower_b, upper_b = _sma_halves(
        values, window_b, out_b, first_b, middle_b, lower_b, upper_b, common, side_b
    )
    _sma_finish(values, window_a, out_a, first_a, middle_a, lower_a, upper_a, side_a)
    _sma_finish(values, window_b, out_b, first_b, middle_b, lower_b, upper_b, side_b)


@inline_kernel
def _sma_start(
    values: FloatArray, window: int, out: FloatArray
) -> tuple[int, int, float, float, int]:
    """The warm-up, the two halves' starting sums and means, and how many bars both
    halves then advance side by side."""
    n = values.shape[0]
    first = window - 1
    out[:first] = np.nan
    anchor = values[0]
    middle = first + (n - first) // 2
    lower = _window_sum(values, anchor, first, window)
    upper = _window_sum(values, anchor, middle, window)
    out[first] = anchor + lower * (1.0 / window)
    out[middle] = anchor + upper * (1.0 / window)
    return first, middle, lower, upper, min(middle - first, n - middle) - 1


@inline_kernel
def _sma_halves(
    values: FloatArray,
    window: int,
    out: FloatArray,
    first: int,
    middle: int,
    lower: float,
    upper: float,
    start: int,
    stop: int,
) -> tuple[float, float]:
    """Advance both halves over their bars ``start..stop`` (counted from each half's
    first bar after its starting one); views from zero drop negative-index checks."""
    anchor = values[0]
    inverse = 1.0 / window
    lower_in = values[first + 1 :]
    lower_out = values[first + 1 - window :]
    lower_mean = out[first + 1 :]
    upper_in = values[middle + 1 :]
    upper_out = values[middle + 1 - window :]
    upper_mean = out[middle + 1 :]
    for k in range(start, stop):
        lower += lower_in[k] - lower_out[k]
        upper += upper_in[k] - upper_out[k]
        lower_mean[k] = anchor + lower * inverse
        upper_mean[k] = anchor + upper * inverse
    return lower, upper


@inline_kernel
def _sma_finish(
    values: FloatArray,
    window: int,
    out: FloatArray,
    first: int,
    middle: int,
    lower: float,
    upper: float,
    side: int,
) -> None:
    """The halves differ by at most one bar: finish each."""
    n = values.shape[0]
    anchor = values[0]
    inverse = 1.0 / window
    for i in range(first + 1 + max(side, 0), middle):
        lower += values[i] - values[i - window]
        out[i] = anchor + lower * inverse
    for i in range(middle + 1 + max(side, 0), n):
        upper += values[i] - values[i - window]
        out[i] = anchor + upper * inverse


@inline_kernel
def _window_sum(values: FloatArray, anchor: float, end: int, window: int) -> float:
    """Sum of ``values - anchor`` over the window ending at ``end`` (inclusive)."""
    total = 0.0
    for i in range(end - window + 1, end + 1):
        total += values[i] - anchor
    return total


# Bars per block of ``sma_pair_crossings_into``: four rows of means in L1 cache.
CROSSING_BLOCK_BARS = 512


@kernel
def sma_pair_crossings_into(
    values: FloatArray,
    window_a: int,
    window_b: int,
    rising: int,
    falling: int,
    out: FlagArray,
) -> None:
    """Where the simple moving average of ``values`` over ``window_a`` crosses that over
    ``window_b``: ``out[i]`` gets the bits ``rising`` where A crosses above B at bar ``i``
    (``a > b`` now, ``a <= b`` the bar before) and ``falling`` where it crosses below,
    exactly as the conditions ``crosses_above``/``crosses_below`` read rows that
    ``sma_pair_into`` wrote (NaN warm-ups compare false), without writing the averages
    out: a backtest of a crossover then reads the values once and writes one byte per bar
    instead of writing two rows and reading them back.

    The means are ``sma_into``'s, bit for bit: each is a running sum restarted from a fresh
    window sum at the first bar and at the middle bar of its row, and each sum only ever
    advances bar by bar. So the bars below both rows' middles and those above both
    middles go as two streams side by side (four sums whose additions overlap, as in
    ``sma_pair_into``), their means kept for a block in cache and compared there in a
    loop the compiler vectorises; the warm-up and the few bars between the two middles
    go one by one."""
    n = values.shape[0]
    if window_a < 1 or window_b < 1 or n < window_a or n < window_b:
        out[:] = 0
        return
    middle_a = window_a - 1 + (n - window_a + 1) // 2
    middle_b = window_b - 1 + (n - window_b + 1) // 2
    low = max(window_a, window_b)  # both rows past their first mean, and the bar before
    top = max(middle_a, middle_b)
    hot = max(0, min(min(middle_a, middle_b) - low, n - top - 1))
    # The upper stream starts from both sums and means at ``top``.
    upper_a = 0.0
    upper_mean_a = np.nan
    for k in range(middle_a, top + 1):
        upper_a, upper_mean_a = _sma_step(values, window_a, middle_a, k, upper_a)
    upper_b = 0.0
    upper_mean_b = np.nan
    for k in range(middle_b, top + 1):
        upper_b, upper_mean_b = _sma_step(values, window_b, middle_b, k, upper_b)
    means = np.empty((4, CROSSING_BLOCK_BARS + 1))
    # The lower stream's warm-up, bar by bar.
    lower_a = 0.0
    lower_b = 0.0
    means[0, 0] = np.nan
    means[1, 0] = np.nan
    for i in range(min(low, n)):
        lower_a, means[0, 1] = _sma_step(values, window_a, middle_a, i, lower_a)
        lower_b, means[1, 1] = _sma_step(values, window_b, middle_b, i, lower_b)
        _crossings(means[0], means[1], 1, out[i:], rising, falling)
        means[0, 0] = means[0, 1]
        means[1, 0] = means[1, 1]
    means[2, 0] = upper_mean_a
    means[3, 0] = upper_mean_b
    anchor = values[0]
    inverse_a = 1.0 / window_a
    inverse_b = 1.0 / window_b
    for start in range(0, hot, CROSSING_BLOCK_BARS):
        count = min(CROSSING_BLOCK_BARS, hot - start)
        # Views from zero drop negative-index checks.
        lower_in = values[low + start :]
        lower_out_a = values[low + start - window_a :]
        lower_out_b = values[low + start - window_b :]
        upper_in = values[top + 1 + start :]
        upper_out_a = values[top + 1 + start - window_a :]
        upper_out_b = values[top + 1 + start - window_b :]
        mean_a = means[0, 1:]
        mean_b = means[1, 1:]
        upper_mean_a_block = means[2, 1:]
        upper_mean_b_block = means[3, 1:]
        for t in range(count):
            x = lower_in[t]
            lower_a += x - lower_out_a[t]
            lower_b += x - lower_out_b[t]
            mean_a[t] = anchor + lower_a * inverse_a
            mean_b[t] = anchor + lower_b * inverse_b
            y = upper_in[t]
            upper_a += y - upper_out_a[t]
            upper_b += y - upper_out_b[t]
            upper_mean_a_block[t] = anchor + upper_a * inverse_a
            upper_mean_b_block[t] = anchor + upper_b * inverse_b
        _crossings(means[0], means[1], count, out[low + start :], rising, falling)
        _crossings(means[2], means[3], count, out[top + 1 + start :], rising, falling)
        for row in range(4):
            means[row, 0] = means[row, count]
    # The rest of the lower stream, through the bars between the middles, up to ``top``.
    for i in range(max(min(low, n), low + hot), min(top + 1, n)):
        lower_a, means[0, 1] = _sma_step(values, window_a, middle_a, i, lower_a)
        lower_b, means[1, 1] = _sma_step(values, window_b, middle_b, i, lower_b)
        _crossings(means[0], means[1], 1, out[i:], rising, falling)
        means[0, 0] = means[0, 1]
        means[1, 0] = means[1, 1]
    # The rest of the upper stream.
    for j in range(top + 1 + hot, n):
        upper_a, means[2, 1] = _sma_step(values, window_a, middle_a, j, upper_a)
        upper_b, means[3, 1] = _sma_step(values, window_b, middle_b, j, upper_b)
        _crossings(means[2], means[3], 1, out[j:], rising, falling)
        means[2, 0] = means[2, 1]
        means[3, 0] = means[3, 1]


@inline_kernel
def _sma_step(
    values: FloatArray, window: int, middle: int, bar: int, total: float
) -> tuple[float, float]:
    """The running sum and the mean of ``sma_into``'s row at ``bar`` from the sum at the
    bar before: NaN in the warm-up, a fresh window sum at the first and the middle bar."""
    first = window - 1
    if bar < first:
        return total, np.nan
    anchor = values[0]
    if bar in (first, middle):
        total = _window_sum(values, anchor, bar, window)
    else:
        total += values[bar] - values[bar - window]
    return total, anchor + total * (1.0 / window)


@inline_kernel
def _crossings(
    a: FloatArray, b: FloatArray, count: int, out: FlagArray, rising: int, falling: int
) -> None:
    """Crossing bits of ``count`` bars whose means are ``a[1:]`` and ``b[1:]``, each
    after the one before it (``a[0]``, ``b[0]`` before the first) into ``out[:count]``."""
    now_a = a[1 : count + 1]
    now_b = b[1 : count + 1]
    was_a = a[:count]
    was_b = b[:count]
    dest = out[:count]
    up = np.int8(rising)
    down = np.int8(falling)
    for t in range(count):
        above = (now_a[t] > now_b[t]) & (was_a[t] <= was_b[t])
        below = (now_a[t] < now_b[t]) & (was_a[t] >= was_b[t])
        dest[t] = (-np.int8(above) & up) | (-np.int8(below) & down)


@inline_kernel
def crossings_into(a: FloatArray, b: FloatArray, rising: int, falling: int, out: FlagArray) -> None:
    """Where series ``a`` crosses series ``b``: the bits ``rising`` where ``a > b`` now and
    ``a <= b`` the bar before, ``falling`` where ``a < b`` now and ``a >= b`` before,
    zero elsewhere and at the first bar (NaN compares false): the flags the conditions
    ``crosses_above``/``crosses_below`` give on the two rows, in one loop that compares
    each pair once (a crossover's flags, on the rows of its series table)."""
    crossings_between(a, b, 0, a.shape[0], rising, falling, out)


@inline_kernel
def crossings_between(
    a: FloatArray, b: FloatArray, start: int, stop: int, rising: int, falling: int, out: FlagArray
) -> None:
    """``crossings_into`` for bars ``start`` up to ``stop`` only (``out`` is the whole
    row): a sweep fills many crossovers' flags a block of bars at a time, so the block of
    each row it reads is still in the cache for the next crossover that reads it."""
    if start >= stop:
        return
    if start == 0:
        out[0] = 0
        start = 1
    _crossings(
        a[start - 1 : stop], b[start - 1 : stop], stop - start, out[start:stop], rising, falling
    )


@kernel
def sma(values: FloatArray, window: int) -> FloatArray:
    """Simple moving average: mean of the last ``window`` values (inclusive)."""
    out = np.empty(values.shape[0])
    sma_into(values, window, out)
    return out


@kernel
def ema_into(values: FloatArray, span: int, out: FloatArray) -> None:
    """Exponential moving average with ``alpha = 2 / (span + 1)`` into ``out``, seeded
    with the first value (``ema[0] = values[0]``, no bias adjustment), NaN for the first
    ``span - 1`` bars. Matches polars ``ewm_mean(span=span, adjust=False, min_samples=span)``."""
    n = values.shape[0]
    if span < 1 or n == 0:
        out[:] = np.nan
        return
    warm_up = min(span - 1, n)
    out[:warm_up] = np.nan
    alpha = 2.0 / (span + 1.0)
    keep = 1.0 - alpha
    level = values[0]
    for i in range(1, warm_up):
        level = alpha * values[i] + keep * level
    if warm_up == 0:
        out[0] = level
    for i in range(max(warm_up, 1), n):
        level = alpha * values[i] + keep * level
        out[i] = level


@kernel
def ema(values: FloatArray, span: int) -> FloatArray:
    """Exponential moving average (see ``ema_into``)."""
    out = np.empty(values.shape[0])
    ema_into(values, span, out)
    return out


@kernel
def wma(values: FloatArray, window: int) -> FloatArray:
    """Linearly weighted moving average: weights 1..window, the newest value heaviest."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if window < 1 or n < window:
        return out
    denominator = window * (window + 1) / 2.0
    for i in range(window - 1, n):
        total = 0.0
        for k in range(window):
            total += (k + 1) * values[i - window + 1 + k]
        out[i] = total / denominator
    return out


@kernel
def rsi(values: FloatArray, window: int) -> FloatArray:
    """Relative strength index with Wilder's smoothing.

    The first average gain/loss is the plain mean of the first ``window`` changes (valid at
    index ``window``); after that ``avg = (avg * (window - 1) + change) / window``.
    ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``; 100 when there were no losses, 50 when
    there was no movement at all.
    """
    n = values.shape[0]
    out = np.full(n, np.nan)
    if window < 1 or n <= window:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, window + 1):
        change = values[i] - values[i - 1]
        if change > 0:
            gain += change
        else:
            loss -= change
    gain /= window
    loss /= window
    for i in range(window, n):
        if i > window:
            change = values[i] - values[i - 1]
            up = change if change > 0 else 0.0
            down = -change if change < 0 else 0.0
            gain = (gain * (window - 1) + up) / window
            loss = (loss * (window - 1) + down) / window
        if loss == 0.0:
            out[i] = 50.0 if gain == 0.0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + gain / loss)
    return out


@kernel
def macd(
    values: FloatArray, fast: int, slow: int, signal: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD line (``ema(fast) - ema(slow)``), its signal line (an EMA of the line started
    at the line's first valid bar) and the histogram (line - signal)."""
    n = values.shape[0]
    line = ema(values, fast) - ema(values, slow)
    signal_line = np.full(n, np.nan)
    first = -1
    for i in range(n):
        if not np.isnan(line[i]):
            first = i
            break
    if first >= 0:
        signal_line[first:] = ema(line[first:], signal)
    return line, signal_line, line - signal_line


@kernel
def rolling_std(values: FloatArray, window: int, ddof: int) -> FloatArray:
    """Rolling standard deviation over ``window`` values with ``ddof`` degrees of freedom."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if window < 1 or n < window or window - ddof < 1:
        return out
    anchor = values[0]
    total = 0.0
    total_sq = 0.0
    for i in range(n):
        shifted = values[i] - anchor
        total += shifted
        total_sq += shifted * shifted
        if i >= window:
            dropped = values[i - window] - anchor
            total -= dropped
            total_sq -= dropped * dropped
        if i >= window - 1:
            variance = (total_sq - total * total / window) / (window - ddof)
            out[i] = np.sqrt(variance) if variance > 0.0 else 0.0
    return out


@kernel
def bollinger(
    values: FloatArray, window: int, width: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands: (upper, middle, lower) = sma ± width × population std (ddof 0)."""
    middle = sma(values, window)
    spread = width * rolling_std(values, window, 0)
    return middle + spread, middle, middle - spread


@kernel
def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """True range; the first bar, having no previous close, uses ``high - low``."""
    n = high.shape[0]
    out = np.empty(n)
    for i in range(n):
        span = high[i] - low[i]
        if i > 0:
            span = max(span, abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        out[i] = span
    return out


@kernel
def atr(high: FloatArray, low: FloatArray, close: FloatArray, window: int) -> FloatArray:
    """Average true range, Wilder-smoothed, seeded with the mean of the first ``window``
    true ranges (valid from index ``window - 1``)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    if window < 1 or n < window:
        return out
    ranges = true_range(high, low, close)
    level = 0.0
    for i in range(window):
        level += ranges[i]
    level /= window
    out[window - 1] = level
    for i in range(window, n):
        level = (level * (window - 1) + ranges[i]) / window
        out[i] = level
    return out


@kernel
def rolling_max(values: FloatArray, window: int) -> FloatArray:
    """Highest value over the last ``window`` values, in O(n) with a monotonic queue."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if window < 1:
        return out
    queue = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    for i in range(n):
        while tail > head and values[queue[tail - 1]] <= values[i]:
            tail -= 1
        queue[tail] = i
        tail += 1
        if queue[head] <= i - window:
            head += 1
        if i >= window - 1:
            out[i] = values[queue[head]]
    return out


@kernel
def rolling_min(values: FloatArray, window: int) -> FloatArray:
    """Lowest value over the last ``window`` values."""
    return -rolling_max(-values, window)


@kernel
def stochastic(
    high: FloatArray, low: FloatArray, close: FloatArray, k_window: int, d_window: int
) -> tuple[FloatArray, FloatArray]:
    """Stochastic oscillator: %K = 100 × (close − lowest low) / (highest high − lowest low)
    over ``k_window`` bars (50 when the range is zero); %D = sma(%K, d_window)."""
    n = close.shape[0]
    highest = rolling_max(high, k_window)
    lowest = rolling_min(low, k_window)
    percent_k = np.full(n, np.nan)
    for i in range(n):
        if not np.isnan(highest[i]):
            span = highest[i] - lowest[i]
            percent_k[i] = 50.0 if span == 0.0 else 100.0 * (close[i] - lowest[i]) / span
    percent_d = np.full(n, np.nan)
    if k_window >= 1 and n >= k_window:
        percent_d[k_window - 1 :] = sma(percent_k[k_window - 1 :], d_window)
    return percent_k, percent_d


@kernel
def donchian(
    high: FloatArray, low: FloatArray, window: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Donchian channel over the last ``window`` bars including the current one:
    (upper = highest high, middle, lower = lowest low). Breakout rules compare the close
    with the previous bar's channel (a condition with ``right_lag=1``)."""
    upper = rolling_max(high, window)
    lower = rolling_min(low, window)
    return upper, (upper + lower) / 2.0, lower


@kernel
def vwap(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, window: int
) -> FloatArray:
    """Volume-weighted average of the typical price ``(high + low + close) / 3``: over the
    last ``window`` bars, or cumulative from the first bar when ``window`` is 0. Bars with
    no volume in the window give NaN."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    weighted = 0.0
    total_volume = 0.0
    for i in range(n):
        weighted += (high[i] + low[i] + close[i]) / 3.0 * volume[i]
        total_volume += volume[i]
        if window > 0 and i >= window:
            j = i - window
            weighted -= (high[j] + low[j] + close[j]) / 3.0 * volume[j]
            total_volume -= volume[j]
        if (window == 0 or i >= window - 1) and total_volume > 0.0:
            out[i] = weighted / total_volume
    return out


@kernel
def zscore(values: FloatArray, window: int) -> FloatArray:
    """Rolling z-score: (value − rolling mean) / rolling population std; 0 where the
    window is flat."""
    mean = sma(values, window)
    deviation = rolling_std(values, window, 0)
    n = values.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        if not np.isnan(mean[i]):
            out[i] = 0.0 if deviation[i] == 0.0 else (values[i] - mean[i]) / deviation[i]
    return out


@kernel
def realised_volatility(values: FloatArray, window: int, bars_per_year: float) -> FloatArray:
    """Annualised volatility: sample std (ddof 1) of the last ``window`` log returns times
    ``sqrt(bars_per_year)``. Used by volatility-target sizing."""
    n = values.shape[0]
    out = np.full(n, np.nan)
    if n < 2:
        return out
    log_returns = np.log(values[1:] / values[:-1])
    out[1:] = rolling_std(log_returns, window, 1) * np.sqrt(bars_per_year)
    return out
