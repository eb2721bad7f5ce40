"""The simulation kernel: turns per-bar signals into orders, fills, cash, position and
equity, one bar at a time, deterministically.

Whole on purpose (over 600 lines): the fill rules, their kernel and its layouts change together.

Fill semantics (every rule here is tested case by case in ``tests/engine``):

* **Signals** are evaluated on a bar's close. With ``fill="next_open"`` (default) the
  resulting market orders fill at the next bar's open; with ``fill="close"`` they fill at
  the same close. A signal on the last bar under ``next_open`` never fills.
* **Actions.** Flat + long entry → open long (short entry → open short, only when
  shorting is allowed; both at once cancel each other). Long + long exit → close. Long +
  short entry (shorting allowed) → close and reverse into a short at the same price, and
  symmetrically for shorts. Entries while already in the same direction are ignored (no
  pyramiding). An exit signal cancels a pending entry in that direction.
* **Entry orders** are market (default), limit, stop or stop-limit, priced from the signal
  bar's close: a long limit at ``close × (1 − limit_offset)``, a long stop at
  ``close × (1 + stop_offset)``, a stop-limit triggers at that stop and then rests as a
  limit at ``stop × (1 + limit_offset)`` (mirrored for shorts). Non-market orders start
  working on the bar after the signal and expire after ``expiry_bars`` bars (0 = good
  until cancelled by an exit signal or an opposite entry).
* **Gaps fill at the open.** A stop whose price the open has already passed fills at the
  open (worse than the stop); a limit the open has passed fills at the open (better than
  the limit). Otherwise a touched limit fills at its price, a touched stop at its price.
  A limit that is never touched never fills. A stop-limit gapped through beyond its limit
  is triggered but does not fill; it rests as a limit from the next bar.
* **Protective exits** on an open position: stop-loss and take-profit (an OCO pair:
  whichever fills cancels the other) at ``entry × (1 ∓ pct)``, and a trailing stop at
  ``extreme × (1 ∓ pct)`` where the extreme is the best high (long) or low (short) seen
  on bars *before* the current one, so a bar never trails its own stop. They work from the
  entry bar itself when the entry filled at that bar's open (the whole bar then follows
  the fill) and from the next bar otherwise. **Same-bar rule:** the open is checked first
  (stop side, then target side, filling at the open); when both are touched inside one
  bar the stop is assumed to have come first — the pessimistic reading, since OHLC data
  cannot say which came first.
* **Prices.** Slippage (bps) moves market, stop, stop-loss, trailing-stop and margin-call
  fills against the trader; limit, stop-limit (a limit once triggered) and take-profit
  fills get exactly their price (or a better open). Commission is
  ``notional × commission_bps`` plus a fixed amount per order.
* **Sizing** at fill time from the equity at the fill price: ``all_in`` buys
  ``(fraction × equity − fixed_fee) / (price × (1 + fee_rate))`` units; ``fixed_units``
  trades a set quantity; ``fixed_fraction`` risks a fraction of equity against the
  stop-loss distance (``fraction × equity / (price × stop_loss_pct)``); ``vol_target``
  scales notional to ``equity × target_vol / realised_vol`` (realised vol at the signal
  bar). Units never exceed the leverage cap (``notional ≤ leverage_cap × equity``); with
  whole units they are floored, so all-in whole units buys
  ``floor(equity / (price × (1 + fee_rate)))``.
* **Margin call**: after marking to market at each close, when equity falls below
  ``maintenance_margin × |position notional|`` the position is liquidated at that close.
* **Accounting**: equity at every bar is ``cash + position × close``. Closing a trade sets
  cash to the cash held before its entry plus its realised profit, so a zero-fee round
  trip on flat prices returns exactly the starting cash. An open position at the end is
  marked to market at the last close and reported as an open trade, not closed.
"""

import sys

import numpy as np
import numpy.typing as npt

from engine.compile import count_trailing_zeros, inline_kernel, kernel, prefetch
from engine.curve import CurveState, curve_start, curve_stats, observe, observe_flat

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FlagArray = npt.NDArray[np.int8]
WordArray = npt.NDArray[np.uint64]
ListingArray = npt.NDArray[np.int32]  # bar numbers (fewer than 2**31 bars)

# Rows of the series matrix every simulation reads; indicator rows follow.
ROW_OPEN, ROW_HIGH, ROW_LOW, ROW_CLOSE, ROW_VOLUME = 0, 1, 2, 3, 4
BASE_ROWS = 5

# Bars per block when evaluating conditions: a block of a few series stays in L1/L2 cache.
SIGNAL_BLOCK_BARS = 2048

# Bars ahead of the simulation whose flagged bars' prices are being prefetched: some
# dozens of signals, enough to cover memory latency, few enough to stay in L1.
PREFETCH_BARS = 1024

# Flags are scanned as 64-bit words on little-endian machines.
LITTLE_ENDIAN = sys.byteorder == "little"
ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)

# Signal flags, one int8 per bar, combinable with ``|``.
LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT = 1, 2, 4, 8

# Condition operators.
OP_CROSSES_ABOVE, OP_CROSSES_BELOW, OP_ABOVE, OP_BELOW = 0, 1, 2, 3

# Entry order types.
ORDER_MARKET, ORDER_LIMIT, ORDER_STOP, ORDER_STOP_LIMIT = 0, 1, 2, 3

# Sizing methods.
SIZING_ALL_IN, SIZING_FIXED_UNITS, SIZING_FIXED_FRACTION, SIZING_VOL_TARGET = 0, 1, 2, 3

# Exit reasons in the trade table.
EXIT_SIGNAL, EXIT_STOP_LOSS, EXIT_TAKE_PROFIT, EXIT_TRAILING_STOP, EXIT_MARGIN_CALL = 0, 1, 2, 3, 4
EXIT_STILL_OPEN = 5
EXIT_REASON_NAMES = ("signal", "stop_loss", "take_profit", "trailing_stop", "margin_call", "open")

# Positions in the settings vector (fractions, not bps or percent, inside the kernel).
(
    S_CASH,
    S_FILL_AT_CLOSE,
    S_ALLOW_SHORT,
    S_ORDER_TYPE,
    S_LIMIT_OFFSET,
    S_STOP_OFFSET,
    S_EXPIRY_BARS,
    S_STOP_LOSS,
    S_TAKE_PROFIT,
    S_TRAILING_STOP,
    S_SIZING,
    S_SIZE_VALUE,
    S_WHOLE_UNITS,
    S_COMMISSION_RATE,
    S_COMMISSION_FIXED,
    S_SLIPPAGE_RATE,
    S_LEVERAGE_CAP,
    S_MAINTENANCE_MARGIN,
    S_VOLATILITY_ROW,
    S_TARGET_VOLATILITY,
) = range(20)
SETTINGS_LENGTH = 20

# Columns of the trade table.
(
    T_DIRECTION,
    T_ENTRY_BAR,
    T_ENTRY_PRICE,
    T_EXIT_BAR,
    T_EXIT_PRICE,
    T_UNITS,
    T_PNL,
    T_RETURN,
    T_FEES,
    T_EXIT_REASON,
    T_CASH_HELD,
) = range(11)
TRADE_COLUMNS = 11


@inline_kernel
def _series_row(base: FloatArray, series: FloatArray, row: int) -> FloatArray:
    """Row ``row`` of the virtual table: bar rows first, then indicator rows."""
    chosen: FloatArray = base[row] if row < BASE_ROWS else series[row - BASE_ROWS]
    return chosen


@inline_kernel
def _condition_holds(
    left: FloatArray,
    right: FloatArray,
    right_is_series: bool,
    constant: float,
    bar: int,
    op: int,
    lag: int,
) -> bool:
    """One condition at ``bar``; comparisons with NaN (warm-up) are false."""
    a = left[bar]
    b = (right[bar - lag] if bar >= lag else np.nan) if right_is_series else constant
    if op == OP_ABOVE:
        return bool(a > b)
    if op == OP_BELOW:
        return bool(a < b)
    if bar < 1:
        return False
    a_prev = left[bar - 1]
    b_prev = (right[bar - 1 - lag] if bar >= lag + 1 else np.nan) if right_is_series else constant
    if op == OP_CROSSES_ABOVE:
        return bool(a > b and a_prev <= b_prev)
    return bool(a < b and a_prev >= b_prev)


@kernel
def fill_signal_flags(
    base: FloatArray,
    series: FloatArray,
    flags: FlagArray,
    group_bounds: IntArray,
    cond_left: IntArray,
    cond_op: IntArray,
    cond_right: IntArray,
    cond_constant: FloatArray,
    cond_lag: IntArray,
) -> None:
    """Signal flags of every bar into ``flags``: a group (long entry, long exit, short
    entry, short exit) fires when it has conditions and all of them hold. Each bar starts
    with the bits of every group that has conditions, and each condition clears its
    group's bit where it does not hold. The bars go in blocks small enough to stay in the
    processor's cache while every condition reads them, so each series crosses the memory
    bus once however many conditions use it; within a block a condition is evaluated over
    all its bars in a branch-free loop the compiler vectorises, several times faster than
    bar by bar inside the simulation."""
    stop = base.shape[1]
    groups_with_conditions = 0
    for group in range(4):
        if group_bounds[group + 1] > group_bounds[group]:
            groups_with_conditions |= 1 << group
    for block_start in range(0, stop, SIGNAL_BLOCK_BARS):
        block_stop = min(block_start + SIGNAL_BLOCK_BARS, stop)
        flags[block_start:block_stop] = groups_with_conditions
        for group in range(4):
            for k in range(group_bounds[group], group_bounds[group + 1]):
                _condition_block(
                    base,
                    series,
                    flags,
                    group,
                    block_start,
                    block_stop,
                    cond_left[k],
                    cond_op[k],
                    cond_right[k],
                    cond_constant[k],
                    cond_lag[k],
                )


@inline_kernel
def _condition_block(
    base: FloatArray,
    series: FloatArray,
    flags: FlagArray,
    group: int,
    block_start: int,
    block_stop: int,
    left: int,
    op: int,
    right: int,
    constant: float,
    lag: int,
) -> None:
    """Clear ``group``'s bit in ``flags`` over bars ``block_start..block_stop`` where the
    condition does not hold."""
    a = _series_row(base, series, left)
    right_is_series = right >= 0
    b = _series_row(base, series, right) if right_is_series else a
    keep = np.int8(~(1 << group))
    # Bars too early to read the lagged previous value take the careful path.
    safe = max(block_start, min(lag + 1, block_stop))
    for i in range(block_start, safe):
        if not _condition_holds(a, b, right_is_series, constant, i, op, lag):
            flags[i] &= keep
    # Aligned views indexed by the loop counter alone: no negative-index wraparound
    # checks, so the compiler can vectorise the comparisons.
    count = block_stop - safe
    now = flags[safe:block_stop]
    a_now = a[safe:block_stop]
    a_before = a[safe - 1 : block_stop - 1]
    if not right_is_series:
        if op == OP_ABOVE:
            for i in range(count):
                now[i] &= keep | (np.int8(a_now[i] > constant) << group)
        elif op == OP_BELOW:
            for i in range(count):
                now[i] &= keep | (np.int8(a_now[i] < constant) << group)
        elif op == OP_CROSSES_ABOVE:
            for i in range(count):
                held = (a_now[i] > constant) & (a_before[i] <= constant)
                now[i] &= keep | (np.int8(held) << group)
        else:
            for i in range(count):
                held = (a_now[i] < constant) & (a_before[i] >= constant)
                now[i] &= keep | (np.int8(held) << group)
        return
    b_now = b[safe - lag : block_stop - lag]
    b_before = b[safe - 1 - lag : block_stop - 1 - lag]
    if op == OP_ABOVE:
        for i in range(count):
            now[i] &= keep | (np.int8(a_now[i] > b_now[i]) << group)
    elif op == OP_BELOW:
        for i in range(count):
            now[i] &= keep | (np.int8(a_now[i] < b_now[i]) << group)
    elif op == OP_CROSSES_ABOVE:
        for i in range(count):
            held = (a_now[i] > b_now[i]) & (a_before[i] <= b_before[i])
            now[i] &= keep | (np.int8(held) << group)
    else:
        for i in range(count):
            held = (a_now[i] < b_now[i]) & (a_before[i] >= b_before[i])
            now[i] &= keep | (np.int8(held) << group)


@inline_kernel
def _entry_units(
    settings: FloatArray,
    volatility_row: FloatArray,
    equity: float,
    price: float,
    signal_bar: int,
) -> float:
    """Units to trade for a new position at ``price`` given ``equity`` (see module doc).
    ``volatility_row`` is the row ``S_VOLATILITY_ROW`` names (``_volatility_row``).

    The volatility is read whatever the sizing: read only for volatility targeting, the
    load inside that branch made the plain simulation a fifth slower (measured on one
    million bars, about 40 ns per entry), for a value the other sizings ignore."""
    volatility = volatility_row[signal_bar]
    if equity <= 0.0 or price <= 0.0:
        return 0.0
    fee_rate = settings[S_COMMISSION_RATE]
    fixed_fee = settings[S_COMMISSION_FIXED]
    sizing = int(settings[S_SIZING])
    value = settings[S_SIZE_VALUE]
    if sizing == SIZING_ALL_IN:
        units = (value * equity - fixed_fee) / (price * (1.0 + fee_rate))
    elif sizing == SIZING_FIXED_UNITS:
        units = value
    elif sizing == SIZING_FIXED_FRACTION:
        units = value * equity / (price * settings[S_STOP_LOSS])
    else:
        if not volatility > 0.0:
            return 0.0
        units = equity * settings[S_TARGET_VOLATILITY] / volatility / price
    cap = (settings[S_LEVERAGE_CAP] * equity - fixed_fee) / (price * (1.0 + fee_rate))
    units = min(units, cap)
    if settings[S_WHOLE_UNITS] != 0.0:
        units = np.floor(units)
    return float(max(units, 0.0))


@inline_kernel
def _volatility_row(base: FloatArray, series: FloatArray, settings: FloatArray) -> FloatArray:
    """The row volatility targeting sizes by (the open row, unread, for other sizings)."""
    return _series_row(base, series, int(settings[S_VOLATILITY_ROW]))


@inline_kernel
def _finish_run(
    trades: FloatArray,
    trade_count: int,
    position: float,
    entry_bar: int,
    entry_price: float,
    entry_fee: float,
    n: int,
    closes: FloatArray,
    cash: float,
    state: CurveState,
    curve_out: FloatArray,
) -> int:
    """The end of a simulation, general or plain: a position still open is recorded as a
    trade at the last close (``EXIT_STILL_OPEN``), the curve statistics are written, and
    the trade count is returned."""
    if position != 0.0:
        _record_trade(
            trades,
            trade_count,
            position,
            entry_bar,
            entry_price,
            entry_fee,
            n - 1,
            closes[n - 1],
            0.0,
            EXIT_STILL_OPEN,
            cash,
        )
        trade_count += 1
    curve_stats(state, curve_out)
    return trade_count


@inline_kernel
def _record_trade(
    trades: FloatArray,
    trade_count: int,
    position: float,
    entry_bar: int,
    entry_price: float,
    entry_fee: float,
    exit_bar: int,
    exit_price: float,
    exit_fee: float,
    exit_reason: int,
    cash_held: float,
) -> float:
    """Write the trade closing ``position`` as row ``trade_count`` of the table (when it
    fits) and return its realised profit, net of both fees. ``cash_held`` is the cash
    while the trade was open: with the profits it is the ledger ``book`` rebuilds cash and
    position from."""
    units = abs(position)
    side = 1.0 if position > 0.0 else -1.0
    pnl = side * units * (exit_price - entry_price) - entry_fee - exit_fee
    if trade_count < trades.shape[0]:
        trades[trade_count, T_DIRECTION] = side
        trades[trade_count, T_ENTRY_BAR] = entry_bar
        trades[trade_count, T_ENTRY_PRICE] = entry_price
        trades[trade_count, T_EXIT_BAR] = exit_bar
        trades[trade_count, T_EXIT_PRICE] = exit_price
        trades[trade_count, T_UNITS] = units
        trades[trade_count, T_PNL] = pnl
        trades[trade_count, T_RETURN] = pnl / (units * entry_price)
        trades[trade_count, T_FEES] = entry_fee + exit_fee
        trades[trade_count, T_EXIT_REASON] = exit_reason
        trades[trade_count, T_CASH_HELD] = cash_held
    return pnl


@inline_kernel
def _close_position(
    trades: FloatArray,
    trade_count: int,
    position: float,
    entry_bar: int,
    entry_price: float,
    entry_fee: float,
    cash_before_entry: float,
    cash: float,
    exit_bar: int,
    exit_price: float,
    exit_reason: int,
    fee_rate: float,
    fixed_fee: float,
) -> tuple[int, float]:
    """Close ``position`` at ``exit_price``: charge the exit fee, record the trade and
    return the new trade count and the cash after it, the cash held before its entry plus
    its profit (the accounting rule in the module doc). The caller flattens the position."""
    fee = abs(position) * exit_price * fee_rate + fixed_fee
    pnl = _record_trade(
        trades,
        trade_count,
        position,
        entry_bar,
        entry_price,
        entry_fee,
        exit_bar,
        exit_price,
        fee,
        exit_reason,
        cash,
    )
    return trade_count + 1, cash_before_entry + pnl


@inline_kernel
def _actionable(position: float, allow_short: bool) -> int:
    """The flags that can act on a position with no order working: an entry when flat,
    an exit or a reversal when holding."""
    if position == 0.0:
        return LONG_ENTRY | (SHORT_ENTRY if allow_short else 0)
    if position > 0.0:
        return LONG_EXIT | (SHORT_ENTRY if allow_short else 0)
    return SHORT_EXIT | LONG_ENTRY


@inline_kernel
def _next_flagged(signal: FlagArray, words: WordArray, start: int, watch: int) -> int:
    """The first bar from ``start`` whose flags share a bit with ``watch`` (the bar count
    when none does), testing eight bars per step along ``words`` (``signal`` as 64-bit
    words): one loop whose only exit is the word with a hit, whose lowest set bit names
    the bar (byte order is little-endian; other machines scan byte by byte)."""
    n: int = signal.shape[0]
    full = words.shape[0] if LITTLE_ENDIAN else 0
    word = start // 8
    if word < full:
        pattern = np.uint64(watch) * np.uint64(0x0101010101010101)
        # The first word without the bars before ``start``.
        hits = words[word] & pattern & (ALL_BITS << np.uint64(8 * (start % 8)))
        while hits == 0 and word + 1 < full:
            word += 1
            hits = words[word] & pattern
        if hits != 0:
            return int(word) * 8 + count_trailing_zeros(hits) // 8
    i = max(start, full * 8)
    while i < n:
        if signal[i] & watch:
            return i
        i += 1
    return n


@inline_kernel
def _list_flagged(signal: FlagArray, out: ListingArray) -> int:
    """Write the bars with any flag into ``out`` (at least as long as ``signal``), in
    order; returns how many. Eight bars per step along the 64-bit words, the lowest set
    byte first (little-endian; other machines go byte by byte)."""
    n: int = signal.shape[0]
    full = n // 8 if LITTLE_ENDIAN else 0
    words = signal[: full * 8].view(np.uint64)
    count = 0
    for word in range(full):
        hits = words[word]
        while hits != 0:
            byte = count_trailing_zeros(hits) // 8
            out[count] = word * 8 + byte
            count += 1
            hits &= ~(np.uint64(0xFF) << np.uint64(8 * byte))
    for i in range(full * 8, n):
        if signal[i] != 0:
            out[count] = i
            count += 1
    return count


@inline_kernel
def _next_listed(
    signal: FlagArray, listed: ListingArray, count: int, cursor: int, start: int, watch: int
) -> int:
    """The position in ``listed`` (``_list_flagged``) of the first bar from ``start`` whose
    flags share a bit with ``watch``, searched from ``cursor`` on; ``count`` when none."""
    while cursor < count and (listed[cursor] < start or not signal[listed[cursor]] & watch):
        cursor += 1
    return cursor


@inline_kernel
def _prefetch_flagged(
    words: WordArray, opens: FloatArray, closes: FloatArray, start: int, stop: int
) -> int:
    """Prefetch the close of every flagged bar from ``start`` up to ``stop`` (rounded up
    to whole words) and the open after it; returns the bar to continue from, at least
    ``stop``, or the bar count once the words are done (the last ``n % 8`` bars are left
    to the hardware). The general simulation jumps from one flagged bar to the next, a
    few cache lines apart in rows nothing else reads in order, so without a hint each
    jump may wait on memory: about 100 ns, more than it spends on the bars between."""
    n: int = closes.shape[0]
    full: int = words.shape[0]
    stop_word = min((stop + 7) // 8, full)
    for word in range(max(start, 0) // 8, stop_word):
        hits = words[word]
        while hits != 0:
            bar = word * 8 + count_trailing_zeros(hits) // 8
            prefetch(closes, bar)
            prefetch(opens, min(bar + 1, n - 1))
            hits &= hits - np.uint64(1)
    return stop_word * 8 if stop_word < full else n


@inline_kernel
def _below_margin(equity: float, position: float, close: float, maintenance: float) -> bool:
    """The margin call rule, in one place so every path judges a bar identically."""
    return bool(equity < maintenance * abs(position) * close)


@inline_kernel
def _mark_to_market(
    closes: FloatArray,
    start: int,
    stop: int,
    cash: float,
    position: float,
    maintenance: float,
    state: CurveState,
) -> tuple[int, CurveState]:
    """Observe the equity of a held position over bars ``start..stop``; returns where it
    stopped, ``stop`` or the first bar that breaches the maintenance margin (which the
    caller then liquidates), and the curve state."""
    close_view = closes[start:stop]
    for k in range(stop - start):
        equity = cash + position * close_view[k]
        if _below_margin(equity, position, close_view[k], maintenance):
            return start + k, state
        state = observe(state, equity)
    return stop, state


@kernel
def simulate(
    base: FloatArray,
    series: FloatArray,
    settings: FloatArray,
    group_bounds: IntArray,
    cond_left: IntArray,
    cond_op: IntArray,
    cond_right: IntArray,
    cond_constant: FloatArray,
    cond_lag: IntArray,
    custom_flags: FlagArray,
    curve_out: FloatArray,
    trades_out: FloatArray,
    flag_scratch: FlagArray,
    listing_scratch: ListingArray,
) -> int:
    """Run one backtest over the bars in ``base`` (rows: open, high, low, close, volume)
    with indicator rows in ``series`` (condition rows count bar rows first). Signals come
    from ``custom_flags`` when it has one entry per bar, else from the conditions. Writes
    the equity curve's statistics into ``curve_out`` (``engine.curve``: the curve itself
    is never written out) and the trades into ``trades_out`` (the open trade last); cash,
    position and equity per bar follow from the trades (``book``). ``flag_scratch`` (one
    element per bar; unused with custom flags) is working space the caller owns, so a
    sweep worker reuses the same pages for every combination. Returns
    the number of trades, which exceeds the table's rows when it was too small (the
    caller then runs again with a table that fits).

    Settings with nothing but market orders to follow (``takes_plain_path``) run the
    plain simulation, every other the general one; both give the same results there."""
    n = base.shape[1]
    signal = custom_flags
    if custom_flags.shape[0] != n:
        signal = flag_scratch
        fill_signal_flags(
            base,
            series,
            signal,
            group_bounds,
            cond_left,
            cond_op,
            cond_right,
            cond_constant,
            cond_lag,
        )
    if takes_plain_path(settings):
        return simulate_plain(
            base, series, settings, signal, curve_out, trades_out, listing_scratch
        )
    return simulate_general(base, series, settings, signal, curve_out, trades_out)


@inline_kernel
def takes_plain_path(settings: FloatArray) -> bool:
    """Whether a run follows market orders alone, long only: no limit or stop entries,
    no stop-loss, take-profit or trailing stop, no shorts, and a slippage that leaves
    every fill price positive (an order that cannot fill stays working, a general-path
    case). Sizing, fees, slippage, both fill timings and margin calls are the plain
    path's too."""
    return bool(
        int(settings[S_ORDER_TYPE]) == ORDER_MARKET
        and settings[S_ALLOW_SHORT] == 0.0
        and settings[S_STOP_LOSS] <= 0.0
        and settings[S_TAKE_PROFIT] <= 0.0
        and settings[S_TRAILING_STOP] <= 0.0
        and settings[S_SLIPPAGE_RATE] < 1.0
    )


@kernel
def simulate_general(
    base: FloatArray,
    series: FloatArray,
    settings: FloatArray,
    signal: FlagArray,
    curve_out: FloatArray,
    trades_out: FloatArray,
) -> int:
    """Every fill rule of the module doc, bar by bar where orders work and skipping
    ahead where none can act; arguments and result as ``simulate``'s, with the flags
    already in ``signal``."""
    n = base.shape[1]
    opens = base[ROW_OPEN]
    highs = base[ROW_HIGH]
    lows = base[ROW_LOW]
    closes = base[ROW_CLOSE]
    volatility_row = _volatility_row(base, series, settings)

    fill_at_close = settings[S_FILL_AT_CLOSE] != 0.0
    allow_short = settings[S_ALLOW_SHORT] != 0.0
    order_type = int(settings[S_ORDER_TYPE])
    limit_offset = settings[S_LIMIT_OFFSET]
    stop_offset = settings[S_STOP_OFFSET]
    expiry_bars = int(settings[S_EXPIRY_BARS])
    stop_loss = settings[S_STOP_LOSS]
    take_profit = settings[S_TAKE_PROFIT]
    trailing = settings[S_TRAILING_STOP]
    has_protection = stop_loss > 0.0 or take_profit > 0.0 or trailing > 0.0
    fee_rate = settings[S_COMMISSION_RATE]
    fixed_fee = settings[S_COMMISSION_FIXED]
    slippage = settings[S_SLIPPAGE_RATE]
    maintenance = settings[S_MAINTENANCE_MARGIN]

    trades = trades_out
    trade_count = 0
    state = curve_start(settings[S_CASH])

    cash = settings[S_CASH]
    position = 0.0  # signed units
    cash_before_entry = cash
    entry_price = 0.0
    entry_bar = 0
    entry_fee = 0.0
    protect_from = 0
    extreme = 0.0  # best price since entry, for the trailing stop

    pending_exit = False
    pending_direction = 0  # entry order waiting: +1 long, -1 short, 0 none
    pending_type = ORDER_MARKET
    pending_limit = 0.0
    pending_stop = 0.0
    pending_triggered = False
    pending_signal_bar = 0

    # The flags eight bars at a time, for skipping quiet stretches.
    words = signal[: n - n % 8].view(np.uint64)
    prefetched = 0
    i = 0
    while i < n:
        if prefetched < i + PREFETCH_BARS:
            prefetched = _prefetch_flagged(
                words, opens, closes, max(prefetched, i), i + 2 * PREFETCH_BARS
            )
        # Fast path: with no order working, a bar only needs marking to market until one
        # whose flags could act (an entry when flat; an exit or reversal when holding).
        if not pending_exit and pending_direction == 0 and (position == 0.0 or not has_protection):
            stop = _next_flagged(signal, words, i, _actionable(position, allow_short))
            if position == 0.0:
                if stop > i:
                    state = observe_flat(state, cash, stop - i)
                i = stop
            else:
                i, state = _mark_to_market(closes, i, stop, cash, position, maintenance, state)
            if i == n:
                break
        exit_price = 0.0
        exit_reason = -1
        fill_price = 0.0
        filled_at_open = False

        # Market orders from the previous close fill at this open.
        if pending_exit and position != 0.0:
            side = 1.0 if position > 0.0 else -1.0
            exit_price = opens[i] * (1.0 - side * slippage)
            exit_reason = EXIT_SIGNAL
        pending_exit = False
        if exit_reason >= 0:
            trade_count, cash = _close_position(
                trades,
                trade_count,
                position,
                entry_bar,
                entry_price,
                entry_fee,
                cash_before_entry,
                cash,
                i,
                exit_price,
                exit_reason,
                fee_rate,
                fixed_fee,
            )
            position = 0.0
            exit_reason = -1

        # Working entry orders.
        if pending_direction != 0 and position == 0.0:
            d = float(pending_direction)
            if expiry_bars > 0 and i - pending_signal_bar > expiry_bars:
                pending_direction = 0
            elif pending_type == ORDER_MARKET:
                fill_price = opens[i] * (1.0 + d * slippage)
                filled_at_open = True
            elif pending_type == ORDER_LIMIT or (
                pending_type == ORDER_STOP_LIMIT and pending_triggered
            ):
                if d * (opens[i] - pending_limit) <= 0.0:
                    fill_price = opens[i]
                    filled_at_open = True
                elif (d > 0.0 and lows[i] <= pending_limit) or (
                    d < 0.0 and highs[i] >= pending_limit
                ):
                    fill_price = pending_limit
            elif d * (opens[i] - pending_stop) >= 0.0:
                # Stop gapped through: fills at the open (stop) or becomes a limit.
                if pending_type == ORDER_STOP:
                    fill_price = opens[i] * (1.0 + d * slippage)
                    filled_at_open = True
                else:
                    pending_triggered = True
                    if d * (opens[i] - pending_limit) <= 0.0:
                        fill_price = opens[i]
                        filled_at_open = True
            elif (d > 0.0 and highs[i] >= pending_stop) or (d < 0.0 and lows[i] <= pending_stop):
                if pending_type == ORDER_STOP:
                    fill_price = pending_stop * (1.0 + d * slippage)
                else:
                    pending_triggered = True
                    fill_price = pending_stop
            if fill_price > 0.0:
                equity_now = cash
                units = _entry_units(
                    settings, volatility_row, equity_now, fill_price, pending_signal_bar
                )
                if units > 0.0:
                    entry_fee = units * fill_price * fee_rate + fixed_fee
                    cash_before_entry = cash
                    cash = cash - d * units * fill_price - entry_fee
                    position = d * units
                    entry_price = fill_price
                    entry_bar = i
                    extreme = fill_price
                    protect_from = i if filled_at_open else i + 1
                pending_direction = 0

        # With the opening fills done, the rest of this bar is what the fast path does
        # unless its flags can act or it breaches the margin: hand it over (the fast path
        # stops at once otherwise, and this bar comes back here with nothing to fill).
        if (
            not pending_exit
            and pending_direction == 0
            and (position == 0.0 or not has_protection)
            and (signal[i] & _actionable(position, allow_short)) == 0
            and not (
                position != 0.0
                and _below_margin(cash + position * closes[i], position, closes[i], maintenance)
            )
        ):
            continue

        # Protective exits inside the bar (OCO; stop side first on the same bar).
        if has_protection and position != 0.0 and i >= protect_from:
            side = 1.0 if position > 0.0 else -1.0
            stop_level = np.nan
            stop_reason = EXIT_STOP_LOSS
            if stop_loss > 0.0:
                stop_level = entry_price * (1.0 - side * stop_loss)
            if trailing > 0.0:
                trail_level = extreme * (1.0 - side * trailing)
                if np.isnan(stop_level) or side * (trail_level - stop_level) > 0.0:
                    stop_level = trail_level
                    stop_reason = EXIT_TRAILING_STOP
            target_level = entry_price * (1.0 + side * take_profit) if take_profit > 0.0 else np.nan
            worst = lows[i] if side > 0.0 else highs[i]
            best = highs[i] if side > 0.0 else lows[i]
            if not np.isnan(stop_level) and side * (opens[i] - stop_level) <= 0.0:
                exit_price = opens[i] * (1.0 - side * slippage)
                exit_reason = stop_reason
            elif not np.isnan(target_level) and side * (opens[i] - target_level) >= 0.0:
                exit_price = opens[i]
                exit_reason = EXIT_TAKE_PROFIT
            elif not np.isnan(stop_level) and side * (worst - stop_level) <= 0.0:
                exit_price = stop_level * (1.0 - side * slippage)
                exit_reason = stop_reason
            elif not np.isnan(target_level) and side * (best - target_level) >= 0.0:
                exit_price = target_level
                exit_reason = EXIT_TAKE_PROFIT
            else:
                extreme = max(extreme, highs[i]) if side > 0.0 else min(extreme, lows[i])

        # Signals at this close.
        flags = int(signal[i])
        if not allow_short:
            flags &= LONG_ENTRY | LONG_EXIT
        want_long = (flags & LONG_ENTRY) != 0
        want_short = (flags & SHORT_ENTRY) != 0
        if want_long and want_short:
            want_long = False
            want_short = False
        holding = 0.0
        if exit_reason < 0 and position != 0.0:
            holding = 1.0 if position > 0.0 else -1.0
        close_signal = False
        new_direction = 0
        if holding > 0.0:
            close_signal = (flags & LONG_EXIT) != 0 or want_short
            if want_short:
                new_direction = -1
        elif holding < 0.0:
            close_signal = (flags & SHORT_EXIT) != 0 or want_long
            if want_long:
                new_direction = 1
        else:
            if pending_direction > 0 and (flags & LONG_EXIT) != 0:
                pending_direction = 0
            if pending_direction < 0 and (flags & SHORT_EXIT) != 0:
                pending_direction = 0
            if want_long and pending_direction <= 0:
                new_direction = 1
            elif want_short and pending_direction >= 0:
                new_direction = -1
        if close_signal:
            if fill_at_close:
                exit_price = closes[i] * (1.0 - holding * slippage)
                exit_reason = EXIT_SIGNAL
            else:
                pending_exit = True
        if new_direction != 0:
            d = float(new_direction)
            pending_direction = new_direction
            pending_type = order_type
            pending_signal_bar = i
            pending_triggered = False
            if order_type == ORDER_LIMIT:
                pending_limit = closes[i] * (1.0 - d * limit_offset)
            elif order_type == ORDER_STOP:
                pending_stop = closes[i] * (1.0 + d * stop_offset)
            elif order_type == ORDER_STOP_LIMIT:
                pending_stop = closes[i] * (1.0 + d * stop_offset)
                pending_limit = pending_stop * (1.0 + d * limit_offset)

        # Close the position (protective exit or signal at this close).
        if exit_reason >= 0:
            trade_count, cash = _close_position(
                trades,
                trade_count,
                position,
                entry_bar,
                entry_price,
                entry_fee,
                cash_before_entry,
                cash,
                i,
                exit_price,
                exit_reason,
                fee_rate,
                fixed_fee,
            )
            position = 0.0

        # Market entries at this close (reversals included).
        if (
            fill_at_close
            and pending_direction != 0
            and pending_type == ORDER_MARKET
            and position == 0.0
        ):
            d = float(pending_direction)
            fill_price = closes[i] * (1.0 + d * slippage)
            units = _entry_units(settings, volatility_row, cash, fill_price, i)
            if units > 0.0:
                entry_fee = units * fill_price * fee_rate + fixed_fee
                cash_before_entry = cash
                cash = cash - d * units * fill_price - entry_fee
                position = d * units
                entry_price = fill_price
                entry_bar = i
                extreme = fill_price
                protect_from = i + 1
            pending_direction = 0

        # Mark to market; liquidate on a margin call.
        equity = cash + position * closes[i]
        if position != 0.0 and _below_margin(equity, position, closes[i], maintenance):
            side = 1.0 if position > 0.0 else -1.0
            exit_price = closes[i] * (1.0 - side * slippage)
            trade_count, cash = _close_position(
                trades,
                trade_count,
                position,
                entry_bar,
                entry_price,
                entry_fee,
                cash_before_entry,
                cash,
                i,
                exit_price,
                EXIT_MARGIN_CALL,
                fee_rate,
                fixed_fee,
            )
            position = 0.0
            pending_direction = 0
            pending_exit = False
            equity = cash
        state = observe(state, equity)
        i += 1

    return _finish_run(
        trades,
        trade_count,
        position,
        entry_bar,
        entry_price,
        entry_fee,
        n,
        closes,
        cash,
        state,
        curve_out,
    )


@kernel
def simulate_plain(
    base: FloatArray,
    series: FloatArray,
    settings: FloatArray,
    signal: FlagArray,
    curve_out: FloatArray,
    trades_out: FloatArray,
    listing_scratch: ListingArray,
) -> int:
    """The general simulation's results for runs that only follow market orders, long
    (``takes_plain_path``), one round trip per step: the flat bars up to the next long
    entry in one step, the fill, the held bars marked to market up to the next long exit
    (or a margin call), the exit. The general loop goes round once more for each signal
    and each fill and checks every order type and protective exit at each; this one has
    nothing else to check. Arguments and result as ``simulate_general``'s, with
    ``listing_scratch`` (one element per bar) to list the flagged bars in.

    The next entry or exit is found along that list rather than by scanning the flags:
    a search along the flags ends after an unpredictable number of steps, a branch the
    processor mostly guesses wrong, twice a trade; along the list the wanted bar is
    nearly always the next one (measured on one million bars, 13,506 trades: 2.24 ms
    scanning, 1.68 ms along the list plus 0.26 ms to write it)."""
    n = base.shape[1]
    opens = base[ROW_OPEN]
    closes = base[ROW_CLOSE]
    volatility_row = _volatility_row(base, series, settings)
    fill_at_close = settings[S_FILL_AT_CLOSE] != 0.0
    # Bars from a signal to its fill: the same close, or the next open.
    delay = 0 if fill_at_close else 1
    fee_rate = settings[S_COMMISSION_RATE]
    fixed_fee = settings[S_COMMISSION_FIXED]
    slippage = settings[S_SLIPPAGE_RATE]
    maintenance = settings[S_MAINTENANCE_MARGIN]

    trades = trades_out
    trade_count = 0
    state = curve_start(settings[S_CASH])
    cash = settings[S_CASH]
    position = 0.0
    cash_before_entry = cash
    entry_price = 0.0
    entry_bar = 0
    entry_fee = 0.0

    listed = listing_scratch
    listed_count = _list_flagged(signal, listed)
    # Where the last entry signal is listed. Both searches go on from there: a margin
    # call ends a position before its exit signal, and the entries flagged in between
    # then count again.
    entry_at = 0
    i = 0  # the first bar not yet observed, flat at its open
    while i < n:
        entry_at = _next_listed(signal, listed, listed_count, entry_at, i, LONG_ENTRY)
        signal_bar = listed[entry_at] if entry_at < listed_count else n
        entry_bar = signal_bar + delay
        if entry_bar >= n:
            # No entry left that fills: flat to the end.
            state = observe_flat(state, cash, n - i)
            break
        if entry_bar > i:
            state = observe_flat(state, cash, entry_bar - i)
        fill_price = (closes[entry_bar] if fill_at_close else opens[entry_bar]) * (1.0 + slippage)
        units = _entry_units(settings, volatility_row, cash, fill_price, signal_bar)
        if units <= 0.0:
            # Nothing bought: the order is gone and the bar goes on flat.
            if fill_at_close:
                state = observe(state, cash + position * closes[entry_bar])
                i = entry_bar + 1
            else:
                i = entry_bar
            continue
        entry_fee = units * fill_price * fee_rate + fixed_fee
        cash_before_entry = cash
        cash = cash - units * fill_price - entry_fee
        position = units
        entry_price = fill_price
        # Exit signals act from the bar after the entry signal: the entry's own bar
        # evaluated them while still flat.
        exit_at = _next_listed(signal, listed, listed_count, entry_at, signal_bar + 1, LONG_EXIT)
        exit_signal = listed[exit_at] if exit_at < listed_count else n
        # Held at the close of the exit signal's bar when the exit fills at the next
        # open; at its close, the exit comes before marking to market.
        held_until = min(exit_signal + delay, n)
        # The exit's open, a row the held bars do not read: in cache by the time marking
        # the position to market reaches it (prefetching every flagged bar ahead of time
        # instead cost more than it saved: 2.56 against 2.24 ms on one million bars).
        # The sequential reads (the list, the held closes) the hardware prefetches.
        prefetch(opens, min(exit_signal + 1, n - 1))
        i, state = _mark_to_market(
            closes, entry_bar, held_until, cash, position, maintenance, state
        )
        if i < held_until:
            # Margin call at this close.
            trade_count, cash = _close_position(
                trades,
                trade_count,
                position,
                entry_bar,
                entry_price,
                entry_fee,
                cash_before_entry,
                cash,
                i,
                closes[i] * (1.0 - slippage),
                EXIT_MARGIN_CALL,
                fee_rate,
                fixed_fee,
            )
            position = 0.0
            state = observe(state, cash)
            i += 1
            continue
        exit_bar = exit_signal + delay
        if exit_bar >= n:
            # No exit fills: the position stays open to the end.
            break
        exit_price = (closes[exit_bar] if fill_at_close else opens[exit_bar]) * (1.0 - slippage)
        trade_count, cash = _close_position(
            trades,
            trade_count,
            position,
            entry_bar,
            entry_price,
            entry_fee,
            cash_before_entry,
            cash,
            exit_bar,
            exit_price,
            EXIT_SIGNAL,
            fee_rate,
            fixed_fee,
        )
        position = 0.0
        if fill_at_close:
            state = observe(state, cash + position * closes[exit_bar])
            i = exit_bar + 1
        else:
            i = exit_bar

    return _finish_run(
        trades,
        trade_count,
        position,
        entry_bar,
        entry_price,
        entry_fee,
        n,
        closes,
        cash,
        state,
        curve_out,
    )


@kernel
def book(trades: FloatArray, n: int, initial_cash: float) -> tuple[FloatArray, FloatArray]:
    """Cash and signed position at the close of each of ``n`` bars, rebuilt from the trade
    table alone: a trade holds its position and ``T_CASH_HELD`` from its entry bar up to
    (not including) its exit bar, or to the end when still open; between trades cash is
    the starting cash plus the profits of the trades closed so far, added in the order
    the kernel added them, so ``cash + position × close`` equals the kernel's equity."""
    cash = np.empty(n)
    position = np.empty(n)
    flat = initial_cash
    cursor = 0
    for k in range(trades.shape[0]):
        entry = int(trades[k, T_ENTRY_BAR])
        still_open = trades[k, T_EXIT_REASON] == EXIT_STILL_OPEN
        stop = n if still_open else int(trades[k, T_EXIT_BAR])
        cash[cursor:entry] = flat
        position[cursor:entry] = 0.0
        if stop > entry:
            cash[entry:stop] = trades[k, T_CASH_HELD]
            position[entry:stop] = trades[k, T_DIRECTION] * trades[k, T_UNITS]
        if not still_open:
            flat = flat + trades[k, T_PNL]
        cursor = max(cursor, stop)
    cash[cursor:] = flat
    position[cursor:] = 0.0
    return cash, position
