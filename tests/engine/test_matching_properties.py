"""Properties of the matching kernel over random books and bars: nothing fills more
than was asked, fills stay inside the bar (plus the preset's slippage), limits are never
worse than their price, bracket legs never close more than the entry opened, and the
same book and bar always give the same result."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.matching import (
    BUY,
    FILLED,
    LIMIT,
    MARKET,
    PRESETS,
    SELL,
    STOP,
    STOP_LIMIT,
    OrderBook,
    Tick,
)

prices = st.floats(min_value=90.0, max_value=110.0).map(lambda p: round(p, 2))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, object]], list[tuple[float, ...]]]:
    orders: list[dict[str, object]] = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from([MARKET, LIMIT, STOP, STOP_LIMIT]))
        orders.append(
            {
                "side": draw(st.sampled_from([BUY, SELL])),
                "kind": kind,
                "qty": float(draw(st.integers(1, 400))),
                "limit_price": draw(prices) if kind in (LIMIT, STOP_LIMIT) else np.nan,
                "stop_price": draw(prices) if kind in (STOP, STOP_LIMIT) else np.nan,
                "preset": draw(st.integers(0, len(PRESETS) - 1)),
                "key": draw(st.integers(0, 2**63)),
                "bracket": draw(st.booleans()),
                "low_exit": round(draw(st.floats(90.0, 100.0)), 2),
                "high_exit": round(draw(st.floats(100.01, 110.0)), 2),
            }
        )
    bars: list[tuple[float, ...]] = []
    for _ in range(draw(st.integers(1, 6))):
        o, c = draw(prices), draw(prices)
        h = max(o, c) + draw(st.floats(0, 3)).__round__(2)
        lo = min(o, c) - draw(st.floats(0, 3)).__round__(2)
        bars.append((o, h, lo, c, float(draw(st.integers(100, 100_000)))))
    return orders, bars


def build(orders: list[dict[str, object]]) -> tuple[OrderBook, list[tuple[int, int, int]]]:
    book = OrderBook(["XYZ"], [0.01], [1.0])
    brackets = []
    for spec in orders:
        fields = {k: v for k, v in spec.items() if k not in ("bracket", "low_exit", "high_exit")}
        entry = book.add(symbol="XYZ", **fields)  # type: ignore[arg-type]
        if spec["bracket"]:
            exit_side = SELL if spec["side"] == BUY else BUY
            low, high = float(spec["low_exit"]), float(spec["high_exit"])  # type: ignore[arg-type]
            below, above = (low, high) if spec["side"] == BUY else (high, low)
            stop_loss = book.add(
                symbol="XYZ", side=exit_side, kind=STOP, qty=0, stop_price=below,
                waiting_parent=True,
            )  # fmt: skip
            take_profit = book.add(
                symbol="XYZ", side=exit_side, kind=LIMIT, qty=0, limit_price=above,
                waiting_parent=True,
            )  # fmt: skip
            book.link_bracket(entry, stop_loss, take_profit)
            brackets.append((entry, stop_loss, take_profit))
    return book, brackets


def tick(seq: int, bar: tuple[float, ...]) -> Tick:
    o, h, lo, c, v = bar
    return Tick(
        seq=seq,
        ts_ns=seq * 86_400 * 10**9,
        has_bar=np.ones(1, dtype=np.int8),
        open=np.array([o]),
        high=np.array([h]),
        low=np.array([lo]),
        close=np.array([c]),
        volume=np.array([v]),
    )


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_fills_respect_quantity_price_and_brackets(
    scenario: tuple[list[dict[str, object]], list[tuple[float, ...]]],
) -> None:
    orders, bars = scenario
    book, brackets = build(orders)
    asked = book.remaining[: book.size].copy()
    filled = np.zeros(book.size)
    for seq, bar in enumerate(bars, start=1):
        _, h, lo, _, _ = bar
        result = book.match(tick(seq, bar))
        assert len(set(result.fill_slot.tolist())) == result.fills  # one fill per order per bar
        for slot, qty, price in zip(
            result.fill_slot, result.fill_qty, result.fill_price, strict=True
        ):
            slip = PRESETS[book.preset[slot]].slippage_bps / 10_000
            assert qty > 0
            # Slippage moves a sell down by the fraction and a buy up by it, then the price
            # is rounded to the 0.01 tick away from the trader.
            assert lo * (1 - slip) - 0.01 <= price <= h * (1 + slip) + 0.01
            if book.kind[slot] == LIMIT:
                if book.side[slot] == BUY:
                    assert price <= book.limit_price[slot] + 1e-9
                else:
                    assert price >= book.limit_price[slot] - 1e-9
            filled[slot] += qty
    for slot in range(book.size):
        if book.status[slot] == FILLED:
            assert book.remaining[slot] == 0
    for entry, stop_loss, take_profit in brackets:
        assert filled[entry] <= asked[entry] + 1e-9
        assert filled[stop_loss] + filled[take_profit] <= filled[entry] + 1e-9


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_the_same_book_and_bars_always_match_the_same(
    scenario: tuple[list[dict[str, object]], list[tuple[float, ...]]],
) -> None:
    orders, bars = scenario
    runs = []
    for _ in range(2):
        book, _ = build(orders)
        fills = []
        for seq, bar in enumerate(bars, start=1):
            result = book.match(tick(seq, bar))
            fills.append(
                (result.fill_slot.tolist(), result.fill_qty.tolist(), result.fill_price.tolist())
            )
        runs.append((fills, book.status[: book.size].tolist()))
    assert runs[0] == runs[1]
