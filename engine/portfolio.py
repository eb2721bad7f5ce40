"""Multi-asset backtests: one strategy spec over N symbols sharing ONE cash balance, as
vectorbt's cash-sharing groups do, with per-asset sizing and periodic rebalancing.

Rules (each tested against a plain-Python reference in ``tests/engine/test_portfolio.py``):

* **Alignment.** The symbols' bars are aligned on the *intersection* of their timestamps:
  a bar exists only where every symbol traded. The union would need made-up prices
  (forward-filled bars that never traded) for the symbols missing a bar, and orders could
  fill at them; the intersection never invents a price. Bars dropped this way are counted
  in ``PortfolioResult.dropped_bars``.
* **Signals** come from the spec's conditions evaluated on each symbol's own bars (its own
  indicators), exactly as the single-asset engine evaluates them. Long only, market orders
  only: a flat symbol with a long-entry flag buys, a held symbol with a long-exit flag sells
  everything. With ``fill="next_open"`` the orders decided at a bar's close fill at the next
  bar's open (a signal on the last bar never fills); with ``fill="close"`` at that close.
* **Sizing** per asset, from the portfolio value ``E`` marked at the fill prices *before*
  any of the bar's orders: ``weights`` buys ``(w_a × E − fixed_fee) / (price × (1 + fee))``
  units of asset ``a`` (``fraction`` sizing is equal weights ``w_a = fraction``; a
  ``target_weights`` vector gives each asset its own); ``fixed_units`` buys ``u_a`` units.
  Whole units are floored when asked.
* **Rebalancing.** With ``rebalance_every = K > 0``, at the fill point of every bar ``i``
  with ``i % K == 0`` (``i > 0``) each held asset that is not exiting is traded back to its
  target (the sizing above) — sold down or bought up.
* **Order of processing in a bar** (deterministic, like vectorbt's ``call_seq="auto"``):
  first every sell (exits, then rebalancing sales) in asset order, so the cash they free
  funds the buys; then every buy (entries and rebalancing purchases) in asset order.
* **Cash never goes negative.** A buy that costs more than the cash left *shrinks* to what
  the cash affords (``(cash − fixed_fee) / (price × (1 + fee))`` units, floored for whole
  units); when that is nothing it is skipped. Either counts in the asset's
  ``cash_limited_orders``. A sell always fills; its fixed fee is capped at its proceeds,
  so a sale never takes cash down.
* **Prices and fees** as in ``engine.backtest``: slippage moves every fill against the
  trader (buys at ``price × (1 + slip)``, sells at ``price × (1 − slip)``); commission is
  ``notional × commission_bps`` plus a fixed amount per order.
* **Accounting.** Equity at every close is ``cash + Σ units_a × close_a``. An asset's
  return contribution is its net cash flow (sales − purchases − fees) plus its units at the
  end marked at the last close; the contributions add up to the portfolio's profit. A
  round trip (flat → held → flat) is one trade in the trade table; one still open at the
  end is marked to market and reported as open.

**Layout.** Every matrix of a run is time-major, ``(n, N)``: one row per bar, one column
per symbol (the prices of ``PortfolioBars``, the signal flags, the result's positions).
The kernel visits every asset at every bar, so one bar's assets must sit side by side in
memory: symbol-major ``(N, n)`` rows of 100,000 bars made each bar touch 100 rows of
each of three matrices, more concurrent streams than the hardware prefetcher follows, and
the 100 × 100,000 benchmark spent most of its time waiting for memory.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt
import polars as pl

from engine.backtest import (
    ALL_BITS,
    EXIT_REASON_NAMES,
    EXIT_SIGNAL,
    EXIT_STILL_OPEN,
    LITTLE_ENDIAN,
    LONG_ENTRY,
    LONG_EXIT,
    T_CASH_HELD,
    T_DIRECTION,
    T_ENTRY_BAR,
    T_ENTRY_PRICE,
    T_EXIT_BAR,
    T_EXIT_PRICE,
    T_EXIT_REASON,
    T_FEES,
    T_PNL,
    T_RETURN,
    T_UNITS,
    TRADE_COLUMNS,
    fill_signal_flags,
)
from engine.compile import count_trailing_zeros, inline_kernel, kernel
from engine.data import Bars, DataError
from engine.metrics import M_EXPOSURE, Metrics, performance
from engine.strategy import (
    ExecutionSettings,
    SeriesTable,
    SpecError,
    StrategySpec,
    check_spec,
    compile_rules,
    required_indicators,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FlagArray = npt.NDArray[np.int8]

# Sizing methods inside the kernel.
PORTFOLIO_SIZING_WEIGHTS, PORTFOLIO_SIZING_UNITS = 0, 1
SizingMethod = Literal["fraction", "fixed_units", "target_weights"]

# Positions in the portfolio settings vector.
(
    P_CASH,
    P_FILL_AT_CLOSE,
    P_SIZING,
    P_REBALANCE_EVERY,
    P_COMMISSION_RATE,
    P_COMMISSION_FIXED,
    P_SLIPPAGE_RATE,
    P_WHOLE_UNITS,
) = range(8)
PORTFOLIO_SETTINGS_LENGTH = 8

# Columns of the per-asset statistics the kernel writes.
(
    A_NET_FLOW,
    A_FEES,
    A_FILLS,
    A_ROUND_TRIPS,
    A_BARS_HELD,
    A_CASH_LIMITED,
    A_FINAL_UNITS,
) = range(7)
ASSET_COLUMNS = 7

BYTE_BITS = np.uint64(0xFF)


@inline_kernel
def _buy_units_affordable(
    cash: float, price: float, fee_rate: float, fixed_fee: float, whole: bool
) -> float:
    """The most units ``cash`` pays for at ``price`` with its fees (never negative)."""
    units = (cash - fixed_fee) / (price * (1.0 + fee_rate))
    if whole:
        units = np.floor(units)
    return max(units, 0.0)


@kernel
def simulate_portfolio(
    opens: FloatArray,
    closes: FloatArray,
    flags: FlagArray,
    settings: FloatArray,
    weights: FloatArray,
    fixed_units: FloatArray,
    equity_out: FloatArray,
    cash_out: FloatArray,
    trades_out: FloatArray,
    trade_assets_out: IntArray,
    assets_out: FloatArray,
    log_bars: IntArray,
    log_assets: IntArray,
    log_units: FloatArray,
) -> tuple[int, int, int]:
    """Run the portfolio over ``(n, N)`` open and close matrices and ``(n, N)`` signal
    flags, one row per bar (see module doc). Writes equity and cash per bar, the round
    trips (with their asset index in ``trade_assets_out``) and the per-asset statistics
    (``A_*``). Returns the number of round trips (which exceeds the table when it was too
    small), the number of bars at whose close any asset was held, and the number of
    fills, each logged as a unit change (``log_*``: the bar, the asset and its units after
    the fill, in the order of the fills; the count exceeds the log when it was too small).
    Units change only at fills, so the log is the whole ``(n, N)`` position matrix
    (``expand_positions``) in a few percent of its size, and a run does not write (and
    page in) that matrix."""
    n = closes.shape[0]
    n_assets = closes.shape[1]
    cash = settings[P_CASH]
    fill_at_close = settings[P_FILL_AT_CLOSE] != 0.0
    sizing = int(settings[P_SIZING])
    rebalance_every = int(settings[P_REBALANCE_EVERY])
    fee_rate = settings[P_COMMISSION_RATE]
    fixed_fee = settings[P_COMMISSION_FIXED]
    slippage = settings[P_SLIPPAGE_RATE]
    whole = settings[P_WHOLE_UNITS] != 0.0

    units = np.zeros(n_assets)
    sell = np.zeros(n_assets)
    buy = np.zeros(n_assets)
    # The assets that may order at a bar, those sized, those that sell, those that buy.
    candidate_assets = np.empty(n_assets, dtype=np.int64)
    size_assets = np.empty(n_assets, dtype=np.int64)
    sell_assets = np.empty(n_assets, dtype=np.int64)
    buy_assets = np.empty(n_assets, dtype=np.int64)
    bars_held = np.zeros(n_assets, dtype=np.int64)
    # The open round trip of each asset.
    trip_entry_bar = np.zeros(n_assets, dtype=np.int64)
    trip_entry_price = np.zeros(n_assets)
    trip_entry_units = np.zeros(n_assets)
    trip_flow = np.zeros(n_assets)
    trip_fees = np.zeros(n_assets)
    trip_bought = np.zeros(n_assets)
    trip_cash = np.zeros(n_assets)
    assets_out[:, :] = 0.0
    trade_count = 0
    held_count = 0  # assets held now
    exposed_bars = 0
    changes = 0
    log_size = log_bars.shape[0]

    # The flags as 64-bit words over the whole matrix (rows need not start on a word);
    # the last bytes, and every byte on a big-endian machine, are read one by one.
    flat_flags = flags.reshape(-1)
    words = flat_flags[: flat_flags.shape[0] - flat_flags.shape[0] % 8].view(np.uint64)
    full_words = words.shape[0] if LITTLE_ENDIAN else 0
    order_bits = np.uint64(LONG_ENTRY | LONG_EXIT) * np.uint64(0x0101010101010101)

    # The portfolio marked at the next fill prices, before that bar's orders: the sizing
    # equity. Between one bar's close and the next bar's fill nothing trades, so it is
    # summed in the pass over every asset that marks the close (below), in asset order
    # as before (the same additions, the same result); the rest of a bar visits only
    # the assets with something to do.
    # Inside the bar loop no array view is made (a row, a helper's argument): Numba
    # counts references to each view it makes, with atomic operations that cost more
    # than the work of a quiet bar (a helper taking the arrays doubled the run time).
    fill_prices = closes if fill_at_close else opens
    fill_equity = cash
    if n > 0:
        for a in range(n_assets):
            fill_equity += units[a] * fill_prices[0, a]
    for i in range(n):
        decision = i if fill_at_close else i - 1
        rebalance = rebalance_every > 0 and i > 0 and i % rebalance_every == 0
        if decision >= 0:
            equity = fill_equity
            # The assets that may order this bar, in asset order: every one on a
            # rebalancing bar, else only those with a flag, found eight at a time in
            # the flags' 64-bit words (most of whose bytes are 0).
            candidates = 0
            if rebalance:
                for a in range(n_assets):
                    candidate_assets[a] = a
                candidates = n_assets
            else:
                start = decision * n_assets
                stop = start + n_assets
                word = start // 8
                last_word = min((stop + 7) // 8, full_words)
                while word < last_word:
                    hits = words[word] & order_bits
                    if word * 8 < start:  # the row starts inside this word
                        hits &= ALL_BITS << np.uint64(8 * (start - word * 8))
                    if word * 8 + 8 > stop:  # and ends inside it
                        hits &= ALL_BITS >> np.uint64(8 * (word * 8 + 8 - stop))
                    while hits != 0:
                        byte = count_trailing_zeros(hits) // 8
                        hits &= ~(BYTE_BITS << np.uint64(8 * byte))
                        candidate_assets[candidates] = word * 8 + byte - start
                        candidates += 1
                    word += 1
                # The row's bytes past the last whole word, one by one.
                for a in range(max(full_words * 8, start) - start, n_assets):
                    if flags[decision, a] & (LONG_ENTRY | LONG_EXIT):
                        candidate_assets[candidates] = a
                        candidates += 1
            # Sort the candidates: an exit (held, exit flag) sells everything; an entry
            # (flat, entry flag) and, on a rebalancing bar, every other held asset is
            # sized. No branch on whether an asset is held (a coin flip): each store's
            # index advances only when its condition holds.
            sizes = 0
            for k in range(candidates):
                a = candidate_assets[k]
                signal = flags[decision, a]
                held = units[a] > 0.0
                exiting = held & ((signal & LONG_EXIT) != 0)
                entering = (units[a] == 0.0) & ((signal & LONG_ENTRY) != 0)
                sell[a] = units[a] if exiting else 0.0
                buy[a] = 0.0
                size_assets[sizes] = a
                sizes += int(entering | (rebalance & held & (not exiting)))
            # Size those buys (or rebalancing sales) from the equity marked above.
            for k in range(sizes):
                a = size_assets[k]
                buy_price = fill_prices[i, a] * (1.0 + slippage)
                if sizing == PORTFOLIO_SIZING_WEIGHTS:
                    target = (weights[a] * equity - fixed_fee) / (buy_price * (1.0 + fee_rate))
                else:
                    target = fixed_units[a]
                if whole:
                    target = np.floor(target)
                target = max(target, 0.0)
                # One of the two is 0 (both when the asset is on target).
                buy[a] = max(target - units[a], 0.0)
                sell[a] = max(units[a] - target, 0.0)
            # The sells and the buys, each in asset order; then fill the sells first.
            sells = 0
            buys = 0
            for k in range(candidates):
                a = candidate_assets[k]
                sell_assets[sells] = a
                sells += int(sell[a] > 0.0)
                buy_assets[buys] = a
                buys += int(buy[a] > 0.0)
            for k in range(sells):
                a = sell_assets[k]
                price = fill_prices[i, a] * (1.0 - slippage)
                gross = sell[a] * price
                fee = min(gross * fee_rate + fixed_fee, gross)
                cash += gross - fee
                # A full exit sets the units to exactly zero, free of rounding.
                units[a] = 0.0 if sell[a] >= units[a] else units[a] - sell[a]
                if changes < log_size:
                    log_bars[changes] = i
                    log_assets[changes] = a
                    log_units[changes] = units[a]
                changes += 1
                assets_out[a, A_NET_FLOW] += gross - fee
                assets_out[a, A_FEES] += fee
                assets_out[a, A_FILLS] += 1.0
                trip_flow[a] += gross - fee
                trip_fees[a] += fee
                if units[a] == 0.0:
                    # Held at the closes from the entry's bar to the one before.
                    bars_held[a] += i - trip_entry_bar[a]
                    held_count -= 1
                    pnl = trip_flow[a]
                    if trade_count < trades_out.shape[0]:
                        t = trade_count
                        trades_out[t, T_DIRECTION] = 1.0
                        trades_out[t, T_ENTRY_BAR] = trip_entry_bar[a]
                        trades_out[t, T_ENTRY_PRICE] = trip_entry_price[a]
                        trades_out[t, T_EXIT_BAR] = i
                        trades_out[t, T_EXIT_PRICE] = price
                        trades_out[t, T_UNITS] = trip_entry_units[a]
                        trades_out[t, T_PNL] = pnl
                        trades_out[t, T_RETURN] = pnl / trip_bought[a]
                        trades_out[t, T_FEES] = trip_fees[a]
                        trades_out[t, T_EXIT_REASON] = EXIT_SIGNAL
                        trades_out[t, T_CASH_HELD] = trip_cash[a]
                        trade_assets_out[t] = a
                    trade_count += 1
            for k in range(buys):
                a = buy_assets[k]
                price = fill_prices[i, a] * (1.0 + slippage)
                wanted = buy[a]
                affordable = _buy_units_affordable(cash, price, fee_rate, fixed_fee, whole)
                if affordable < wanted:
                    assets_out[a, A_CASH_LIMITED] += 1.0
                    wanted = affordable
                if wanted <= 0.0:
                    continue
                notional = wanted * price
                fee = notional * fee_rate + fixed_fee
                # Rounding may leave a shrunken order's cost a hair above the cash.
                cash = max(cash - notional - fee, 0.0)
                if units[a] == 0.0:
                    trip_entry_bar[a] = i
                    trip_entry_price[a] = price
                    trip_entry_units[a] = wanted
                    trip_flow[a] = 0.0
                    trip_fees[a] = 0.0
                    trip_bought[a] = 0.0
                    trip_cash[a] = cash
                    assets_out[a, A_ROUND_TRIPS] += 1.0
                    held_count += 1
                units[a] += wanted
                if changes < log_size:
                    log_bars[changes] = i
                    log_assets[changes] = a
                    log_units[changes] = units[a]
                changes += 1
                assets_out[a, A_NET_FLOW] -= notional + fee
                assets_out[a, A_FEES] += fee
                assets_out[a, A_FILLS] += 1.0
                trip_flow[a] -= notional + fee
                trip_fees[a] += fee
                trip_bought[a] += notional
        equity = cash
        if i + 1 < n:
            fill_equity = cash
            for a in range(n_assets):
                equity += units[a] * closes[i, a]
                fill_equity += units[a] * fill_prices[i + 1, a]
        else:
            for a in range(n_assets):
                equity += units[a] * closes[i, a]
        equity_out[i] = equity
        exposed_bars += held_count > 0
        cash_out[i] = cash

    for a in range(n_assets):
        assets_out[a, A_FINAL_UNITS] = units[a]
        if units[a] > 0.0:
            bars_held[a] += n - trip_entry_bar[a]
        assets_out[a, A_BARS_HELD] = bars_held[a]
        if units[a] > 0.0 and n > 0:
            pnl = trip_flow[a] + units[a] * closes[n - 1, a]
            if trade_count < trades_out.shape[0]:
                row = trades_out[trade_count]
                row[T_DIRECTION] = 1.0
                row[T_ENTRY_BAR] = trip_entry_bar[a]
                row[T_ENTRY_PRICE] = trip_entry_price[a]
                row[T_EXIT_BAR] = n - 1
                row[T_EXIT_PRICE] = closes[n - 1, a]
                row[T_UNITS] = trip_entry_units[a]
                row[T_PNL] = pnl
                row[T_RETURN] = pnl / trip_bought[a]
                row[T_FEES] = trip_fees[a]
                row[T_EXIT_REASON] = EXIT_STILL_OPEN
                row[T_CASH_HELD] = trip_cash[a]
                trade_assets_out[trade_count] = a
            trade_count += 1
    return trade_count, exposed_bars, changes


class PortfolioSizing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How much of each asset a buy targets (see module doc). ``fraction`` is every
    asset's weight for ``fraction`` (0: an equal share ``1 / N``); ``target_weights``
    gives one weight per symbol (in the order the symbols are given, summing to at most
    1); ``units`` one quantity per symbol for ``fixed_units``. ``rebalance_every`` bars
    (0: never) trades held assets back to their targets."""

    method: SizingMethod = "fraction"
    fraction: float = 0.0
    target_weights: tuple[float, ...] = ()
    units: tuple[float, ...] = ()
    rebalance_every: int = 0
    whole_units: bool = False


@dataclass(frozen=True)
class AssetResult:
    """One symbol's share of a portfolio run."""

    symbol: str
    contribution: float
    contribution_pct: float
    round_trips: int
    fills: int
    fees: float
    exposure_pct: float
    cash_limited_orders: int
    final_units: float
    final_value: float


@dataclass(frozen=True)
class PortfolioBars:
    """Aligned symbols' bars in the layout the kernel reads: ``(n, N)`` C-contiguous
    open and close matrices, one row per bar and one column per symbol. ``run_flags``
    stacks a list of ``Bars`` into one on every call (two copies of the prices); a caller
    running the same symbols many times, or holding the matrices already, builds it once.
    The matrices are used as they are, not copied: the result's ``closes`` is this
    ``closes``."""

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    opens: FloatArray
    closes: FloatArray
    bars_per_year: float

    def __post_init__(self) -> None:
        n_assets = len(self.symbols)
        shape = (self.timestamps.shape[0], n_assets)
        for name in ("opens", "closes"):
            matrix = getattr(self, name)
            if matrix.shape != shape or matrix.dtype != np.float64 or not matrix.flags.c_contiguous:
                raise DataError(
                    f"{name} must be a C-contiguous float64 matrix of shape {shape}", column=name
                )

    @classmethod
    def stack(cls, bars: list[Bars]) -> "PortfolioBars":
        """Aligned ``bars`` (see ``align_bars``) as matrices."""
        return cls(
            symbols=tuple(one.symbol for one in bars),
            timestamps=bars[0].timestamps,
            opens=np.stack([one.open for one in bars], axis=1),
            closes=np.stack([one.close for one in bars], axis=1),
            bars_per_year=bars[0].bars_per_year,
        )


def expand_positions(
    n_assets: int, n: int, bars: IntArray, assets: IntArray, units: FloatArray
) -> FloatArray:
    """The ``(n, N)`` units held at every close from the kernel's log of unit changes:
    each change holds from its bar until the asset's next change (flat before its first)."""
    positions = np.zeros((n, n_assets))
    order = np.argsort(assets, kind="stable")  # by asset, each in bar order
    starts = np.searchsorted(assets[order], np.arange(n_assets + 1))
    for a in range(n_assets):
        rows = order[starts[a] : starts[a + 1]]
        if rows.shape[0] == 0:
            continue
        at = bars[rows]
        lengths = np.diff(np.append(at, n))
        positions[at[0] :, a] = np.repeat(units[rows], lengths)
    return positions


@dataclass(frozen=True)
class PortfolioResult:
    """A portfolio run. ``positions`` (units of every asset at every close) is built on
    first use from the log of unit changes (``position_bars``, ``position_assets``,
    ``position_units``: one row per fill, the units after it)."""

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    closes: FloatArray
    execution: ExecutionSettings
    sizing: PortfolioSizing
    equity: FloatArray
    cash: FloatArray
    position_bars: IntArray
    position_assets: IntArray
    position_units: FloatArray
    trade_table: FloatArray
    trade_assets: IntArray
    asset_stats: FloatArray
    metrics: Metrics
    dropped_bars: int
    bars_per_year: float

    @cached_property
    def positions(self) -> FloatArray:
        """Units of each asset (columns) at each close (rows)."""
        return expand_positions(
            len(self.symbols),
            self.equity.shape[0],
            self.position_bars,
            self.position_assets,
            self.position_units,
        )

    @cached_property
    def assets(self) -> tuple[AssetResult, ...]:
        initial = self.execution.initial_cash
        n = self.equity.shape[0]
        out = []
        for a, symbol in enumerate(self.symbols):
            stats = self.asset_stats[a]
            final_units = float(stats[A_FINAL_UNITS])
            final_value = final_units * float(self.closes[-1, a]) if n else 0.0
            contribution = float(stats[A_NET_FLOW]) + final_value
            out.append(
                AssetResult(
                    symbol=symbol,
                    contribution=contribution,
                    contribution_pct=100.0 * contribution / initial,
                    round_trips=int(stats[A_ROUND_TRIPS]),
                    fills=int(stats[A_FILLS]),
                    fees=float(stats[A_FEES]),
                    exposure_pct=100.0 * float(stats[A_BARS_HELD]) / n if n else 0.0,
                    cash_limited_orders=int(stats[A_CASH_LIMITED]),
                    final_units=final_units,
                    final_value=final_value,
                )
            )
        return tuple(out)

    def trades(self) -> pl.DataFrame:
        """The round trips, each with its symbol, the open ones (``exit_reason ==
        "open"``) last; prices are fill prices, units those of the first buy."""
        table = self.trade_table
        entry_bars = table[:, T_ENTRY_BAR].astype(np.int64)
        exit_bars = table[:, T_EXIT_BAR].astype(np.int64)
        stamps = self.timestamps
        return pl.DataFrame(
            {
                "symbol": [self.symbols[int(a)] for a in self.trade_assets],
                "direction": ["long"] * table.shape[0],
                "entry_bar": entry_bars,
                "entry_time": pl.Series(stamps[entry_bars]).cast(pl.Datetime("us", "UTC")),
                "entry_price": table[:, T_ENTRY_PRICE],
                "exit_bar": exit_bars,
                "exit_time": pl.Series(stamps[exit_bars]).cast(pl.Datetime("us", "UTC")),
                "exit_price": table[:, T_EXIT_PRICE],
                "units": table[:, T_UNITS],
                "pnl": table[:, T_PNL],
                "return_pct": 100.0 * table[:, T_RETURN],
                "fees": table[:, T_FEES],
                "exit_reason": [EXIT_REASON_NAMES[int(r)] for r in table[:, T_EXIT_REASON]],
            },
            schema_overrides={"symbol": pl.String, "direction": pl.String},
        )

    def asset_frame(self) -> pl.DataFrame:
        """The per-asset table, one row per symbol."""
        return pl.DataFrame([vars(asset) for asset in self.assets])


def align_bars(bars: list[Bars]) -> tuple[list[Bars], int]:
    """The symbols' bars restricted to the timestamps all of them share (see module doc),
    and how many bars were dropped in all."""
    common = bars[0].timestamps
    for other in bars[1:]:
        common = np.intersect1d(common, other.timestamps, assume_unique=True)
    if common.shape[0] == 0:
        raise DataError("the symbols share no timestamps", column="timestamp")
    aligned = []
    dropped = 0
    for one in bars:
        keep = np.isin(one.timestamps, common, assume_unique=True)
        dropped += int(one.length - np.count_nonzero(keep))
        aligned.append(
            Bars(
                symbol=one.symbol,
                timestamps=one.timestamps[keep],
                base=np.ascontiguousarray(one.base[:, keep]),
            )
        )
    return aligned, dropped


def check_portfolio(spec: StrategySpec, sizing: PortfolioSizing, symbols: int) -> None:
    """What a portfolio run supports, each refusal naming its field."""
    check_spec(spec)
    if symbols < 1:
        raise SpecError("$.symbols", "give at least one symbol")
    if spec.allow_short:
        raise SpecError("$.allow_short", "multi-asset backtests are long only")
    if spec.entry_order.type != "market":
        raise SpecError("$.entry_order.type", "multi-asset backtests use market orders only")
    risk = spec.risk
    if risk.stop_loss_pct or risk.take_profit_pct or risk.trailing_stop_pct:
        raise SpecError("$.risk", "multi-asset backtests have no protective exits")
    if sizing.rebalance_every < 0:
        raise SpecError("$.sizing.rebalance_every", "must be 0 (never) or a number of bars")
    if sizing.method == "fraction" and not 0.0 <= sizing.fraction <= 1.0:
        raise SpecError("$.sizing.fraction", "must be between 0 (equal shares) and 1")
    if sizing.method == "target_weights":
        if len(sizing.target_weights) != symbols:
            raise SpecError("$.sizing.target_weights", f"give one weight per symbol ({symbols})")
        if any(w < 0.0 for w in sizing.target_weights) or sum(sizing.target_weights) > 1.0 + 1e-9:
            raise SpecError("$.sizing.target_weights", "weights are ≥ 0 and sum to at most 1")
    if sizing.method == "fixed_units":
        if len(sizing.units) != symbols:
            raise SpecError("$.sizing.units", f"give one quantity per symbol ({symbols})")
        if any(u <= 0.0 for u in sizing.units):
            raise SpecError("$.sizing.units", "quantities are above 0")


def portfolio_signals(bars: list[Bars], spec: StrategySpec) -> FlagArray:
    """The spec's signal flags on every symbol's own bars, one column per symbol."""
    flags = np.zeros((bars[0].length, len(bars)), dtype=np.int8)
    for a, one in enumerate(bars):
        table = SeriesTable(one, list(required_indicators(spec)))
        rules = compile_rules(spec, table.rows_for(spec))
        row = np.zeros(one.length, dtype=np.int8)
        fill_signal_flags(
            one.base,
            table.matrix,
            row,
            rules.group_bounds,
            rules.left,
            rules.op,
            rules.right,
            rules.constant,
            rules.lag,
        )
        flags[:, a] = row
    return flags


def portfolio_settings(execution: ExecutionSettings, sizing: PortfolioSizing) -> FloatArray:
    settings = np.zeros(PORTFOLIO_SETTINGS_LENGTH)
    settings[P_CASH] = execution.initial_cash
    settings[P_FILL_AT_CLOSE] = 1.0 if execution.fill == "close" else 0.0
    settings[P_SIZING] = (
        PORTFOLIO_SIZING_UNITS if sizing.method == "fixed_units" else PORTFOLIO_SIZING_WEIGHTS
    )
    settings[P_REBALANCE_EVERY] = sizing.rebalance_every
    settings[P_COMMISSION_RATE] = execution.commission_bps / 10_000.0
    settings[P_COMMISSION_FIXED] = execution.commission_fixed
    settings[P_SLIPPAGE_RATE] = execution.slippage_bps / 10_000.0
    settings[P_WHOLE_UNITS] = 1.0 if sizing.whole_units else 0.0
    return settings


def trade_capacity(flags: FlagArray) -> int:
    """Rows the trade table can need: every round trip starts with a buy from flat, which
    only a long-entry flag orders, so the entry flags bound the round trips and the kernel
    runs once. (The former guess of ``n // 8`` rows was too small on busy signals, and
    the whole simulation ran a second time.) Unused rows of ``np.zeros`` are never
    touched, so the bound costs no memory beyond the rows written."""
    return max(16, int(np.count_nonzero(flags & LONG_ENTRY)))


def fill_capacity(flags: FlagArray, rebalance_every: int) -> int:
    """Rows the log of unit changes can need: an asset fills at most once a bar, and
    outside rebalancing bars only when it has a signal flag (the entry or exit orders),
    so the nonzero flags plus every asset at every rebalancing bar bound the fills.
    ``np.empty`` leaves the rows never written untouched, so the bound costs only the
    memory of the fills made."""
    n, n_assets = int(flags.shape[0]), int(flags.shape[1])
    rebalances = (n - 1) // rebalance_every if rebalance_every > 0 and n > 0 else 0
    return max(16, int(np.count_nonzero(flags)) + n_assets * rebalances)


def run_flags(
    bars: list[Bars] | PortfolioBars,
    flags: FlagArray,
    execution: ExecutionSettings,
    sizing: PortfolioSizing,
    dropped_bars: int = 0,
) -> PortfolioResult:
    """Simulate aligned ``bars`` (a list of ``Bars``, stacked here, or ``PortfolioBars``
    used as they are) with the given signal flags, ``(n, N)``: one row per bar, one
    column per symbol."""
    panel = bars if isinstance(bars, PortfolioBars) else PortfolioBars.stack(bars)
    n_assets = len(panel.symbols)
    n = panel.timestamps.shape[0]
    # The kernel does not check its indices: flags of another shape (the symbol-major
    # layout of old, say) would read past their end.
    if flags.shape != (n, n_assets):
        raise DataError(
            f"flags must have one row per bar and one column per symbol: {(n, n_assets)}",
            column="flags",
        )
    if sizing.method == "target_weights":
        weights = np.array(sizing.target_weights, dtype=np.float64)
    else:
        weights = np.full(n_assets, sizing.fraction or 1.0 / n_assets)
    units = np.array(sizing.units or (0.0,) * n_assets, dtype=np.float64)
    settings = portfolio_settings(execution, sizing)
    equity = np.empty(n)
    cash = np.empty(n)
    assets = np.zeros((n_assets, ASSET_COLUMNS))
    capacity = trade_capacity(flags)
    log_capacity = fill_capacity(flags, sizing.rebalance_every)
    while True:
        trades = np.zeros((capacity, TRADE_COLUMNS))
        trade_assets = np.zeros(capacity, dtype=np.int64)
        log_bars = np.empty(log_capacity, dtype=np.int64)
        log_assets = np.empty(log_capacity, dtype=np.int64)
        log_units = np.empty(log_capacity)
        count, exposed_bars, changes = simulate_portfolio(
            panel.opens,
            panel.closes,
            np.ascontiguousarray(flags),
            settings,
            weights,
            units,
            equity,
            cash,
            trades,
            trade_assets,
            assets,
            log_bars,
            log_assets,
            log_units,
        )
        if count <= capacity and changes <= log_capacity:
            break
        capacity = max(capacity, count)
        log_capacity = max(log_capacity, changes)
    trades = trades[:count].copy()
    vector = performance(equity, trades, execution.initial_cash, panel.bars_per_year)
    # Exposure of the portfolio: share of closes at which any asset was held.
    vector[M_EXPOSURE] = 100.0 * exposed_bars / n if n else 0.0
    return PortfolioResult(
        symbols=panel.symbols,
        timestamps=panel.timestamps,
        closes=panel.closes,
        execution=execution,
        sizing=sizing,
        equity=equity,
        cash=cash,
        position_bars=log_bars[:changes],
        position_assets=log_assets[:changes],
        position_units=log_units[:changes],
        trade_table=trades,
        trade_assets=trade_assets[:count].copy(),
        asset_stats=assets,
        metrics=Metrics.from_vector(vector),
        dropped_bars=dropped_bars,
        bars_per_year=panel.bars_per_year,
    )


def run_portfolio(
    bars: list[Bars],
    spec: StrategySpec,
    execution: ExecutionSettings,
    sizing: PortfolioSizing | None = None,
) -> PortfolioResult:
    """Backtest one spec over several symbols' bars with shared cash (see module doc).
    Without ``sizing``, each asset is bought with an equal share ``1 / N`` of equity."""
    sizing = sizing or PortfolioSizing()
    check_portfolio(spec, sizing, len(bars))
    symbols = [one.symbol for one in bars]
    if len(set(symbols)) != len(symbols):
        raise SpecError("$.symbols", "each symbol may appear once")
    aligned, dropped = align_bars(bars)
    flags = portfolio_signals(aligned, spec)
    return run_flags(aligned, flags, execution, sizing, dropped)
