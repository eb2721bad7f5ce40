"""Order matching for paper accounts: every open order of every account lives in one
struct-of-arrays book, and one Numba kernel matches the whole book against a market tick
(one bar per symbol) with no Python loop per order.

Fill rules (each tested in ``tests/engine/test_matching.py``), consistent with the
backtest kernel's (``engine.backtest``):

* An order works from the first bar whose time is at or after its ``eligible_ns`` (the
  market time it was placed plus the preset's latency), so it never fills on a bar that
  had already opened when it was placed.
* **Market** orders fill at the open. **Limit** orders fill at the open when the open is
  already through the limit (a better price), otherwise at the limit when the bar touches
  it; never when it is not touched. **Stop** orders fill at the open when the open gapped
  through the stop (worse than the stop), otherwise at the stop when touched.
  **Stop-limit** orders trigger like a stop; at the trigger price (the open when gapped,
  else the stop) they fill when that price is within the limit, otherwise they rest as a
  limit from the next bar.
* **Slippage** (the preset's bps) moves market and stop fills against the trader, rounded
  to the instrument's tick away from the trader; limit fills get their price (or a
  better open), never slippage.
* **Partial fills**: with a participation cap (a share of the bar's volume), an order
  fills at most ``cap × volume`` units per bar, floored to the quantity step; the rest
  keeps working (or is cancelled if IOC).
* **Rejections** (harsh preset): a market or stop fill is refused with the preset's
  probability, decided by a hash of (order key, bar sequence) so a replay rejects the same
  orders again.
* **Brackets**: the stop-loss and take-profit legs wait for the entry; each entry fill
  adds its quantity to both legs, which work from the next bar. The legs are one-cancels-
  other: a fill on one reduces the other by the same quantity and cancels it at zero.
  When both legs are touched in one bar, a leg the open gapped through wins (it came
  first); otherwise the stop-loss is assumed first, the pessimistic reading.
* **Time in force**: GTC works until filled or cancelled; DAY and signal expiry are an
  ``expire_ns`` after which the order expires before matching; IOC works on its first
  eligible bar only and its remainder is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.compile import inline_kernel, kernel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FlagArray = npt.NDArray[np.int8]
KeyArray = npt.NDArray[np.uint64]

BUY, SELL = 1, -1
MARKET, LIMIT, STOP, STOP_LIMIT = 0, 1, 2, 3
ORDER_KIND_NAMES = ("market", "limit", "stop", "stop_limit")
GTC, DAY, IOC = 0, 1, 2
TIF_NAMES = ("gtc", "day", "ioc")
ROLE_ENTRY, ROLE_STOP_LOSS, ROLE_TAKE_PROFIT = 0, 1, 2
ROLE_NAMES = ("entry", "stop_loss", "take_profit")

# Order states in the book. FREE marks a slot no order occupies.
WAITING_PARENT, WORKING, TRIGGERED, FILLED, CANCELLED, EXPIRED, REJECTED, FREE = range(8)
STATUS_NAMES = (
    "waiting_parent",
    "working",
    "triggered",
    "filled",
    "cancelled",
    "expired",
    "rejected",
    "free",
)

# What happened to an order during a tick besides a fill (the `events` output).
EV_EXPIRED, EV_IOC_CANCELLED, EV_OCO_CANCELLED, EV_REJECTED, EV_TRIGGERED, EV_ACTIVATED = range(6)
EVENT_NAMES = (
    "expired",
    "ioc_cancelled",
    "oco_cancelled",
    "rejected",
    "triggered",
    "activated",
)

NO_EXPIRY = np.iinfo(np.int64).max
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Preset:
    """A realism preset. ``participation`` 0 means no volume cap."""

    name: str
    slippage_bps: float
    latency_ms: int
    participation: float
    reject_rate: float


PRESETS: tuple[Preset, ...] = (
    Preset("frictionless", slippage_bps=0.0, latency_ms=0, participation=0.0, reject_rate=0.0),
    Preset("realistic", slippage_bps=5.0, latency_ms=250, participation=0.1, reject_rate=0.0),
    Preset("harsh", slippage_bps=25.0, latency_ms=2_000, participation=0.02, reject_rate=0.05),
)
PRESET_INDEX = {p.name: k for k, p in enumerate(PRESETS)}


@inline_kernel
def _touch(
    kind: int, side: int, limit: float, stop: float, triggered: bool, o: float, h: float, lo: float
) -> tuple[float, bool, bool, float]:
    """Where an order would fill on this bar: (price or NaN, at the open?, triggers now?,
    reference price for slippage)."""
    nan = np.nan
    if kind == MARKET:
        return o, True, False, o
    if kind == LIMIT or (kind == STOP_LIMIT and triggered):
        if side == BUY:
            if o <= limit:
                return o, True, False, o
            if lo <= limit:
                return limit, False, False, limit
        else:
            if o >= limit:
                return o, True, False, o
            if h >= limit:
                return limit, False, False, limit
        return nan, False, False, nan
    # stop and (untriggered) stop-limit
    if side == BUY:
        gapped = o >= stop
        touched = gapped or h >= stop
    else:
        gapped = o <= stop
        touched = gapped or lo <= stop
    if not touched:
        return nan, False, False, nan
    at = o if gapped else stop
    if kind == STOP:
        return at, gapped, False, at
    if (side == BUY and at <= limit) or (side == SELL and at >= limit):
        return at, gapped, True, at
    return nan, gapped, True, nan


@inline_kernel
def _unit(key: np.uint64, seq: int) -> float:
    """A deterministic number in [0, 1) from (order key, bar sequence): splitmix64."""
    z = key ^ (np.uint64(seq) * np.uint64(0x9E3779B97F4A7C15))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) / 9007199254740992.0


@kernel
def match_tick(
    # the book (struct of arrays, updated in place)
    status: FlagArray,
    symbol: Int32Array,
    side: FlagArray,
    kind: FlagArray,
    tif: FlagArray,
    preset: FlagArray,
    remaining: FloatArray,
    limit_price: FloatArray,
    stop_price: FloatArray,
    eligible_ns: IntArray,
    expire_ns: IntArray,
    key: KeyArray,
    sibling: IntArray,
    child_stop: IntArray,
    child_take: IntArray,
    # the tick: one bar per symbol (has_bar 0 where a symbol has none)
    has_bar: FlagArray,
    bar_open: FloatArray,
    bar_high: FloatArray,
    bar_low: FloatArray,
    bar_volume: FloatArray,
    tick_size: FloatArray,
    qty_step: FloatArray,
    seq: int,
    ts_ns: int,
    # presets, indexed by the order's preset
    slippage_bps: FloatArray,
    participation: FloatArray,
    reject_rate: FloatArray,
    # outputs: fills (order slot, qty, price, reference price) and events (slot, code)
    fill_slot: IntArray,
    fill_qty: FloatArray,
    fill_price: FloatArray,
    fill_reference: FloatArray,
    event_slot: IntArray,
    event_code: FlagArray,
) -> tuple[int, int]:
    """Match every working order against the tick; returns (fills, events) written."""
    n_fills = 0
    n_events = 0
    for i in range(status.shape[0]):
        st = status[i]
        if st != WORKING and st != TRIGGERED:
            continue
        s = symbol[i]
        if has_bar[s] == 0 or eligible_ns[i] > ts_ns:
            continue
        if ts_ns >= expire_ns[i]:
            status[i] = EXPIRED
            event_slot[n_events] = i
            event_code[n_events] = EV_EXPIRED
            n_events += 1
            continue
        o = bar_open[s]
        h = bar_high[s]
        lo = bar_low[s]
        k = kind[i]
        d = side[i]
        price, at_open, triggers, reference = _touch(
            k, d, limit_price[i], stop_price[i], st == TRIGGERED, o, h, lo
        )
        if triggers and st == WORKING:
            status[i] = TRIGGERED
            event_slot[n_events] = i
            event_code[n_events] = EV_TRIGGERED
            n_events += 1
        j = sibling[i]
        if not np.isnan(price) and j >= 0 and (status[j] == WORKING or status[j] == TRIGGERED):
            other, other_at_open, _, _ = _touch(
                kind[j], side[j], limit_price[j], stop_price[j], status[j] == TRIGGERED, o, h, lo
            )
            if not np.isnan(other) and eligible_ns[j] <= ts_ns:
                # Both legs touched: the one gapped at the open came first; else the stop.
                other_first = other_at_open and not at_open
                if other_first or (other_at_open == at_open and kind[j] == STOP):
                    price = np.nan
        if not np.isnan(price):
            p = preset[i]
            taker = k in (MARKET, STOP)
            qty = remaining[i]
            cap = participation[p]
            if cap > 0.0:
                step = qty_step[s]
                allowed = np.floor(cap * bar_volume[s] / step + _EPSILON) * step
                qty = min(qty, allowed)
            if taker and reject_rate[p] > 0.0 and _unit(key[i], seq) < reject_rate[p]:
                status[i] = REJECTED
                event_slot[n_events] = i
                event_code[n_events] = EV_REJECTED
                n_events += 1
                continue
            if qty > _EPSILON:
                if taker and slippage_bps[p] > 0.0:
                    tick = tick_size[s]
                    moved = price * (1.0 + d * slippage_bps[p] / 10_000.0) / tick
                    price = (
                        np.ceil(moved - _EPSILON) if d == BUY else np.floor(moved + _EPSILON)
                    ) * tick
                fill_slot[n_fills] = i
                fill_qty[n_fills] = qty
                fill_price[n_fills] = price
                fill_reference[n_fills] = reference
                n_fills += 1
                remaining[i] -= qty
                if remaining[i] <= _EPSILON:
                    remaining[i] = 0.0
                    status[i] = FILLED
                for c in (child_stop[i], child_take[i]):
                    if c >= 0 and (status[c] == WAITING_PARENT or status[c] == WORKING):
                        if status[c] == WAITING_PARENT:
                            event_slot[n_events] = c
                            event_code[n_events] = EV_ACTIVATED
                            n_events += 1
                        status[c] = WORKING
                        remaining[c] += qty
                        eligible_ns[c] = max(eligible_ns[c], ts_ns + 1)
                if j >= 0 and (status[j] == WORKING or status[j] == TRIGGERED):
                    remaining[j] -= qty
                    if remaining[j] <= _EPSILON:
                        remaining[j] = 0.0
                        status[j] = CANCELLED
                        event_slot[n_events] = j
                        event_code[n_events] = EV_OCO_CANCELLED
                        n_events += 1
        if tif[i] == IOC and (status[i] == WORKING or status[i] == TRIGGERED):
            status[i] = CANCELLED
            event_slot[n_events] = i
            event_code[n_events] = EV_IOC_CANCELLED
            n_events += 1
    return n_fills, n_events


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What one tick did, as arrays (copies): fills in book order, then other events."""

    fill_slot: IntArray
    fill_qty: FloatArray
    fill_price: FloatArray
    fill_reference: FloatArray
    event_slot: IntArray
    event_code: FlagArray

    @property
    def fills(self) -> int:
        return int(self.fill_slot.shape[0])


@dataclass(frozen=True, slots=True)
class Tick:
    """One step of a market feed: a bar for some or all of the book's symbols."""

    seq: int
    ts_ns: int
    has_bar: FlagArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


class OrderBook:
    """The struct-of-arrays book. Slots are reused after ``compact``; a slot's index is
    what the kernel and the caller use to talk about an order."""

    _FIELDS = (
        ("status", np.int8, FREE),
        ("symbol", np.int32, 0),
        ("side", np.int8, BUY),
        ("kind", np.int8, MARKET),
        ("tif", np.int8, GTC),
        ("preset", np.int8, 0),
        ("remaining", np.float64, 0.0),
        ("limit_price", np.float64, np.nan),
        ("stop_price", np.float64, np.nan),
        ("eligible_ns", np.int64, 0),
        ("expire_ns", np.int64, NO_EXPIRY),
        ("key", np.uint64, 0),
        ("sibling", np.int64, -1),
        ("child_stop", np.int64, -1),
        ("child_take", np.int64, -1),
    )

    status: FlagArray
    symbol: Int32Array
    side: FlagArray
    kind: FlagArray
    tif: FlagArray
    preset: FlagArray
    remaining: FloatArray
    limit_price: FloatArray
    stop_price: FloatArray
    eligible_ns: IntArray
    expire_ns: IntArray
    key: KeyArray
    sibling: IntArray
    child_stop: IntArray
    child_take: IntArray

    def __init__(self, symbols: list[str], tick_size: list[float], qty_step: list[float]) -> None:
        self.symbols = list(symbols)
        self.symbol_index = {s: k for k, s in enumerate(self.symbols)}
        self.tick_size = np.asarray(tick_size, dtype=np.float64)
        self.qty_step = np.asarray(qty_step, dtype=np.float64)
        self.size = 0
        self._free: list[int] = []
        self._allocate(1024)
        self.slippage_bps = np.array([p.slippage_bps for p in PRESETS])
        self.participation = np.array([p.participation for p in PRESETS])
        self.reject_rate = np.array([p.reject_rate for p in PRESETS])

    def _allocate(self, capacity: int) -> None:
        for name, dtype, default in self._FIELDS:
            fresh = np.full(capacity, default, dtype=dtype)
            if self.size:
                fresh[: self.size] = getattr(self, name)[: self.size]
            setattr(self, name, fresh)
        self.capacity = capacity
        self._fill_slot = np.empty(capacity, dtype=np.int64)
        self._fill_qty = np.empty(capacity)
        self._fill_price = np.empty(capacity)
        self._fill_reference = np.empty(capacity)
        self._event_slot = np.empty(5 * capacity, dtype=np.int64)
        self._event_code = np.empty(5 * capacity, dtype=np.int8)

    def add(
        self,
        *,
        symbol: str,
        side: int,
        kind: int,
        qty: float,
        limit_price: float = np.nan,
        stop_price: float = np.nan,
        tif: int = GTC,
        preset: int = 0,
        eligible_ns: int = 0,
        expire_ns: int = NO_EXPIRY,
        key: int = 0,
        waiting_parent: bool = False,
        status: int | None = None,
    ) -> int:
        if self._free:
            slot = self._free.pop()
        else:
            if self.size == self.capacity:
                self._allocate(self.capacity * 2)
            slot = self.size
            self.size += 1
        self.status[slot] = (
            status if status is not None else (WAITING_PARENT if waiting_parent else WORKING)
        )
        self.symbol[slot] = self.symbol_index[symbol]
        self.side[slot] = side
        self.kind[slot] = kind
        self.tif[slot] = tif
        self.preset[slot] = preset
        self.remaining[slot] = 0.0 if waiting_parent else qty
        self.limit_price[slot] = limit_price
        self.stop_price[slot] = stop_price
        self.eligible_ns[slot] = eligible_ns
        self.expire_ns[slot] = expire_ns
        self.key[slot] = np.uint64(key & 0xFFFFFFFFFFFFFFFF)
        self.sibling[slot] = -1
        self.child_stop[slot] = -1
        self.child_take[slot] = -1
        return slot

    def link_bracket(self, entry: int, stop_loss: int | None, take_profit: int | None) -> None:
        if stop_loss is not None:
            self.child_stop[entry] = stop_loss
        if take_profit is not None:
            self.child_take[entry] = take_profit
        if stop_loss is not None and take_profit is not None:
            self.sibling[stop_loss] = take_profit
            self.sibling[take_profit] = stop_loss

    def cancel(self, slot: int) -> None:
        self.status[slot] = CANCELLED

    def release(self, slot: int) -> None:
        """Give a finished order's slot back (its links must be gone too)."""
        for name, _, default in self._FIELDS:
            getattr(self, name)[slot] = default
        self._free.append(slot)

    def is_open(self, slot: int) -> bool:
        return int(self.status[slot]) in (WAITING_PARENT, WORKING, TRIGGERED)

    def match(self, tick: Tick) -> MatchResult:
        n = self.size
        n_fills, n_events = match_tick(
            self.status[:n],
            self.symbol[:n],
            self.side[:n],
            self.kind[:n],
            self.tif[:n],
            self.preset[:n],
            self.remaining[:n],
            self.limit_price[:n],
            self.stop_price[:n],
            self.eligible_ns[:n],
            self.expire_ns[:n],
            self.key[:n],
            self.sibling[:n],
            self.child_stop[:n],
            self.child_take[:n],
            tick.has_bar,
            tick.open,
            tick.high,
            tick.low,
            tick.volume,
            self.tick_size,
            self.qty_step,
            tick.seq,
            tick.ts_ns,
            self.slippage_bps,
            self.participation,
            self.reject_rate,
            self._fill_slot,
            self._fill_qty,
            self._fill_price,
            self._fill_reference,
            self._event_slot,
            self._event_code,
        )
        return MatchResult(
            fill_slot=self._fill_slot[:n_fills].copy(),
            fill_qty=self._fill_qty[:n_fills].copy(),
            fill_price=self._fill_price[:n_fills].copy(),
            fill_reference=self._fill_reference[:n_fills].copy(),
            event_slot=self._event_slot[:n_events].copy(),
            event_code=self._event_code[:n_events].copy(),
        )
