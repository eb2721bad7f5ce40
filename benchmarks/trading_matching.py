"""One tick of the paper-trading matching engine over 100,000 open orders across 10,000
accounts (and 50 symbols), beside a plain-Python loop applying the same fill rules to the
same orders, timed in the same run. Run: ``uv run python benchmarks/trading_matching.py``."""

from __future__ import annotations

import platform
import statistics
import time

import numba
import numpy as np

from engine.matching import (
    BUY,
    CANCELLED,
    DAY,
    FILLED,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    PRESET_INDEX,
    STOP,
    STOP_LIMIT,
    TRIGGERED,
    WORKING,
    OrderBook,
    Tick,
)

ORDERS = 100_000
ACCOUNTS = 10_000
SYMBOLS = 50


def build_book(seed: int = 7) -> tuple[OrderBook, Tick, np.ndarray]:
    rng = np.random.default_rng(seed)
    symbols = [f"SYM{k}" for k in range(SYMBOLS)]
    book = OrderBook(symbols, [0.01] * SYMBOLS, [1.0] * SYMBOLS)
    accounts = rng.integers(0, ACCOUNTS, ORDERS)
    kinds = rng.choice([MARKET, LIMIT, STOP, STOP_LIMIT], ORDERS, p=[0.1, 0.5, 0.3, 0.1])
    sides = rng.choice([1, -1], ORDERS)
    sym = rng.integers(0, SYMBOLS, ORDERS)
    offsets = rng.normal(0.0, 0.02, ORDERS)
    for k in range(ORDERS):
        ref = 100.0
        kind = int(kinds[k])
        price = round(ref * (1 + offsets[k]), 2)
        book.add(
            symbol=symbols[int(sym[k])],
            side=int(sides[k]),
            kind=kind,
            qty=float(rng.integers(1, 500)),
            limit_price=price if kind in (LIMIT, STOP_LIMIT) else np.nan,
            stop_price=price if kind in (STOP, STOP_LIMIT) else np.nan,
            tif=int(rng.choice([GTC, DAY, IOC], p=[0.8, 0.15, 0.05])),
            preset=PRESET_INDEX["realistic"],
            key=k * 2654435761,
        )
    o = 100.0 + rng.normal(0, 0.5, SYMBOLS)
    c = o + rng.normal(0, 1.0, SYMBOLS)
    h = np.maximum(o, c) + np.abs(rng.normal(0, 0.8, SYMBOLS))
    lo = np.minimum(o, c) - np.abs(rng.normal(0, 0.8, SYMBOLS))
    tick = Tick(
        seq=1,
        ts_ns=1_700_000_000 * 10**9,
        has_bar=np.ones(SYMBOLS, dtype=np.int8),
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=np.full(SYMBOLS, 50_000.0),
    )
    return book, tick, accounts


def python_loop(book: OrderBook, tick: Tick) -> int:
    """The same rules without the kernel: one Python iteration per order."""
    fills = 0
    slip = book.slippage_bps
    cap = book.participation
    for i in range(book.size):
        st = book.status[i]
        if st != WORKING and st != TRIGGERED:
            continue
        s = book.symbol[i]
        o, h, lo = tick.open[s], tick.high[s], tick.low[s]
        kind, side = book.kind[i], book.side[i]
        limit, stop = book.limit_price[i], book.stop_price[i]
        price = None
        if kind == MARKET:
            price = o
        elif kind == LIMIT or (kind == STOP_LIMIT and st == TRIGGERED):
            if side == BUY:
                price = o if o <= limit else (limit if lo <= limit else None)
            else:
                price = o if o >= limit else (limit if h >= limit else None)
        else:
            gapped = o >= stop if side == BUY else o <= stop
            touched = gapped or (h >= stop if side == BUY else lo <= stop)
            if touched:
                at = o if gapped else stop
                if kind == STOP:
                    price = at
                else:
                    book.status[i] = TRIGGERED
                    ok = at <= limit if side == BUY else at >= limit
                    price = at if ok else None
        if price is not None:
            p = book.preset[i]
            qty = min(book.remaining[i], np.floor(cap[p] * tick.volume[s]))
            if kind in (MARKET, STOP):
                price = price * (1 + side * slip[p] / 10_000)
            book.remaining[i] -= qty
            if book.remaining[i] <= 0:
                book.status[i] = FILLED
            fills += 1
        if book.tif[i] == IOC and book.status[i] in (WORKING, TRIGGERED):
            book.status[i] = CANCELLED
    return fills


def snapshot(book: OrderBook) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return book.status.copy(), book.remaining.copy(), book.eligible_ns.copy()


def restore(book: OrderBook, saved: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    book.status[:], book.remaining[:], book.eligible_ns[:] = saved


def main() -> None:
    book, tick, accounts = build_book()
    saved = snapshot(book)
    book.match(tick)  # compile (or load from cache) once
    restore(book, saved)

    kernel_s: list[float] = []
    fills = 0
    for _ in range(20):
        restore(book, saved)
        started = time.perf_counter()
        result = book.match(tick)
        kernel_s.append(time.perf_counter() - started)
        fills = result.fills
    loop_s: list[float] = []
    loop_fills = 0
    for _ in range(3):
        restore(book, saved)
        started = time.perf_counter()
        loop_fills = python_loop(book, tick)
        loop_s.append(time.perf_counter() - started)

    ours = statistics.median(kernel_s)
    peer = statistics.median(loop_s)
    print(f"machine: {platform.machine()} {platform.processor() or ''} {platform.system()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")
    print(
        f"book: {ORDERS:,} open orders, {len(set(accounts.tolist())):,} accounts, "
        f"{SYMBOLS} symbols; one tick"
    )
    print(f"numba kernel (match + fill arrays): {ours * 1e3:7.2f} ms  ({fills:,} fills)")
    print(f"plain-Python loop, same orders:    {peer * 1e3:8.2f} ms  ({loop_fills:,} fills)")
    print(f"ratio: {peer / ours:,.1f}x faster; goal < 10 ms: {'met' if ours < 0.010 else 'missed'}")


if __name__ == "__main__":
    main()
