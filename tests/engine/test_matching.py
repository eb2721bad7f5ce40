"""The matching kernel's fill rules, one case per rule, on hand-made bars."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matching import (
    BUY,
    CANCELLED,
    DAY,
    EV_ACTIVATED,
    EV_EXPIRED,
    EV_IOC_CANCELLED,
    EV_OCO_CANCELLED,
    EV_REJECTED,
    EXPIRED,
    FILLED,
    IOC,
    LIMIT,
    MARKET,
    PRESET_INDEX,
    REJECTED,
    SELL,
    STOP,
    STOP_LIMIT,
    TRIGGERED,
    WAITING_PARENT,
    WORKING,
    MatchResult,
    OrderBook,
    Tick,
)

FRICTIONLESS = PRESET_INDEX["frictionless"]
REALISTIC = PRESET_INDEX["realistic"]
HARSH = PRESET_INDEX["harsh"]
DAY_NS = 86_400 * 10**9


def make_book() -> OrderBook:
    return OrderBook(["XYZ"], [0.01], [1.0])


def bar(
    seq: int,
    o: float,
    h: float,
    lo: float,
    c: float,
    volume: float = 1e9,
    ts_ns: int | None = None,
) -> Tick:
    return Tick(
        seq=seq,
        ts_ns=ts_ns if ts_ns is not None else seq * DAY_NS,
        has_bar=np.ones(1, dtype=np.int8),
        open=np.array([o]),
        high=np.array([h]),
        low=np.array([lo]),
        close=np.array([c]),
        volume=np.array([volume]),
    )


def fills(result: MatchResult) -> list[tuple[int, float, float]]:
    return [
        (int(s), float(q), round(float(p), 6))
        for s, q, p in zip(result.fill_slot, result.fill_qty, result.fill_price, strict=True)
    ]


def events(result: MatchResult) -> list[tuple[int, int]]:
    return [(int(s), int(c)) for s, c in zip(result.event_slot, result.event_code, strict=True)]


def test_market_order_fills_whole_at_the_open() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=10)
    result = book.match(bar(1, 100, 105, 95, 102))
    assert fills(result) == [(slot, 10.0, 100.0)]
    assert book.status[slot] == FILLED


def test_untouched_limit_never_fills() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=LIMIT, qty=5, limit_price=94.0)
    assert fills(book.match(bar(1, 100, 105, 95, 102))) == []
    assert book.status[slot] == WORKING


def test_touched_buy_limit_fills_at_its_price() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=LIMIT, qty=5, limit_price=96.0)
    assert fills(book.match(bar(1, 100, 105, 95, 102))) == [(slot, 5.0, 96.0)]


def test_sell_limit_gapped_through_fills_at_the_better_open() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=SELL, kind=LIMIT, qty=5, limit_price=101.0)
    assert fills(book.match(bar(1, 103, 106, 102, 104))) == [(slot, 5.0, 103.0)]


def test_buy_stop_touched_fills_at_the_stop() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=STOP, qty=3, stop_price=104.0)
    assert fills(book.match(bar(1, 100, 105, 99, 101))) == [(slot, 3.0, 104.0)]


def test_sell_stop_gapped_through_fills_at_the_worse_open() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=SELL, kind=STOP, qty=3, stop_price=98.0)
    assert fills(book.match(bar(1, 95, 97, 93, 96))) == [(slot, 3.0, 95.0)]


def test_stop_limit_triggers_and_fills_at_the_stop_within_its_limit() -> None:
    book = make_book()
    slot = book.add(
        symbol="XYZ", side=BUY, kind=STOP_LIMIT, qty=2, stop_price=103.0, limit_price=104.0
    )
    assert fills(book.match(bar(1, 100, 106, 99, 105))) == [(slot, 2.0, 103.0)]


def test_stop_limit_gapped_beyond_its_limit_rests_then_fills_as_a_limit() -> None:
    book = make_book()
    slot = book.add(
        symbol="XYZ", side=BUY, kind=STOP_LIMIT, qty=2, stop_price=103.0, limit_price=104.0
    )
    first = book.match(bar(1, 106, 108, 105, 107))
    assert fills(first) == []
    assert book.status[slot] == TRIGGERED
    assert fills(book.match(bar(2, 105, 106, 103.5, 104))) == [(slot, 2.0, 104.0)]


def test_slippage_moves_market_fills_against_the_trader_rounded_to_the_tick() -> None:
    book = make_book()
    buy = book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=1, preset=REALISTIC)
    sell = book.add(symbol="XYZ", side=SELL, kind=MARKET, qty=1, preset=REALISTIC)
    result = book.match(bar(1, 100.0, 101, 99, 100))
    # 5 bps of 100 = 0.05; buys round up to the tick, sells down.
    assert fills(result) == [(buy, 1.0, 100.05), (sell, 1.0, 99.95)]
    assert result.fill_reference.tolist() == [100.0, 100.0]


def test_limit_fills_get_no_slippage_under_realistic() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=LIMIT, qty=1, limit_price=99.5, preset=REALISTIC)
    assert fills(book.match(bar(1, 100, 101, 99, 100))) == [(slot, 1.0, 99.5)]


def test_order_above_the_volume_share_fills_partially_over_several_bars() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=250, preset=REALISTIC)
    # realistic caps each fill at 10% of the bar's volume: 1,000 → 100 units per bar.
    first = book.match(bar(1, 100, 101, 99, 100, volume=1_000))
    assert [q for _, q, _ in fills(first)] == [100.0]
    assert book.status[slot] == WORKING
    assert book.remaining[slot] == 150
    book.match(bar(2, 100, 101, 99, 100, volume=1_000))
    last = book.match(bar(3, 100, 101, 99, 100, volume=1_000))
    assert [q for _, q, _ in fills(last)] == [50.0]
    assert book.status[slot] == FILLED


def test_ioc_cancels_what_does_not_fill_on_its_first_bar() -> None:
    book = make_book()
    partial = book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=250, tif=IOC, preset=REALISTIC)
    untouched = book.add(symbol="XYZ", side=BUY, kind=LIMIT, qty=5, limit_price=90.0, tif=IOC)
    result = book.match(bar(1, 100, 101, 99, 100, volume=1_000))
    assert [(s, q) for s, q, _ in fills(result)] == [(partial, 100.0)]
    assert (partial, EV_IOC_CANCELLED) in events(result)
    assert (untouched, EV_IOC_CANCELLED) in events(result)
    assert book.status[partial] == CANCELLED
    assert book.status[untouched] == CANCELLED


def test_day_order_expires_once_its_day_is_over() -> None:
    book = make_book()
    slot = book.add(
        symbol="XYZ", side=BUY, kind=LIMIT, qty=1, limit_price=90.0, tif=DAY, expire_ns=2 * DAY_NS
    )
    book.match(bar(1, 100, 101, 99, 100))
    assert book.status[slot] == WORKING
    result = book.match(bar(2, 89, 90, 85, 88))  # would fill, but the day has ended
    assert fills(result) == []
    assert events(result) == [(slot, EV_EXPIRED)]
    assert book.status[slot] == EXPIRED


def test_order_waits_for_its_latency_before_it_can_fill() -> None:
    book = make_book()
    slot = book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=1, eligible_ns=2 * DAY_NS)
    assert fills(book.match(bar(1, 100, 101, 99, 100))) == []
    assert fills(book.match(bar(2, 101, 102, 100, 101))) == [(slot, 1.0, 101.0)]


def _bracket(book: OrderBook, qty: float = 10) -> tuple[int, int, int]:
    entry = book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=qty)
    stop_loss = book.add(
        symbol="XYZ", side=SELL, kind=STOP, qty=0, stop_price=95.0, waiting_parent=True
    )
    take_profit = book.add(
        symbol="XYZ", side=SELL, kind=LIMIT, qty=0, limit_price=110.0, waiting_parent=True
    )
    book.link_bracket(entry, stop_loss, take_profit)
    return entry, stop_loss, take_profit


def test_bracket_legs_wait_for_the_entry_then_work_from_the_next_bar() -> None:
    book = make_book()
    entry, stop_loss, take_profit = _bracket(book)
    assert book.status[stop_loss] == WAITING_PARENT
    # The entry bar reaches both exits, but the legs only start on the next bar.
    result = book.match(bar(1, 100, 111, 94, 100))
    assert fills(result) == [(entry, 10.0, 100.0)]
    assert (stop_loss, EV_ACTIVATED) in events(result)
    assert book.remaining[stop_loss] == 10
    assert book.remaining[take_profit] == 10


def test_take_profit_fill_cancels_the_stop_loss() -> None:
    book = make_book()
    entry, stop_loss, take_profit = _bracket(book)
    book.match(bar(1, 100, 101, 99, 100))
    result = book.match(bar(2, 105, 112, 104, 111))
    assert fills(result) == [(take_profit, 10.0, 110.0)]
    assert events(result) == [(stop_loss, EV_OCO_CANCELLED)]
    assert book.status[stop_loss] == CANCELLED
    assert book.status[entry] == FILLED


def test_when_both_legs_are_touched_in_one_bar_the_stop_loss_wins() -> None:
    book = make_book()
    _, stop_loss, take_profit = _bracket(book)
    book.match(bar(1, 100, 101, 99, 100))
    result = book.match(bar(2, 100, 111, 94, 100))
    assert fills(result) == [(stop_loss, 10.0, 95.0)]
    assert book.status[take_profit] == CANCELLED


def test_a_leg_the_open_gapped_through_comes_first() -> None:
    book = make_book()
    _, stop_loss, take_profit = _bracket(book)
    book.match(bar(1, 100, 101, 99, 100))
    result = book.match(bar(2, 112, 113, 94, 100))  # opens above the target, then falls
    assert fills(result) == [(take_profit, 10.0, 112.0)]
    assert book.status[stop_loss] == CANCELLED


def test_partial_leg_fill_shrinks_its_sibling_without_cancelling_it() -> None:
    book = make_book()
    _, stop_loss, take_profit = _bracket(book, qty=300)
    book.match(bar(1, 100, 101, 99, 100))
    book.preset[take_profit] = REALISTIC
    result = book.match(bar(2, 105, 112, 104, 111, volume=1_000))
    assert fills(result) == [(take_profit, 100.0, 110.0)]
    assert book.remaining[stop_loss] == 200
    assert book.status[stop_loss] == WORKING


def test_harsh_rejections_are_the_same_on_every_replay() -> None:
    def run() -> list[int]:
        book = make_book()
        slots = [
            book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=1, preset=HARSH, key=k * 7919)
            for k in range(400)
        ]
        book.match(bar(1, 100, 101, 99, 100, volume=1e9))
        return [s for s in slots if book.status[s] == REJECTED]

    rejected = run()
    assert rejected == run()
    # 5% of 400 orders, give or take the hash's luck.
    assert 5 <= len(rejected) <= 40


def test_rejection_is_reported_as_an_event() -> None:
    book = make_book()
    for k in range(200):
        book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=1, preset=HARSH, key=k)
    result = book.match(bar(1, 100, 101, 99, 100))
    rejected = {s for s, c in events(result) if c == EV_REJECTED}
    assert rejected == {s for s in range(200) if book.status[s] == REJECTED}
    assert result.fills == 200 - len(rejected)


def test_symbol_without_a_bar_in_the_tick_is_left_alone() -> None:
    book = OrderBook(["AAA", "BBB"], [0.01, 0.01], [1.0, 1.0])
    a = book.add(symbol="AAA", side=BUY, kind=MARKET, qty=1)
    b = book.add(symbol="BBB", side=BUY, kind=MARKET, qty=1)
    tick = Tick(
        seq=1,
        ts_ns=DAY_NS,
        has_bar=np.array([1, 0], dtype=np.int8),
        open=np.array([10.0, np.nan]),
        high=np.array([11.0, np.nan]),
        low=np.array([9.0, np.nan]),
        close=np.array([10.0, np.nan]),
        volume=np.array([1e6, np.nan]),
    )
    assert [s for s, _, _ in fills(book.match(tick))] == [a]
    assert book.status[b] == WORKING


def test_book_grows_and_reuses_released_slots() -> None:
    book = make_book()
    slots = [book.add(symbol="XYZ", side=BUY, kind=MARKET, qty=1) for _ in range(1500)]
    assert book.capacity >= 1500
    book.match(bar(1, 100, 101, 99, 100))
    book.release(slots[3])
    assert book.add(symbol="XYZ", side=SELL, kind=MARKET, qty=2) == slots[3]


@pytest.mark.parametrize("preset", [FRICTIONLESS, REALISTIC, HARSH])
def test_every_fill_is_inside_the_bar_or_at_a_slipped_open(preset: int) -> None:
    rng = np.random.default_rng(preset)
    book = make_book()
    for k in range(300):
        kind = int(rng.integers(0, 4))
        price = round(float(100 + rng.normal(0, 3)), 2)
        book.add(
            symbol="XYZ",
            side=int(rng.choice([BUY, SELL])),
            kind=kind,
            qty=float(rng.integers(1, 50)),
            limit_price=price if kind in (LIMIT, STOP_LIMIT) else np.nan,
            stop_price=price if kind in (STOP, STOP_LIMIT) else np.nan,
            preset=preset,
            key=k,
        )
    result = book.match(bar(1, 100, 104, 96, 101, volume=1e5))
    slip = 1 + book.slippage_bps[preset] / 10_000 + 1e-9
    assert result.fills > 0
    assert np.all(result.fill_price <= 104 * slip)
    assert np.all(result.fill_price >= 96 / slip)
