"""Mentor signals, their verified track record, feed subscriptions and mirroring.

A signal is appended to its mentor's hash chain (`hash = sha256(prev_hash ‖ canonical
JSON of the signal)`, the time set by the server), never changed: a correction is a new
signal naming the one it corrects, which stops the original on the signal book. Every
signal is paper-traded on the mentor's own signal book under the `realistic` preset;
how each one ended (`signal_outcomes`) is the track record. Subscribers who mirror get a
scaled copy in their chosen portfolio, placed by the `trading.mirror` outbox consumer;
a copy below the instrument's minimum size is skipped with the reason recorded."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound
from dracarys.identity import contacts_of, display_names
from dracarys.identity.access import CurrentUser
from dracarys.messaging.service import queue_email
from dracarys.messaging.templates import EmailTemplate, register_email_template
from dracarys.money import format_money
from dracarys.outbox import Event, emit
from dracarys.platform import Platform
from dracarys.trading import performance, service, store
from dracarys.trading.events import (
    SIGNAL_CLOSED,
    SIGNAL_PUBLISHED,
    SUBSCRIPTION_LAPSED,
    SUBSCRIPTION_PAST_DUE,
    SUBSCRIPTION_RENEWED,
    SUBSCRIPTION_STARTED,
)
from dracarys.trading.models import (
    BracketLegs,
    ChainVerification,
    FeedPlan,
    FeedPlanInput,
    Mirror,
    Order,
    OrderInput,
    OrderKind,
    PlacedOrder,
    Portfolio,
    Scaling,
    Side,
    Signal,
    SignalInput,
    SubscribeInput,
    Subscriber,
    Subscription,
    TimeInForce,
    TrackRecord,
)
from dracarys.wallet import InsufficientFunds, hold_escrow

# Subscription ids derive from (subscriber, idempotency key), so a retry finds its own.
_SUBSCRIPTION_KEYS = uuid.UUID("3a4c9f0e-6b1d-4e8a-9c2f-7d5e1b0a4c63")

SIGNAL_BOOK_CASH_MINOR = 10_000_000  # 100,000.00 in the book's currency
SIGNAL_BOOK_PRESET = "realistic"

# A paid feed is paid for 30 days at a time (the plan's price is monthly); a renewal the
# wallet cannot pay is retried for a week, then the subscription ends (a top-up months
# later must not restart a feed the subscriber forgot about).
SUBSCRIPTION_PERIOD = timedelta(days=30)
PAST_DUE_GRACE = timedelta(days=7)
PAST_DUE_TEMPLATE = "trading.subscription_past_due"
register_email_template(
    PAST_DUE_TEMPLATE,
    EmailTemplate(
        subject="Your subscription to $mentor's signals is paused",
        text="Your wallet could not pay the next 30 days of $mentor's signal feed "
        "($amount).\nTop up your wallet within 7 days: the subscription resumes "
        "at the next renewal attempt (every 15 minutes); after that it ends.",
    ),
)


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


async def verify_chain(conn: Connection, mentor_id: uuid.UUID) -> ChainVerification:
    rows = await store.signal_chain(conn, mentor_id)
    previous: bytes | None = None
    for expected_seq, row in enumerate(rows, start=1):
        fields = dict(row)
        stored_prev = None if row["prev_hash"] is None else bytes(row["prev_hash"])
        if (
            row["chain_seq"] != expected_seq
            or stored_prev != previous
            or chain_hash(previous, fields) != bytes(row["hash"])
        ):
            return ChainVerification(
                mentor_id=mentor_id, signals=len(rows), valid=False, first_broken_seq=expected_seq
            )
        previous = bytes(row["hash"])
    return ChainVerification(
        mentor_id=mentor_id, signals=len(rows), valid=True, first_broken_seq=None
    )


# --- signal book ---------------------------------------------------------------------


async def ensure_signal_book(conn: Connection, mentor_id: uuid.UUID, now: datetime) -> Portfolio:
    book = await store.signal_book(conn, mentor_id)
    if book is not None:
        return book
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 401))", mentor_id
    )
    book = await store.signal_book(conn, mentor_id)
    if book is not None:
        return book
    return await store.insert_portfolio(
        conn,
        portfolio_id=uuid.uuid4(),
        user_id=mentor_id,
        name="Signal book",
        kind="signal_book",
        currency="USD",
        starting_cash_minor=SIGNAL_BOOK_CASH_MINOR,
        preset=SIGNAL_BOOK_PRESET,
        max_position_pct=100.0,
        now=now,
    )


async def _equity_minor(conn: Connection, portfolio: Portfolio) -> int:
    marked = await store.marked_positions(conn, portfolio.id)
    return portfolio.cash_minor + round(sum(q * m for _, q, m in marked) * 100)


def _floor_to_step(qty: float, step: float) -> float:
    return math.floor(qty / step + 1e-9) * step


async def _retire_original(
    conn: Connection, original: Signal, book: Portfolio, now: datetime
) -> list[Order]:
    """Stop a corrected signal: on the signal book cancel what has not filled and close
    what has at market (or record it superseded when nothing filled); in subscribers'
    portfolios cancel the copies that have not filled, but leave the stop-loss and
    take-profit protecting a copy that has."""
    open_orders = await store.open_orders_of_signal(conn, original.id)
    stale = [
        o.id
        for o in open_orders
        if o.portfolio_id == book.id
        or o.status == "waiting_parent"
        or (o.role == "entry" and o.filled_qty == 0)
    ]
    changed = await store.close_orders(conn, stale, "cancelled", "signal corrected", now)
    orders = await store.orders_of_signal(conn, original.id, book.id)
    entered = sum(o.filled_qty for o in orders if o.role == "entry")
    exited = sum(o.filled_qty for o in orders if o.role != "entry")
    net = entered - exited
    if entered <= 0:
        await store.insert_outcome(
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


async def publish_signal(
    conn: Connection, platform: Platform, mentor: CurrentUser, body: SignalInput
) -> tuple[Signal, list[Order]]:
    now = platform.clock.now()
    instrument = await store.get_instrument(conn, body.symbol)
    if instrument is None:
        raise InvalidInput(f"unknown symbol {body.symbol!r}", field="symbol")
    last = await store.last_close(conn, body.symbol)
    reference = body.entry_price if body.order_type != "market" else (last[0] if last else None)
    if reference is None:
        reference = body.entry_price
    if reference is None:
        raise Conflict(f"{body.symbol} has no price yet; give an entry_price or wait for the feed")
    _check_signal_prices(body, reference)
    if body.expires_at is not None and body.expires_at <= now:
        raise InvalidInput("expires_at must be in the future", field="expires_at")

    head = await store.lock_signal_chain(conn, mentor.id)
    original: Signal | None = None
    if body.corrects_id is not None:
        original = await store.get_signal(conn, body.corrects_id)
        if original is None or original.mentor_id != mentor.id:
            raise InvalidInput("corrects_id must be one of your own signals", field="corrects_id")
        if await store.is_corrected(conn, original.id):
            raise Conflict("that signal was already corrected; correct the correction instead")
    if head is not None and head["created_at"] > now:
        raise Conflict("the signal chain's head is dated in the future; check the server clock")
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "mentor_id": mentor.id,
        "chain_seq": 1 if head is None else head["chain_seq"] + 1,
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
        "prev_hash": None if head is None else bytes(head["hash"]),
    }
    fields["hash"] = chain_hash(fields["prev_hash"], fields)
    signal = await store.insert_signal(conn, **fields)

    book = await ensure_signal_book(conn, mentor.id, now)
    book = await store.get_portfolio(conn, book.id, lock=True) or book
    changed: list[Order] = []
    if original is not None:
        changed += await _retire_original(conn, original, book, now)
    equity = await _equity_minor(conn, book)
    qty = _floor_to_step(equity / 100 * body.size_hint_pct / 100 / reference, instrument.qty_step)
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
    await emit(
        conn,
        SIGNAL_PUBLISHED,
        {
            "signal_id": str(signal.id),
            "mentor_id": str(mentor.id),
            "symbol": signal.symbol,
            "side": signal.side,
            "corrects_id": str(signal.corrects_id) if signal.corrects_id else None,
        },
    )
    return signal, changed


def _order_for(signal: Signal, qty: float) -> OrderInput:
    kind = OrderKind(signal.order_type)
    bracket = (
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
        bracket=bracket,
    )


# --- outcomes (called by the engine inside its tick transaction) --------------------


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
        signal = await store.get_signal(conn, signal_id)
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
            pnl_minor=round((exit_avg - entry_avg) * direction * entered * 100),
            r_multiple=round((exit_avg - entry_avg) * direction / risk, 6) if risk > 0 else None,
            fill_latency_ms=max(
                0, round((first_fill.filled_at - signal.created_at).total_seconds() * 1000)
            ),
            entry_slippage_bps=round((entry_avg / intended - 1.0) * 10_000 * direction, 4),
        )


async def _close(conn: Connection, signal: Signal, now: datetime, **fields: Any) -> None:
    if await store.insert_outcome(
        conn, signal_id=signal.id, mentor_id=signal.mentor_id, closed_at=now, **fields
    ):
        await emit(
            conn,
            SIGNAL_CLOSED,
            {
                "signal_id": str(signal.id),
                "mentor_id": str(signal.mentor_id),
                "outcome": fields["outcome"],
                "r_multiple": fields.get("r_multiple"),
                "pnl_minor": fields.get("pnl_minor"),
            },
        )


async def track_record(conn: Connection, mentor_id: uuid.UUID) -> TrackRecord:
    rows = await store.outcomes(conn, mentor_id)
    closed = [r for r in rows if r["outcome"] == "closed"]
    wins = sum(1 for r in closed if (r["pnl_minor"] or 0) > 0)
    r_values = [float(r["r_multiple"]) for r in closed if r["r_multiple"] is not None]
    latencies = [float(r["fill_latency_ms"]) for r in closed if r["fill_latency_ms"] is not None]
    slippages = [
        float(r["entry_slippage_bps"]) for r in closed if r["entry_slippage_bps"] is not None
    ]
    book = await store.signal_book(conn, mentor_id)
    sharpe: float | None = None
    max_drawdown = 0.0
    book_equity: int | None = None
    if book is not None:
        stats = await performance.curve_stats_of(conn, book)
        sharpe, max_drawdown, book_equity = stats.sharpe, stats.max_drawdown_pct, stats.equity_minor
    return TrackRecord(
        mentor_id=mentor_id,
        signals=await store.signal_count(conn, mentor_id),
        closed=len(closed),
        win_rate_pct=100.0 * wins / len(closed) if closed else None,
        average_r_multiple=sum(r_values) / len(r_values) if r_values else None,
        sharpe=sharpe,
        max_drawdown_pct=max_drawdown,
        average_fill_latency_ms=sum(latencies) / len(latencies) if latencies else None,
        average_slippage_bps=sum(slippages) / len(slippages) if slippages else None,
        book_equity_minor=book_equity,
    )


# --- plans and subscriptions --------------------------------------------------------


async def set_plan(
    conn: Connection, mentor_id: uuid.UUID, body: FeedPlanInput, now: datetime
) -> FeedPlan:
    return await store.upsert_plan(conn, mentor_id, body.monthly_price_minor, body.currency, now)


async def list_subscribers(platform: Platform, mentor_id: uuid.UUID) -> list[Subscriber]:
    """Newest first; names come from identity for the ids listed (sealed at rest)."""
    async with platform.pool.acquire() as conn:
        rows = await store.active_subscriptions_of(conn, mentor_id)
        names = await display_names(conn, platform.settings, {r["subscriber_id"] for r in rows})
    return [
        Subscriber(
            subscription_id=r["id"],
            subscriber_id=r["subscriber_id"],
            name=names[r["subscriber_id"]],
            started_at=r["started_at"],
            monthly_price_minor=r["monthly_price_minor"],
            currency=r["currency"].strip(),
            billing_status=r["billing_status"],
            mirroring=r["mirroring"],
        )
        for r in rows
    ]


async def subscribe(
    conn: Connection,
    platform: Platform,
    user: CurrentUser,
    mentor_id: uuid.UUID,
    body: SubscribeInput,
    idempotency_key: str,
) -> Subscription:
    """Start a subscription (paying a paid feed's first period from the wallet). A retry
    with the same key returns the subscription it started; another request is a 422."""
    now = platform.clock.now()
    subscription_id = uuid.uuid5(_SUBSCRIPTION_KEYS, f"{user.id}:{idempotency_key}")
    await store.lock_subscription_key(conn, subscription_id)
    earlier = await store.get_subscription(conn, subscription_id)
    if earlier is not None:
        mirror = body.mirror
        asked = (
            mentor_id,
            mirror.portfolio_id if mirror else None,
            mirror.scaling.value if mirror else None,
            mirror.scaling_value if mirror else None,
        )
        started = (
            earlier.mentor_id,
            earlier.mirror_portfolio_id,
            earlier.scaling,
            earlier.scaling_value,
        )
        if asked != started:
            raise InvalidInput(
                "this idempotency key was used for a different subscription",
                field="idempotency_key",
            )
        return earlier
    if mentor_id == user.id:
        raise InvalidInput("you cannot subscribe to your own signals", field="mentor_id")
    if await store.user_role(conn, mentor_id) != "mentor":
        raise NotFound("no such mentor")
    await service.ensure_acknowledged(conn, user.id, "your first signal subscription")
    if body.mirror is not None:
        portfolio = await service.owned_portfolio(conn, user, body.mirror.portfolio_id)
        if portfolio.kind != "personal":
            raise InvalidInput(
                "mirror into one of your own paper portfolios", field="mirror.portfolio_id"
            )
        needs_value = body.mirror.scaling is not Scaling.SIZE_HINT
        if needs_value and body.mirror.scaling_value is None:
            raise InvalidInput(
                f"scaling_value is required for {body.mirror.scaling.value}",
                field="mirror.scaling_value",
            )
        if (
            body.mirror.scaling in (Scaling.FIXED_FRACTION, Scaling.MAX_RISK)
            and (body.mirror.scaling_value or 0) > 1
        ):
            raise InvalidInput("a fraction of equity is at most 1", field="mirror.scaling_value")
    plan = await store.get_plan(conn, mentor_id)
    price = plan.monthly_price_minor if plan is not None else 0
    currency = plan.currency if plan is not None else "USD"
    billing: dict[str, Any] = {"billing_status": "free"}
    if price > 0:
        if await store.active_subscription(conn, user.id, mentor_id) is not None:
            raise Conflict("you already subscribe to this mentor's signals")
        left = await store.paid_time_left(conn, user.id, mentor_id)
        if left is not None:
            # Back before a cancelled period ran out: carry it over, charge nothing now.
            await store.set_billing(conn, left["id"], "expired")
            billing = {
                "billing_status": "paid",
                "paid_until": left["paid_until"],
                "periods_paid": left["periods_paid"],
                "escrow_id": left["escrow_id"],
            }
        else:
            escrow = await _pay_period(
                conn, platform, subscription_id, user.id, mentor_id, price, currency, 1, now
            )
            billing = {
                "billing_status": "paid",
                "paid_until": now + SUBSCRIPTION_PERIOD,
                "periods_paid": 1,
                "escrow_id": escrow,
            }
    subscription = await store.insert_subscription(
        conn,
        id=subscription_id,
        subscriber_id=user.id,
        mentor_id=mentor_id,
        monthly_price_minor=price,
        currency=currency,
        status="active",
        mirror_portfolio_id=body.mirror.portfolio_id if body.mirror else None,
        scaling=body.mirror.scaling.value if body.mirror else None,
        scaling_value=body.mirror.scaling_value if body.mirror else None,
        started_at=now,
        **billing,
    )
    if subscription is None:
        raise Conflict("you already subscribe to this mentor's signals")
    await emit(
        conn,
        SUBSCRIPTION_STARTED,
        {
            "subscription_id": str(subscription.id),
            "subscriber_id": str(user.id),
            "mentor_id": str(mentor_id),
            "amount_minor": price,
            "currency": currency,
            "billing_status": subscription.billing_status,
        },
    )
    return subscription


async def _pay_period(
    conn: Connection,
    platform: Platform,
    subscription_id: uuid.UUID,
    subscriber_id: uuid.UUID,
    mentor_id: uuid.UUID,
    price_minor: int,
    currency: str,
    period: int,
    now: datetime,
) -> uuid.UUID:
    """Pay one period of a paid feed from the subscriber's wallet into escrow, released
    to the mentor (their share, the platform's commission, VAT invoiced) when the period
    ends unless disputed first. Raises `InsufficientFunds` (409) when the wallet cannot."""
    escrow = await hold_escrow(
        conn,
        settings=platform.settings,
        now=now,
        payer_id=subscriber_id,
        mentor_id=mentor_id,
        amount_minor=price_minor,
        currency=currency,
        reference=f"signal feed subscription {subscription_id} period {period}",
        idempotency_key=f"signal-subscription:{subscription_id}:{period}",
        release_after=SUBSCRIPTION_PERIOD,
    )
    return escrow.id


async def renew_due_subscriptions(platform: Platform) -> int:
    """At the end of each paid period: expire a cancelled subscription; renew an active
    one from the wallet, or mark it past due (no access; retried on every run, so a
    top-up brings it back, for `PAST_DUE_GRACE`, after which it ends). Each subscription
    in its own transaction; running twice pays nothing twice. Returns how many periods
    were paid."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        due = await store.due_subscription_ids(conn, now)
    renewed = 0
    for subscription_id in due:
        async with transaction(platform.pool) as conn:
            row = await store.lock_subscription(conn, subscription_id)
            if (
                row is None
                or row["billing_status"] not in ("paid", "past_due")
                or row["paid_until"] > now
            ):
                continue
            if row["status"] == "cancelled":
                await store.set_billing(conn, subscription_id, "expired")
                continue
            period = row["periods_paid"] + 1
            if row["billing_status"] == "past_due" and now - row["paid_until"] >= PAST_DUE_GRACE:
                await store.cancel_subscription(conn, subscription_id, now)
                await store.set_billing(conn, subscription_id, "expired")
                await emit(conn, SUBSCRIPTION_LAPSED, _billing_event(row, period))
                continue
            try:
                async with conn.transaction():  # a refused payment leaves nothing behind
                    escrow = await _pay_period(
                        conn,
                        platform,
                        subscription_id,
                        row["subscriber_id"],
                        row["mentor_id"],
                        row["monthly_price_minor"],
                        row["currency"],
                        period,
                        now,
                    )
            except InsufficientFunds:
                if row["billing_status"] == "paid":
                    await store.set_billing(conn, subscription_id, "past_due")
                    await emit(conn, SUBSCRIPTION_PAST_DUE, _billing_event(row, period))
                    await _tell_past_due(conn, platform, row, now)
                continue
            await store.set_billing(
                conn,
                subscription_id,
                "paid",
                paid_until=now + SUBSCRIPTION_PERIOD,
                escrow_id=escrow,
                periods_paid=period,
            )
            await emit(conn, SUBSCRIPTION_RENEWED, _billing_event(row, period))
            renewed += 1
    return renewed


async def _tell_past_due(conn: Connection, platform: Platform, row: Any, now: datetime) -> None:
    contacts = await contacts_of(conn, platform.settings, [row["subscriber_id"], row["mentor_id"]])
    contact = contacts.get(row["subscriber_id"])
    mentor = contacts.get(row["mentor_id"])
    if contact is None or mentor is None:
        return
    await queue_email(
        conn,
        platform.settings,
        to=contact.email,
        template=PAST_DUE_TEMPLATE,
        context={
            "mentor": mentor.name,
            "amount": format_money(row["monthly_price_minor"], row["currency"]),
        },
        now=now,
        user_id=row["subscriber_id"],
    )


def _billing_event(row: Any, period: int) -> dict[str, Any]:
    return {
        "subscription_id": str(row["id"]),
        "subscriber_id": str(row["subscriber_id"]),
        "mentor_id": str(row["mentor_id"]),
        "amount_minor": row["monthly_price_minor"],
        "currency": row["currency"],
        "period": period,
    }


async def unsubscribe(
    conn: Connection, user: CurrentUser, subscription_id: uuid.UUID, now: datetime
) -> Subscription:
    subscription = await store.get_subscription(conn, subscription_id)
    if subscription is None:
        raise NotFound("no such subscription")
    if subscription.subscriber_id != user.id:
        raise Forbidden("this subscription belongs to another user")
    cancelled = await store.cancel_subscription(conn, subscription_id, now)
    if cancelled is None:
        raise Conflict("the subscription is already cancelled")
    return cancelled


# --- mirroring ----------------------------------------------------------------------


def mirror_quantity(
    subscription: Subscription, signal: Signal, equity_minor: int, reference: float
) -> tuple[float | None, str | None]:
    """The unrounded copy size, or why there is none."""
    equity = equity_minor / 100
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


async def mirror_signal(conn: Connection, platform: Platform, signal_id: uuid.UUID) -> list[Mirror]:
    """Copy a signal into every mirroring subscriber's portfolio (once per subscription)."""
    signal = await store.get_signal(conn, signal_id)
    if signal is None:
        return []
    instrument = await store.get_instrument(conn, signal.symbol)
    assert instrument is not None
    last = await store.last_close(conn, signal.symbol)
    reference = signal.entry_price or (last[0] if last else None)
    mirrors: list[Mirror] = []
    for subscription in await store.mirroring_subscriptions(conn, signal.mentor_id):
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
        if await store.is_corrected(conn, signal.id):
            reason = "the signal was corrected before it could be copied"
        elif signal.expires_at is not None and signal.expires_at <= now:
            reason = "the signal expired before it could be copied"
        elif portfolio is None:
            reason = "the mirror portfolio no longer exists"
        elif reference is None:
            reason = f"{signal.symbol} has no price yet"
        else:
            raw, reason = mirror_quantity(
                subscription, signal, await _equity_minor(conn, portfolio), reference
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
            try:
                async with conn.transaction():  # a savepoint: a refused copy leaves nothing
                    placed: PlacedOrder = await service.place_order(
                        conn,
                        platform,
                        portfolio,
                        _order_for(signal, qty),
                        signal_id=signal.id,
                        expires_at=signal.expires_at,
                    )
                record.update(order_id=placed.order.id, qty=qty)
            except (Forbidden, InvalidInput, Conflict) as exc:
                reason = f"refused by risk checks: {exc.detail}"
        if reason is not None:
            record.update(skipped_reason=reason)
        mirror = await store.insert_mirror(conn, **record)
        if mirror is not None:
            mirrors.append(mirror)
    return mirrors


async def on_signal_published(conn: Connection, event: Event) -> None:
    """Consumer `trading.mirror`: `signal.published` → mirrored orders."""
    from dracarys.messaging.service import delivery_platform

    await mirror_signal(conn, delivery_platform(), uuid.UUID(event.payload["signal_id"]))
