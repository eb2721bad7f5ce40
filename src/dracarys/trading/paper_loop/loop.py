"""The paper-trading loop: one process per market feed holds every open order of
every paper account in `engine.matching`'s struct-of-arrays book, matches the whole book
on each tick with one kernel call, then persists the tick — fills, orders, positions,
cash, equity marks, signal outcomes, outbox events and the feed position — in ONE
transaction, and only then publishes order updates, fills and equity ticks.

Restart safety: the feed position (`market_feed_state.last_seq`) commits with the tick's
fills, so a restarted engine rebuilds its book from the database and resumes at the next
tick: nothing is lost, nothing is filled twice. Fill ids are derived from (order id, bar
sequence) and unique in the database besides, so even a replayed tick cannot double a
fill. If an order changed under the engine during a tick (its owner cancelled it), the
transaction is abandoned, the book reloaded and the tick matched again."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np
import structlog

from dracarys.db import Connection, transaction
from dracarys.money import to_minor
from dracarys.outbox import emit_events
from dracarys.platform import Platform
from dracarys.trading import performance
from dracarys.trading.brokers.routing import expire_routed_copies
from dracarys.trading.events import PaperOrderFilled
from dracarys.trading.instruments import store as instrument_store
from dracarys.trading.models import (
    OPEN_STATUSES,
    BarFrame,
    EquityFrame,
    Fill,
    FillFrame,
    Order,
    OrderFrame,
)
from dracarys.trading.paper_loop import store as loop_store
from dracarys.trading.paper_loop.models import BookOrder
from dracarys.trading.paper_loop.positions import apply_fills
from dracarys.trading.signals.service import settle_outcomes
from engine.feeds import MarketFeed
from engine.matching import (
    BUY,
    EV_EXPIRED,
    EV_IOC_CANCELLED,
    EV_OCO_CANCELLED,
    EV_REJECTED,
    NO_EXPIRY,
    ORDER_KIND_NAMES,
    PRESET_INDEX,
    SELL,
    STATUS_NAMES,
    TIF_NAMES,
    OrderBook,
    Tick,
)
from streams import channels

log = structlog.get_logger("dracarys.trading.paper_loop")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FILL_NAMESPACE = uuid.UUID("8c1f5d0e-3b7a-4f7e-9d51-6f0c2a4e7b10")
_KIND = {name: k for k, name in enumerate(ORDER_KIND_NAMES)}
_TIF = {name: k for k, name in enumerate(TIF_NAMES)}
_REASONS = {
    EV_EXPIRED: "the trading day ended",
    EV_IOC_CANCELLED: "immediate-or-cancel: the rest did not fill on its first bar",
    EV_OCO_CANCELLED: "the other bracket leg filled",
    EV_REJECTED: "rejected by the simulated venue (harsh preset)",
}
_DAY_NS = 86_400 * 10**9
_UNSET_DAY = -1


def to_ns(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1000)


def fill_id(order_id: uuid.UUID, seq: int) -> uuid.UUID:
    return uuid.uuid5(FILL_NAMESPACE, f"{order_id}:{seq}")


class _OrderChanged(Exception):
    """An order the tick touched changed in the database meanwhile: match again."""


@dataclass(slots=True)
class _Meta:
    id: uuid.UUID
    portfolio_id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    epoch: int
    symbol: str
    side: str
    role: str
    preset: str
    parent_id: uuid.UUID | None
    signal_id: uuid.UUID | None


@dataclass(slots=True)
class TickReport:
    seq: int
    fills: list[Fill] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    skipped: bool = False


class PaperTradingEngine:
    def __init__(self, platform: Platform, feed: MarketFeed, *, marks_equity: bool = True) -> None:
        """`marks_equity`: this engine records every traded portfolio's equity on each of
        its ticks and publishes the leaderboards. One engine of a process does; the
        others only match (equity marks are keyed by the marking feed's bar numbers, and
        value positions of other feeds at those feeds' last closes)."""
        self.platform = platform
        self.feed = feed
        self.marks_equity = marks_equity
        self.last_seq = 0
        self.ticks = 0
        self._equity: list[tuple[uuid.UUID, int]] = []
        self._new_book()

    def _new_book(self) -> None:
        self.book = OrderBook(self.feed.symbols, self.feed.tick_size, self.feed.qty_step)
        self.slots: dict[uuid.UUID, int] = {}
        self.meta: dict[int, _Meta] = {}
        self.horizon = 0

    async def start(self) -> None:
        async with transaction(self.platform.pool) as conn:
            for k, symbol in enumerate(self.feed.symbols):
                existing = await instrument_store.get_instrument(conn, symbol)
                if existing is None:
                    await instrument_store.upsert_instrument(
                        conn,
                        symbol=symbol,
                        feed=self.feed.name,
                        tick_size=self.feed.tick_size[k],
                        qty_step=self.feed.qty_step[k],
                        min_qty=self.feed.qty_step[k],
                    )
                    continue
                if existing.feed != self.feed.name:
                    await instrument_store.assign_feed(conn, symbol, self.feed.name)
                # The registry is the one word on ticks and lots: the book matches by it.
                self.feed.tick_size[k] = existing.tick_size
                self.feed.qty_step[k] = existing.qty_step
            state = await loop_store.feed_state(conn, self.feed.name)
            self.last_seq = state.last_seq if state is not None else 0
            await self._reload(conn)

    async def _reload(self, conn: Connection) -> None:
        self._new_book()
        self.horizon = await loop_store.snapshot_horizon(conn)
        self._add_orders(await loop_store.book_orders(conn, self.feed.symbols, None))

    def _add_orders(self, orders: list[BookOrder]) -> None:
        added: list[BookOrder] = []
        for order in orders:
            if order.status not in OPEN_STATUSES or order.id in self.slots:
                continue
            if order.role in ("stop_loss", "take_profit"):
                remaining = (order.parent_filled or 0.0) - order.filled_qty
                remaining -= order.sibling_filled or 0.0
            else:
                remaining = order.qty - order.filled_qty
            day_end = order.day_ends_at
            expire = to_ns(day_end) if day_end is not None else NO_EXPIRY
            if order.tif == "day" and day_end is None:
                expire = _UNSET_DAY
            slot = self.book.add(
                symbol=order.symbol,
                side=BUY if order.side == "buy" else SELL,
                kind=_KIND[order.kind],
                qty=max(remaining, 0.0),
                limit_price=order.limit_price if order.limit_price is not None else np.nan,
                stop_price=order.stop_price if order.stop_price is not None else np.nan,
                tif=_TIF[order.tif],
                preset=PRESET_INDEX[order.preset],
                eligible_ns=to_ns(order.eligible_at) if order.eligible_at is not None else 0,
                expire_ns=expire,
                key=order.id.int,
                status=STATUS_NAMES.index(order.status),
            )
            self.slots[order.id] = slot
            self.meta[slot] = _Meta(
                id=order.id,
                portfolio_id=order.portfolio_id,
                user_id=order.user_id,
                currency=order.currency,
                epoch=order.epoch,
                symbol=order.symbol,
                side=order.side,
                role=order.role,
                preset=order.preset,
                parent_id=order.parent_id,
                signal_id=order.signal_id,
            )
            added.append(order)
        legs: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for order in added:
            if order.parent_id is not None and order.role in ("stop_loss", "take_profit"):
                legs[order.parent_id][order.role] = self.slots[order.id]
        for parent_id, pair in legs.items():
            stop_loss, take_profit = pair.get("stop_loss"), pair.get("take_profit")
            parent = self.slots.get(parent_id)
            if parent is not None:
                self.book.link_bracket(parent, stop_loss, take_profit)
            elif stop_loss is not None and take_profit is not None:
                self.book.sibling[stop_loss] = take_profit
                self.book.sibling[take_profit] = stop_loss

    def _drop(self, slot: int) -> None:
        meta = self.meta.pop(slot)
        del self.slots[meta.id]
        book = self.book
        other = int(book.sibling[slot])
        if other >= 0 and book.sibling[other] == slot:
            book.sibling[other] = -1
        if meta.parent_id is not None:
            parent = self.slots.get(meta.parent_id)
            if parent is not None:
                if book.child_stop[parent] == slot:
                    book.child_stop[parent] = -1
                if book.child_take[parent] == slot:
                    book.child_take[parent] = -1
        book.release(slot)

    async def _sync(self, conn: Connection) -> list[Order]:
        """Take in what changed since the last tick: new orders, cancellations, expiries."""
        now = self.platform.clock.now()
        expired = await loop_store.expire_due_orders(conn, self.feed.symbols, now)
        expired += await loop_store.cancel_unfilled_legs(conn, [o.id for o in expired], now)
        # Copies of the expired signals routed to members' brokers: cancelled there, once.
        expired += await expire_routed_copies(conn, self.platform, self.feed.symbols, now)
        horizon = await loop_store.snapshot_horizon(conn)
        changed = await loop_store.book_orders(conn, self.feed.symbols, self.horizon)
        self.horizon = horizon
        for order in changed:
            slot = self.slots.get(order.id)
            if slot is not None and order.status not in OPEN_STATUSES:
                self._drop(slot)
        self._add_orders(changed)
        return expired

    async def step(self, tick: Tick) -> TickReport:
        """Process one tick, exactly once across restarts."""
        if tick.seq <= self.last_seq:
            return TickReport(seq=tick.seq, skipped=True)
        for _ in range(5):
            try:
                report, expired = await self._step_once(tick)
                break
            except _OrderChanged:
                async with self.platform.pool.acquire() as conn:
                    await self._reload(conn)
            except BaseException:
                # The transaction rolled back; the book may have moved: rebuild it.
                async with self.platform.pool.acquire() as conn:
                    await self._reload(conn)
                raise
        else:
            raise RuntimeError(f"tick {tick.seq}: orders kept changing under the engine")
        self.last_seq = tick.seq
        self.ticks += 1
        await self._publish(tick, report, expired)
        every = self.platform.settings.trading_leaderboard_every_ticks
        if self.marks_equity and self.ticks % every == 0:
            await performance.publish_leaderboards(self.platform)
        return report

    async def _step_once(self, tick: Tick) -> tuple[TickReport, list[Order]]:
        now = self.platform.clock.now()
        market_time = from_ns(tick.ts_ns)
        report = TickReport(seq=tick.seq)
        async with transaction(self.platform.pool) as conn:
            expired = await self._sync(conn)
            await settle_outcomes(conn, expired, now)
            unset = np.nonzero(self.book.expire_ns[: self.book.size] == _UNSET_DAY)[0]
            if unset.size:
                day_end = (tick.ts_ns // _DAY_NS + 1) * _DAY_NS
                self.book.expire_ns[unset] = day_end
                ids = [self.meta[int(s)].id for s in unset if int(s) in self.meta]
                await loop_store.set_day_end(conn, ids, from_ns(day_end))
            result = self.book.match(tick)
            touched = {int(s) for s in result.fill_slot} | {int(s) for s in result.event_slot}
            fills_of: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
            for k in range(result.fills):
                fills_of[int(result.fill_slot[k])].append(
                    (
                        float(result.fill_qty[k]),
                        float(result.fill_price[k]),
                        float(result.fill_reference[k]),
                    )
                )
            # Bracket legs whose entry filled change quantity with it.
            for slot in list(fills_of):
                for child in (int(self.book.child_stop[slot]), int(self.book.child_take[slot])):
                    if child >= 0:
                        touched.add(child)
            if touched:
                await self._persist(
                    conn,
                    tick,
                    now,
                    market_time,
                    touched,
                    fills_of,
                    result.event_slot.tolist(),
                    result.event_code.tolist(),
                    report,
                )
            marks = (
                await self._mark_equity(conn, tick, market_time, now) if self.marks_equity else []
            )
            await loop_store.save_feed_state(
                conn, self.feed.name, tick.seq, market_time, self._closes(tick), now
            )
        self._equity = marks
        for slot in sorted(touched) if touched else ():
            if slot in self.meta and not self.book.is_open(slot):
                self._drop(slot)
        return report, expired

    async def _mark_equity(
        self, conn: Connection, tick: Tick, market_time: datetime, now: datetime
    ) -> list[tuple[uuid.UUID, int]]:
        """Every traded portfolio's equity at the bar's closes, in its own minor units."""
        values = await loop_store.traded_portfolio_values(conn, self._closes(tick))
        marks = [
            (v.id, v.epoch, v.cash_minor + to_minor(v.market_value, v.currency)) for v in values
        ]
        return await loop_store.record_equity(conn, tick.seq, market_time, marks, now)

    def _closes(self, tick: Tick) -> dict[str, float]:
        return {
            symbol: float(tick.close[k])
            for k, symbol in enumerate(self.feed.symbols)
            if tick.has_bar[k]
        }

    async def _persist(
        self,
        conn: Connection,
        tick: Tick,
        now: datetime,
        market_time: datetime,
        touched: set[int],
        fills_of: dict[int, list[tuple[float, float, float]]],
        event_slots: list[int],
        event_codes: list[int],
        report: TickReport,
    ) -> None:
        metas = {slot: self.meta[slot] for slot in touched}
        locked = await loop_store.lock_orders(conn, [m.id for m in metas.values()])
        for meta in metas.values():
            held = locked.get(meta.id)
            if held is None or held.status not in OPEN_STATUSES:
                raise _OrderChanged(str(meta.id))
        event_reason: dict[int, str] = {}
        for s, c in zip(event_slots, event_codes, strict=True):
            if c in _REASONS:
                event_reason[s] = _REASONS[c]
        fill_rows: list[dict[str, Any]] = []
        new_filled: dict[int, float] = {}
        changes: list[tuple[Any, ...]] = []
        # Entries before their legs: a leg's quantity follows its entry's fills.
        for slot in sorted(touched, key=lambda s: (metas[s].role != "entry", s)):
            meta = metas[slot]
            current = locked[meta.id]
            filled = current.filled_qty
            avg = current.avg_fill_price if current.avg_fill_price is not None else 0.0
            for qty, price, reference in fills_of.get(slot, ()):
                avg = (avg * filled + price * qty) / (filled + qty)
                filled += qty
                direction = 1.0 if meta.side == "buy" else -1.0
                fill_rows.append(
                    {
                        "id": fill_id(meta.id, tick.seq),
                        "order_id": meta.id,
                        "portfolio_id": meta.portfolio_id,
                        "epoch": meta.epoch,
                        "symbol": meta.symbol,
                        "side": meta.side,
                        "qty": qty,
                        "price": price,
                        "reference_price": reference,
                        "slippage_bps": round((price / reference - 1.0) * 10_000 * direction, 4),
                        "preset": meta.preset,
                        "feed": self.feed.name,
                        "bar_seq": tick.seq,
                        "market_time": market_time,
                        "filled_at": now,
                    }
                )
            new_filled[slot] = filled
            qty_total = current.qty
            if meta.role in ("stop_loss", "take_profit") and meta.parent_id is not None:
                # A leg's quantity is what its entry has filled so far.
                parent_slot = self.slots.get(meta.parent_id)
                if parent_slot is not None and parent_slot in new_filled:
                    qty_total = new_filled[parent_slot]
            status = STATUS_NAMES[int(self.book.status[slot])]
            reason = event_reason.get(slot)
            changes.append(
                (meta.id, status, filled, avg if filled > 0 else None, qty_total, reason, now)
            )
        fills = await loop_store.insert_fills(conn, fill_rows)
        currencies = {m.portfolio_id: m.currency for m in metas.values()}
        await apply_fills(conn, fills, currencies, now)
        orders = await loop_store.apply_order_changes(conn, changes)
        ended_unfilled = [
            o.id
            for o in orders
            if o.role == "entry" and o.status not in OPEN_STATUSES and o.filled_qty == 0
        ]
        if ended_unfilled:
            orders += await loop_store.cancel_unfilled_legs(conn, ended_unfilled, now)
        if fills:
            by_order = {m.id: m for m in metas.values()}
            await emit_events(conn, [_filled_event(f, by_order[f.order_id]) for f in fills])
        await settle_outcomes(conn, orders, now)
        report.fills = fills
        report.orders = orders

    async def _publish(self, tick: Tick, report: TickReport, expired: list[Order]) -> None:
        hub = self.platform.streams
        market_time = from_ns(tick.ts_ns)
        for k, symbol in enumerate(self.feed.symbols):
            if tick.has_bar[k]:
                await hub.publish(
                    channels.market(symbol),
                    BarFrame(
                        symbol=symbol,
                        seq=tick.seq,
                        market_time=market_time,
                        open=float(tick.open[k]),
                        high=float(tick.high[k]),
                        low=float(tick.low[k]),
                        close=float(tick.close[k]),
                        volume=float(tick.volume[k]),
                    ),
                )
        for order in [*expired, *report.orders]:
            await hub.publish(channels.portfolio(order.portfolio_id), OrderFrame(**_fields(order)))
        for fill in report.fills:
            await hub.publish(channels.portfolio(fill.portfolio_id), FillFrame(**_fields(fill)))
        for portfolio_id, equity_minor in self._equity:
            await hub.publish(
                channels.portfolio(portfolio_id),
                EquityFrame(
                    portfolio_id=portfolio_id,
                    bar_seq=tick.seq,
                    market_time=market_time,
                    equity_minor=equity_minor,
                ),
            )

    async def run(self) -> None:
        """Start from the database and follow the feed until cancelled. Cancelled during
        a tick, it finishes that tick (persisted and published) before stopping; a second
        cancellation abandons it: its transaction rolls back and a restart replays it."""
        await self.start()
        async for tick in self.feed.ticks(self.last_seq):
            current = asyncio.ensure_future(self._step_until_done(tick))
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                await current
                raise

    async def _step_until_done(self, tick: Tick) -> None:
        """A tick that fails (database unavailable) is retried after a pause, never
        skipped."""
        while True:
            try:
                await self.step(tick)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("paper_engine_retry", seq=tick.seq, error=repr(exc))
                await asyncio.sleep(1.0)


def _fields(struct: Any) -> dict[str, Any]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}


def _filled_event(fill: Fill, meta: _Meta) -> PaperOrderFilled:
    return PaperOrderFilled(
        fill_id=str(fill.id),
        order_id=str(fill.order_id),
        portfolio_id=str(fill.portfolio_id),
        user_id=str(meta.user_id),
        symbol=fill.symbol,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        preset=fill.preset,
        signal_id=str(meta.signal_id) if meta.signal_id else None,
    )
