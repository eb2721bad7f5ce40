"""Mentor signals: the hash chain, publishing (with its paper trade on the mentor's signal
book), corrections, how each signal ended, the verified track record, and mirroring a
signal into subscribers' portfolios.

A signal is appended to its mentor's hash chain (`hash = sha256(prev_hash ‖ canonical
JSON of the signal)`, the time set by the server), never changed: a correction is a new
signal naming the one it corrects, which stops the original on the signal book. Every
signal is paper-traded on the mentor's own signal book under the `realistic` preset;
how each one ended (`signal_outcomes`) is the track record. Subscribers who mirror get a
scaled copy in their chosen portfolio, placed by the `trading.mirror` outbox consumer
(or, opted in at KYC level 2, routed to their own broker: `trading.brokers`);
a copy below the instrument's minimum size is skipped with the reason recorded."""

from __future__ import annotations

import hashlib
import math
import statistics
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role, account_of
from dracarys.money import to_minor
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.trading import performance, service, store
from dracarys.trading.brokers.routing import route_order, routing_link, withdraw_routed_copies
from dracarys.trading.instruments.service import require_instrument
from dracarys.trading.models import (
    BracketLegs,
    Order,
    OrderInput,
    OrderKind,
    PlacedOrder,
    Portfolio,
    Side,
    TimeInForce,
)
from dracarys.trading.signals import store as signal_store
from dracarys.trading.signals.events import (
    SignalClosed,
    SignalPublished,
)
from dracarys.trading.signals.models import (
    AlertLatency,
    ChainVerification,
    ClosedSignal,
    Mirror,
    Scaling,
    Signal,
    SignalFrame,
    SignalInput,
    SignalList,
    SignalOutcome,
    Subscription,
    TrackRecord,
    TrackRecordCurve,
)
from dracarys.trading.signals.subscriptions import may_watch_signals
from streams import channels

SIGNAL_BOOK_CURRENCY = "USD"
SIGNAL_BOOK_CASH_MINOR = to_minor(100_000, SIGNAL_BOOK_CURRENCY)
SIGNAL_BOOK_PRESET = "realistic"


async def is_mentor(conn: Connection, user_id: uuid.UUID) -> bool:
    account = await account_of(conn, user_id)
    return account is not None and account.role is Role.MENTOR


# --- the chain ----------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _price(value: Any) -> float | None:
    return None if value is None else round(float(value), 10)


def canonical(fields: dict[str, Any]) -> bytes:
    """The signal's content as hashed: sorted keys, prices as stored, times in UTC."""
    body = {
        "mentor_id": str(fields["mentor_id"]),
        "chain_seq": int(fields["chain_seq"]),
        "symbol": fields["symbol"],
        "side": fields["side"],
        "order_type": fields["order_type"],
        "entry_price": _price(fields["entry_price"]),
        "stop_loss": _price(fields["stop_loss"]),
        "take_profit": _price(fields["take_profit"]),
        "size_hint_pct": _price(fields["size_hint_pct"]),
        "rationale": fields["rationale"],
        "expires_at": _iso(fields["expires_at"]),
        "corrects_id": None if fields["corrects_id"] is None else str(fields["corrects_id"]),
        "created_at": _iso(fields["created_at"]),
    }
    return msgspec.json.encode(dict(sorted(body.items())))


def chain_hash(prev_hash: bytes | None, fields: dict[str, Any]) -> bytes:
    return hashlib.sha256((prev_hash or b"") + canonical(fields)).digest()


async def verify_chain(platform: Platform, mentor_id: uuid.UUID) -> ChainVerification:
    """Recompute the mentor's chain from the stored signals: the first link that does not
    hold is named."""
    async with platform.pool.acquire() as conn:
        chain = await signal_store.signal_chain(conn, mentor_id)
    previous: bytes | None = None
    for expected_seq, link in enumerate(chain, start=1):
        if (
            link.chain_seq != expected_seq
            or link.prev_hash != previous
            or chain_hash(previous, msgspec.structs.asdict(link)) != link.hash
        ):
            return ChainVerification(
                mentor_id=mentor_id, signals=len(chain), valid=False, first_broken_seq=expected_seq
            )
        previous = link.hash
    return ChainVerification(
        mentor_id=mentor_id, signals=len(chain), valid=True, first_broken_seq=None
    )


# --- reading a mentor's signals -----------------------------------------------------


async def _ensure_may_watch(conn: Connection, user: CurrentUser, mentor_id: uuid.UUID) -> None:
    if not (
        user.id == mentor_id or user.is_staff or await may_watch_signals(conn, [user.id], mentor_id)
    ):
        raise Forbidden("this mentor's signals are for their active subscribers")


async def list_signals(
    platform: Platform, user: CurrentUser, mentor_id: uuid.UUID, limit: int
) -> SignalList:
    async with platform.pool.acquire() as conn:
        await _ensure_may_watch(conn, user, mentor_id)
        return SignalList(signals=await signal_store.list_signals(conn, mentor_id, limit))


async def signal_outcomes(
    platform: Platform, user: CurrentUser, mentor_id: uuid.UUID
) -> list[SignalOutcome]:
    """How the signal book closed each signal: entry and exit prices are as private as
    the signals themselves."""
    async with platform.pool.acquire() as conn:
        await _ensure_may_watch(conn, user, mentor_id)
        return await signal_store.outcomes(conn, mentor_id)


async def closed_signal(conn: Connection, signal_id: uuid.UUID) -> ClosedSignal | None:
    """A signal once its book has closed it, with only what may be shown to anyone (see
    `ClosedSignal`); None while it is open, or when it expired or was superseded."""
    return await signal_store.closed_signal(conn, signal_id)


# --- signal book ---------------------------------------------------------------------


async def ensure_signal_book(conn: Connection, mentor_id: uuid.UUID, now: datetime) -> Portfolio:
    book = await store.signal_book(conn, mentor_id)
    if book is not None:
        return book
    await xact_lock(conn, "trading.signal_book", mentor_id)
    book = await store.signal_book(conn, mentor_id)
    if book is not None:
        return book
    return await store.insert_portfolio(
        conn,
        portfolio_id=uuid.uuid4(),
        user_id=mentor_id,
        name="Signal book",
        kind="signal_book",
        currency=SIGNAL_BOOK_CURRENCY,
        starting_cash_minor=SIGNAL_BOOK_CASH_MINOR,
        preset=SIGNAL_BOOK_PRESET,
        max_position_pct=100.0,
        now=now,
    )


async def _equity(conn: Connection, portfolio: Portfolio) -> float:
    """The portfolio's equity in major units of its currency (what sizes are scaled by)."""
    equity_minor = service.equity_minor(portfolio, await store.marked_positions(conn, portfolio.id))
    return service.as_major(equity_minor, portfolio)


def _floor_to_step(qty: float, step: float) -> float:
    return math.floor(qty / step + 1e-9) * step


async def _retire_original(
    conn: Connection, platform: Platform, original: Signal, book: Portfolio, now: datetime
) -> list[Order]:
    """Stop a corrected signal: on the signal book cancel what has not filled and close
    what has at market (or record it superseded when nothing filled); in subscribers'
    portfolios cancel the copies that have not filled, but leave the stop-loss and
    take-profit protecting a copy that has; withdraw unfilled copies routed to brokers."""
    open_orders = await store.open_orders_of_signal(conn, original.id)
    stale = [
        o.id
        for o in open_orders
        if o.portfolio_id == book.id
        or o.status == "waiting_parent"
        or (o.role == "entry" and o.filled_qty == 0)
    ]
    changed = await store.close_orders(conn, stale, "cancelled", "signal corrected", now)
    changed += await withdraw_routed_copies(conn, platform, original.id, "signal corrected")
    orders = await store.orders_of_signal(conn, original.id, book.id)
    entered = sum(o.filled_qty for o in orders if o.role == "entry")
    exited = sum(o.filled_qty for o in orders if o.role != "entry")
    net = entered - exited
    if entered <= 0:
        await signal_store.insert_outcome(
            conn,
            signal_id=original.id,
            mentor_id=original.mentor_id,
            outcome="superseded",
            closed_at=now,
        )
        return changed
    if net > 1e-9:
        exit_order = await store.insert_order(
            conn,
            id=uuid.uuid4(),
            portfolio_id=book.id,
            epoch=book.epoch,
            symbol=original.symbol,
            side="sell" if original.side == "buy" else "buy",
            kind="market",
            role="exit",
            qty=net,
            tif="gtc",
            preset=book.preset,
            status="working",
            signal_id=original.id,
            created_at=now,
            updated_at=now,
        )
        changed.append(exit_order)
    return changed


def _check_signal_prices(body: SignalInput, reference: float) -> None:
    if body.order_type != "market" and body.entry_price is None:
        raise InvalidInput(
            f"entry_price is required for {body.order_type} signals", field="entry_price"
        )
    below, above = (
        ("stop_loss", "take_profit") if body.side is Side.BUY else ("take_profit", "stop_loss")
    )
    low, high = getattr(body, below), getattr(body, above)
    if low is not None and low >= reference:
        raise InvalidInput(
            f"{below} must be below the entry ({reference}) for a {body.side.value}", field=below
        )
    if high is not None and high <= reference:
        raise InvalidInput(
            f"{above} must be above the entry ({reference}) for a {body.side.value}", field=above
        )


async def publish_signal(platform: Platform, mentor: CurrentUser, body: SignalInput) -> Signal:
    """Append the signal to the mentor's chain and trade it on the signal book; once that
    has committed, the signal goes out on the mentor's feed and the book's orders on
    its portfolio stream."""
    async with transaction(platform.pool) as conn:
        signal, orders = await append_signal(conn, platform, mentor, body)
    await announce_signal(platform, signal, orders)
    return signal


async def announce_signal(platform: Platform, signal: Signal, orders: list[Order]) -> None:
    """Once `append_signal`'s transaction has committed: the signal goes out on the
    mentor's feed and the signal book's orders on its portfolio stream."""
    frame = SignalFrame(**msgspec.structs.asdict(signal))
    await platform.streams.publish(channels.signals(signal.mentor_id), frame)
    await service.publish_orders(platform, orders)


async def append_signal(
    conn: Connection, platform: Platform, mentor: CurrentUser, body: SignalInput
) -> tuple[Signal, list[Order]]:
    """Publishing inside the caller's transaction (the demo seeds this way); → the signal
    and the signal book's orders it changed."""
    now = platform.clock.now()
    instrument = await require_instrument(conn, body.symbol)
    last = await store.last_close(conn, body.symbol)
    reference = body.entry_price if body.order_type != "market" else (last.price if last else None)
    if reference is None:
        reference = body.entry_price
    if reference is None:
        raise Conflict(f"{body.symbol} has no price yet; give an entry_price or wait for the feed")
    _check_signal_prices(body, reference)
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidInput("expires_at must be in the future", field="expires_at")

    await xact_lock(conn, "trading.signal_chain", mentor.id)  # one append at a time
    head = await signal_store.chain_head(conn, mentor.id)
    original: Signal | None = None
    if body.corrects_id is not None:
        original = await signal_store.get_signal(conn, body.corrects_id)
        if original is None or original.mentor_id != mentor.id:
            raise InvalidInput("corrects_id must be one of your own signals", field="corrects_id")
        if await signal_store.is_corrected(conn, original.id):
            raise Conflict("that signal was already corrected; correct the correction instead")
    if head is not None and head.created_at > now:
        raise Conflict("the signal chain's head is dated in the future; check the server clock")
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "mentor_id": mentor.id,
        "chain_seq": 1 if head is None else head.chain_seq + 1,
        "symbol": body.symbol,
        "side": body.side.value,
        "order_type": body.order_type,
        "entry_price": _price(body.entry_price),
        "stop_loss": _price(body.stop_loss),
        "take_profit": _price(body.take_profit),
        "size_hint_pct": _price(body.size_hint_pct),
        "rationale": body.rationale,
        "expires_at": body.expires_at,
        "corrects_id": body.corrects_id,
        "created_at": now,
        "prev_hash": None if head is None else head.hash,
    }
    fields["hash"] = chain_hash(fields["prev_hash"], fields)
    signal = await signal_store.insert_signal(conn, **fields)

    book = await ensure_signal_book(conn, mentor.id, now)
    book = await store.get_portfolio(conn, book.id, lock=True) or book
    changed: list[Order] = []
    if original is not None:
        changed += await _retire_original(conn, platform, original, book, now)
    equity = await _equity(conn, book)
    qty = _floor_to_step(equity * body.size_hint_pct / 100 / reference, instrument.qty_step)
    if qty >= instrument.min_qty:
        placed = await service.place_order(
            conn,
            platform,
            book,
            _order_for(signal, qty),
            signal_id=signal.id,
            expires_at=signal.expires_at,
            check_limits=False,
        )
        changed += [placed.order, *placed.legs]
    published = SignalPublished(
        signal_id=str(signal.id),
        mentor_id=str(mentor.id),
        symbol=signal.symbol,
        side=signal.side,
        corrects_id=str(signal.corrects_id) if signal.corrects_id else None,
    )
    await emit_event(conn, published)
    return signal, changed


def _order_for(signal: Signal, qty: float) -> OrderInput:
    """The signal as an order of `qty`, with its stop-loss and take-profit as bracket
    legs (a copy routed to a broker goes there as the broker's bracket order)."""
    kind = OrderKind(signal.order_type)
    legs = (
        BracketLegs(stop_loss=signal.stop_loss, take_profit=signal.take_profit)
        if signal.stop_loss is not None or signal.take_profit is not None
        else None
    )
    return OrderInput(
        symbol=signal.symbol,
        side=Side(signal.side),
        kind=kind,
        qty=qty,
        limit_price=signal.entry_price if kind is OrderKind.LIMIT else None,
        stop_price=signal.entry_price if kind is OrderKind.STOP else None,
        tif=TimeInForce.GTC,
        bracket=legs,
    )


# --- outcomes (called by the paper loop inside its tick transaction) ----------------


async def settle_outcomes(conn: Connection, orders: list[Order], now: datetime) -> None:
    """Record how signals ended whose signal-book orders just finished."""
    candidates = {
        o.signal_id
        for o in orders
        if o.signal_id is not None
        and (
            (o.role != "entry" and o.status == "filled")
            or (o.role == "entry" and o.status in ("expired", "cancelled", "rejected"))
        )
    }
    for signal_id in sorted(candidates):
        signal = await signal_store.get_signal(conn, signal_id)
        if signal is None:
            continue
        book = await store.signal_book(conn, signal.mentor_id)
        if book is None:
            continue
        mine = await store.orders_of_signal(conn, signal_id, book.id)
        if not any(o.id in {c.id for c in orders} for o in mine):
            continue
        entries = [o for o in mine if o.role == "entry"]
        exits = [o for o in mine if o.role != "entry"]
        entered = sum(o.filled_qty for o in entries)
        exited = sum(o.filled_qty for o in exits)
        if entered <= 0:
            if all(o.status in ("expired", "cancelled", "rejected") for o in entries):
                await _close(conn, signal, now, outcome="expired")
            continue
        if entered - exited > 1e-9:
            continue  # still (partly) open
        fills = await store.fills_of_orders(conn, [o.id for o in mine])
        entry_ids = {o.id for o in entries}
        entry_fills = [f for f in fills if f.order_id in entry_ids]
        exit_fills = [f for f in fills if f.order_id not in entry_ids]
        entry_avg = sum(f.qty * f.price for f in entry_fills) / entered
        exit_avg = sum(f.qty * f.price for f in exit_fills) / exited
        direction = 1.0 if signal.side == "buy" else -1.0
        risk = abs(entry_avg - signal.stop_loss) if signal.stop_loss is not None else 0.0
        first_fill = min(entry_fills, key=lambda f: (f.filled_at, f.bar_seq))
        intended = (
            signal.entry_price if signal.entry_price is not None else first_fill.reference_price
        )
        await _close(
            conn,
            signal,
            now,
            outcome="closed",
            entry_price=entry_avg,
            exit_price=exit_avg,
            qty=entered,
            pnl_minor=to_minor((exit_avg - entry_avg) * direction * entered, book.currency),
            r_multiple=round((exit_avg - entry_avg) * direction / risk, 6) if risk > 0 else None,
            fill_latency_ms=max(
                0, round((first_fill.filled_at - signal.created_at).total_seconds() * 1000)
            ),
            entry_slippage_bps=round((entry_avg / intended - 1.0) * 10_000 * direction, 4),
        )


async def _close(conn: Connection, signal: Signal, now: datetime, **fields: Any) -> None:
    if await signal_store.insert_outcome(
        conn, signal_id=signal.id, mentor_id=signal.mentor_id, closed_at=now, **fields
    ):
        closed = SignalClosed(
            signal_id=str(signal.id),
            mentor_id=str(signal.mentor_id),
            outcome=fields["outcome"],
            r_multiple=fields.get("r_multiple"),
            pnl_minor=fields.get("pnl_minor"),
        )
        await emit_event(conn, closed)


# --- track record ---------------------------------------------------------------------


async def record_alert_latency(conn: Connection, latency: AlertLatency) -> None:
    """Record with an alert-sourced signal how long it took from the alert to its
    committed broadcast (once per signal)."""
    await signal_store.insert_alert_latency(conn, latency)


def nearest_rank(ordered: list[int], percentile: float) -> int:
    """The nearest-rank percentile of values sorted ascending (never interpolated, so
    it is a latency that happened)."""
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]


async def track_record(platform: Platform, mentor_id: uuid.UUID) -> TrackRecord:
    async with platform.pool.acquire() as conn:
        if not await is_mentor(conn, mentor_id):
            raise NotFound("no such mentor")
        return await _track_record(conn, mentor_id)


async def track_record_curve(
    platform: Platform, mentor_id: uuid.UUID, limit: int
) -> TrackRecordCurve:
    async with platform.pool.acquire() as conn:
        if not await is_mentor(conn, mentor_id):
            raise NotFound("no such mentor")
        book = await store.signal_book(conn, mentor_id)
        if book is None:
            return TrackRecordCurve(
                mentor_id=mentor_id, currency=None, starting_cash_minor=None, points=[]
            )
        return TrackRecordCurve(
            mentor_id=mentor_id,
            currency=book.currency,
            starting_cash_minor=book.starting_cash_minor,
            points=await performance.equity_points(conn, book, limit),
        )


async def _track_record(conn: Connection, mentor_id: uuid.UUID) -> TrackRecord:
    ended = await signal_store.outcomes(conn, mentor_id)
    closed = [o for o in ended if o.outcome == "closed"]
    wins = sum(1 for o in closed if (o.pnl_minor or 0) > 0)
    r_values = [o.r_multiple for o in closed if o.r_multiple is not None]
    latencies = [float(o.fill_latency_ms) for o in closed if o.fill_latency_ms is not None]
    slippages = [o.entry_slippage_bps for o in closed if o.entry_slippage_bps is not None]
    alert_latencies = await signal_store.alert_latencies_ms(conn, mentor_id)
    book = await store.signal_book(conn, mentor_id)
    sharpe: float | None = None
    max_drawdown = 0.0
    book_equity: int | None = None
    if book is not None:
        stats = await performance.curve_stats_of(conn, book)
        sharpe, max_drawdown, book_equity = stats.sharpe, stats.max_drawdown_pct, stats.equity_minor
    return TrackRecord(
        mentor_id=mentor_id,
        signals=await signal_store.signal_count(conn, mentor_id),
        closed=len(closed),
        win_rate_pct=100.0 * wins / len(closed) if closed else None,
        average_r_multiple=sum(r_values) / len(r_values) if r_values else None,
        sharpe=sharpe,
        max_drawdown_pct=max_drawdown,
        average_fill_latency_ms=sum(latencies) / len(latencies) if latencies else None,
        average_slippage_bps=sum(slippages) / len(slippages) if slippages else None,
        book_equity_minor=book_equity,
        alert_signals=len(alert_latencies),
        median_alert_latency_ms=float(statistics.median(alert_latencies))
        if alert_latencies
        else None,
        p95_alert_latency_ms=float(nearest_rank(alert_latencies, 95)) if alert_latencies else None,
    )


# --- mirroring ----------------------------------------------------------------------


def mirror_quantity(
    subscription: Subscription, signal: Signal, equity: float, reference: float
) -> tuple[float | None, str | None]:
    """The unrounded copy size for a portfolio of `equity` (major units), or why there is
    none."""
    scaling = Scaling(subscription.scaling or Scaling.SIZE_HINT.value)
    value = subscription.scaling_value
    if scaling is Scaling.SIZE_HINT:
        return equity * signal.size_hint_pct / 100 / reference, None
    assert value is not None
    if scaling is Scaling.FIXED_FRACTION:
        return equity * value / reference, None
    if scaling is Scaling.FIXED_UNITS:
        return value, None
    if signal.stop_loss is None:
        return None, "max_risk scaling needs a stop-loss and this signal has none"
    risk_per_unit = abs(reference - signal.stop_loss)
    return equity * value / risk_per_unit, None


async def feed_subscribers(conn: Connection, mentor_id: uuid.UUID) -> list[uuid.UUID]:
    """Who follows a mentor's signal feed now (active, not past due): whom a new signal
    is announced to."""
    return await signal_store.feed_subscriber_ids(conn, mentor_id)


async def mirror_signal(conn: Connection, platform: Platform, signal_id: uuid.UUID) -> list[Mirror]:
    """Copy a signal into every mirroring subscriber's portfolio (once per subscription)."""
    signal = await signal_store.get_signal(conn, signal_id)
    if signal is None:
        return []
    instrument = await require_instrument(conn, signal.symbol)
    last = await store.last_close(conn, signal.symbol)
    reference = signal.entry_price or (last.price if last else None)
    mirrors: list[Mirror] = []
    for subscription in await signal_store.mirroring_subscriptions(conn, signal.mentor_id):
        assert subscription.mirror_portfolio_id is not None
        now = platform.clock.now()
        latency_ms = max(0, round((now - signal.created_at).total_seconds() * 1000))
        portfolio = await store.get_portfolio(conn, subscription.mirror_portfolio_id, lock=True)
        record: dict[str, Any] = {
            "subscription_id": subscription.id,
            "signal_id": signal.id,
            "portfolio_id": subscription.mirror_portfolio_id,
            "latency_ms": latency_ms,
            "created_at": now,
        }
        reason: str | None = None
        qty: float | None = None
        if await signal_store.is_corrected(conn, signal.id):
            reason = "the signal was corrected before it could be copied"
        elif signal.expires_at is not None and signal.expires_at <= now:
            reason = "the signal expired before it could be copied"
        elif portfolio is None:
            reason = "the mirror portfolio no longer exists"
        elif reference is None:
            reason = f"{signal.symbol} has no price yet"
        else:
            raw, reason = mirror_quantity(
                subscription, signal, await _equity(conn, portfolio), reference
            )
            if raw is not None:
                qty = _floor_to_step(raw, instrument.qty_step)
                if qty < instrument.min_qty - 1e-9:
                    reason = (
                        f"scaled size {raw:.8g} is below the minimum size {instrument.min_qty:g} "
                        f"of {signal.symbol}; skipped, not rounded up"
                    )
                    qty = None
        if reason is None and portfolio is not None and qty is not None:
            # An opted-in member's copy goes to their own broker, after the same checks.
            link = await routing_link(conn, platform.settings, portfolio.user_id)
            try:
                async with conn.transaction():  # a savepoint: a refused copy leaves nothing
                    placed: PlacedOrder = await service.place_order(
                        conn,
                        platform,
                        portfolio,
                        _order_for(signal, qty),
                        signal_id=signal.id,
                        expires_at=signal.expires_at,
                        routed=link is not None,
                    )
                    if link is not None:
                        await route_order(conn, platform, portfolio, placed, link)
                record.update(order_id=placed.order.id, qty=qty)
            except (Forbidden, InvalidInput, Conflict) as exc:
                reason = f"refused by risk checks: {exc.detail}"
        if reason is not None:
            record.update(skipped_reason=reason)
        mirror = await signal_store.insert_mirror(conn, **record)
        if mirror is not None:
            mirrors.append(mirror)
    return mirrors
