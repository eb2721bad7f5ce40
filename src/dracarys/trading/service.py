"""Paper accounts: the risk disclaimer gate, portfolios (create, reset, share, who may
view), orders (place with risk checks, cancel, replace) and publishing order changes.
The functions taking a platform own their transaction; those taking a connection work
inside the caller's (signals place orders on a signal book in the signal's transaction).

Risk rules: a *novice* (KYC level 0, or an onboarding experience that is missing or
`beginner`) may not hold a short position nor use leverage above 1×; others are capped at
`trading_max_leverage`. Every account is capped at `max_position_pct` of its equity per
position. Exposure is valued at the order's price (limit/stop) or the last close."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, Forbidden, InvalidInput, NotFound, field_label
from dracarys.identity import KYC_LEVEL_TO_SELL_SHORT, CurrentUser, Role, account_of, accounts_of
from dracarys.money import is_currency, to_major, to_minor
from dracarys.platform import Platform
from dracarys.trading import store
from dracarys.trading.instruments.service import require_instrument
from dracarys.trading.models import (
    OPEN_STATUSES,
    ROUTED,
    Acknowledgement,
    BracketLegs,
    Disclaimer,
    Fill,
    MarkedPosition,
    Order,
    OrderFrame,
    OrderInput,
    OrderKind,
    PlacedOrder,
    Portfolio,
    PortfolioInput,
    ReplaceInput,
    Side,
    TimeInForce,
)
from engine.matching import PRESET_INDEX, PRESETS
from streams import channels

NOVICE_EXPERIENCE = (None, "beginner")
_STEP_TOLERANCE = 1e-9


def equity_minor(portfolio: Portfolio, marked: Sequence[MarkedPosition]) -> int:
    """Cash plus the open positions at their marks, in the portfolio's minor units (a
    price is in the portfolio's currency: paper trading converts nothing)."""
    return portfolio.cash_minor + to_minor(sum(p.qty * p.mark for p in marked), portfolio.currency)


def as_major(amount_minor: int, portfolio: Portfolio) -> float:
    return float(to_major(amount_minor, portfolio.currency))


# --- disclaimer ---------------------------------------------------------------------


async def current_disclaimer(platform: Platform) -> Disclaimer:
    async with platform.pool.acquire() as conn:
        return await store.current_disclaimer(conn)


async def acknowledge_disclaimer(
    platform: Platform, user: CurrentUser, version: int, source_ip: str | None
) -> Acknowledgement:
    async with transaction(platform.pool) as conn:
        current = await store.current_disclaimer(conn)
        if version != current.version:
            raise InvalidInput(
                f"the disclaimer in force is version {current.version}", field="version"
            )
        return await store.acknowledge(
            conn, user.id, current.version, platform.clock.now(), source_ip
        )


async def ensure_acknowledged(conn: Connection, user_id: uuid.UUID, what: str) -> None:
    disclaimer = await store.current_disclaimer(conn)
    if not await store.has_acknowledged(conn, user_id, disclaimer.version):
        raise Forbidden(
            f"acknowledge the risk disclaimer (version {disclaimer.version}) before {what}: "
            "read it and accept it first",
            extra={"disclaimer_version": disclaimer.version},
        )


# --- portfolios ---------------------------------------------------------------------


async def create_portfolio(
    platform: Platform, owner_id: uuid.UUID, body: PortfolioInput
) -> Portfolio:
    if not is_currency(body.currency):
        raise InvalidInput(f"{body.currency} is not an ISO 4217 currency", field="currency")
    async with transaction(platform.pool) as conn:
        return await store.insert_portfolio(
            conn,
            portfolio_id=uuid.uuid4(),
            user_id=owner_id,
            name=body.name,
            kind="personal",
            currency=body.currency,
            starting_cash_minor=body.starting_cash_minor,
            preset=body.preset.value,
            max_position_pct=body.max_position_pct,
            now=platform.clock.now(),
        )


async def list_portfolios(platform: Platform, user: CurrentUser) -> list[Portfolio]:
    async with platform.pool.acquire() as conn:
        return await store.list_portfolios(conn, user.id)


async def get_portfolio(
    platform: Platform, user: CurrentUser, portfolio_id: uuid.UUID
) -> Portfolio:
    async with platform.pool.acquire() as conn:
        return await readable_portfolio(conn, user, portfolio_id)


async def owned_portfolio(
    conn: Connection, user: CurrentUser, portfolio_id: uuid.UUID, *, lock: bool = False
) -> Portfolio:
    portfolio = await store.get_portfolio(conn, portfolio_id, lock=lock)
    if portfolio is None:
        raise NotFound("no such portfolio")
    if portfolio.user_id != user.id:
        raise Forbidden("this portfolio belongs to another user")
    return portfolio


async def readable_portfolio(
    conn: Connection, user: CurrentUser, portfolio_id: uuid.UUID
) -> Portfolio:
    portfolio = await store.get_portfolio(conn, portfolio_id)
    if portfolio is None:
        raise NotFound("no such portfolio")
    if not (
        user.may_read_as_owner(portfolio.user_id)
        or user.id in portfolio.shared_with
        or portfolio.kind == "signal_book"  # a mentor's track record is public
    ):
        raise Forbidden("this portfolio is visible to its owner and the mentors it is shared with")
    return portfolio


async def portfolio_viewers(
    conn: Connection, user_ids: Sequence[uuid.UUID], portfolio_id: uuid.UUID
) -> set[uuid.UUID]:
    """Those of `user_ids` who may watch the portfolio's stream: its owner and the
    mentors it is shared with (the `portfolio:` channel policy's check)."""
    access = await store.portfolio_access(conn, portfolio_id)
    if access is None:
        return set()
    viewers = {access.user_id, *access.shared_with}
    return {u for u in user_ids if u in viewers}


async def share_portfolio(
    platform: Platform, user: CurrentUser, portfolio_id: uuid.UUID, mentor_ids: list[uuid.UUID]
) -> Portfolio:
    async with transaction(platform.pool) as conn:
        await owned_portfolio(conn, user, portfolio_id, lock=True)
        accounts = await accounts_of(conn, mentor_ids)
        mentors = [a for a in accounts.values() if a.role is Role.MENTOR]
        if len(mentors) != len(set(mentor_ids)):
            raise InvalidInput("every id must be a mentor's", field="mentor_ids")
        return await store.share_portfolio(conn, portfolio_id, mentor_ids)


async def reset_portfolio(
    platform: Platform, user: CurrentUser, portfolio_id: uuid.UUID
) -> Portfolio:
    async with transaction(platform.pool) as conn:
        portfolio = await owned_portfolio(conn, user, portfolio_id, lock=True)
        if portfolio.kind == "signal_book":
            raise Forbidden("a signal book is a track record and cannot be reset")
        return await store.reset_portfolio(conn, portfolio_id, platform.clock.now())


# --- orders -------------------------------------------------------------------------


def is_novice(kyc_level: int, experience: str | None) -> bool:
    return kyc_level < KYC_LEVEL_TO_SELL_SHORT or experience in NOVICE_EXPERIENCE


def _multiple_of(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) <= _STEP_TOLERANCE * max(1.0, ratio)


_LEG_LABELS = {"stop_loss": "the stop-loss", "take_profit": "the take-profit"}


def _kind(body: OrderInput) -> str:
    return body.kind.value.replace("_", "-")


def _check_prices(body: OrderInput, tick_size: float) -> None:
    needs_limit = body.kind in (OrderKind.LIMIT, OrderKind.STOP_LIMIT)
    needs_stop = body.kind in (OrderKind.STOP, OrderKind.STOP_LIMIT)
    if needs_limit != (body.limit_price is not None):
        detail = "required for" if needs_limit else "not allowed on"
        raise InvalidInput(f"a limit price is {detail} {_kind(body)} orders", field="limit_price")
    if needs_stop != (body.stop_price is not None):
        detail = "required for" if needs_stop else "not allowed on"
        raise InvalidInput(f"a stop price is {detail} {_kind(body)} orders", field="stop_price")
    for name in ("limit_price", "stop_price"):
        price = getattr(body, name)
        if price is not None and not _multiple_of(price, tick_size):
            raise InvalidInput(
                f"{field_label(name)} must be a multiple of the tick size {tick_size:g}",
                field=name,
            )


def _check_bracket(side: Side, reference: float, legs: BracketLegs, tick_size: float) -> None:
    if legs.stop_loss is None and legs.take_profit is None:
        raise InvalidInput("a bracket needs a stop-loss, a take-profit or both", field="bracket")
    for name in ("stop_loss", "take_profit"):
        price = getattr(legs, name)
        if price is not None and not _multiple_of(price, tick_size):
            raise InvalidInput(
                f"{_LEG_LABELS[name]} must be a multiple of the tick size {tick_size:g}",
                field=f"bracket.{name}",
            )
    below, above = (
        ("stop_loss", "take_profit") if side is Side.BUY else ("take_profit", "stop_loss")
    )
    low, high = getattr(legs, below), getattr(legs, above)
    if low is not None and low >= reference:
        raise InvalidInput(
            f"{_LEG_LABELS[below]} must be below the entry ({reference:g}) for a {side.value}",
            field=f"bracket.{below}",
        )
    if high is not None and high <= reference:
        raise InvalidInput(
            f"{_LEG_LABELS[above]} must be above the entry ({reference:g}) for a {side.value}",
            field=f"bracket.{above}",
        )


async def check_risk(
    conn: Connection,
    platform: Platform,
    portfolio: Portfolio,
    symbol: str,
    signed_qty: float,
    price: float,
) -> None:
    """Refuse an entry that breaks the account's limits, with a message saying which."""
    account = await account_of(conn, portfolio.user_id)
    novice = account is None or is_novice(account.kyc_level, account.experience_level)
    held = await store.position_qty(conn, portfolio.id, symbol)
    pending = await store.open_order_exposure(conn, portfolio.id, symbol)
    resulting = held + pending + signed_qty
    if novice and resulting < -_STEP_TOLERANCE:
        raise Forbidden(
            "novice accounts cannot sell short: this order would leave a short position of "
            f"{-resulting:g} {symbol}. Complete KYC and the onboarding quiz to unlock shorting.",
            field="side",
        )
    marked = await store.marked_positions(conn, portfolio.id)
    equity = equity_minor(portfolio, marked)
    if equity <= 0:
        raise Forbidden("this portfolio has no equity left; reset it to trade again")
    other_gross = sum(abs(p.qty * p.mark) for p in marked if p.symbol != symbol)
    leverage = (other_gross + abs(resulting) * price) / as_major(equity, portfolio)
    cap = 1.0 if novice else platform.settings.trading_max_leverage
    if leverage > cap + 1e-9:
        who = "novice accounts are limited to 1×" if novice else f"the limit is {cap:g}×"
        raise Forbidden(
            f"this order would use leverage of {leverage:.2f}× of equity; {who}", field="qty"
        )
    position_pct = abs(resulting) * price / as_major(equity, portfolio) * 100
    if position_pct > portfolio.max_position_pct + 1e-9:
        raise Forbidden(
            f"this order would make the {symbol} position {position_pct:.1f}% of equity; "
            f"this portfolio allows at most {portfolio.max_position_pct:g}% per position",
            field="qty",
        )


def _day_end(moment: datetime) -> datetime:
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


async def place_order(
    conn: Connection,
    platform: Platform,
    portfolio: Portfolio,
    body: OrderInput,
    *,
    signal_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    replaces_id: uuid.UUID | None = None,
    check_limits: bool = True,
    routed: bool = False,
) -> PlacedOrder:
    """Validate, risk-check (unless placing on a mentor's signal book, whose size the
    signal's hint sets) and record an order (with its bracket legs) in `conn`'s
    transaction; the engine picks it up on its next tick. A `routed` order goes to the
    member's own broker instead (`trading.brokers`): the same checks, and the engine
    leaves it and its legs alone (they are `routed` too, for the whole quantity: the
    broker holds them until the entry fills). The caller holds the portfolio's row lock,
    which serialises orders of one account."""
    now = platform.clock.now()
    if body.client_order_id is not None:
        existing = await store.order_by_client_id(conn, portfolio.id, body.client_order_id)
        if existing is not None:
            return PlacedOrder(order=existing, legs=await store.legs_of(conn, existing.id))
    instrument = await require_instrument(conn, body.symbol)
    if body.qty < instrument.min_qty - _STEP_TOLERANCE:
        raise InvalidInput(
            f"the quantity {body.qty:g} is below the minimum size {instrument.min_qty:g} "
            f"of {body.symbol}",
            field="qty",
        )
    if not _multiple_of(body.qty, instrument.qty_step):
        raise InvalidInput(
            f"the quantity must be a multiple of {instrument.qty_step:g} for {body.symbol}",
            field="qty",
        )
    _check_prices(body, instrument.tick_size)
    last = await store.last_close(conn, body.symbol)
    reference = body.limit_price or body.stop_price or (last.price if last else None)
    if reference is None:
        raise Conflict(f"{body.symbol} has no price yet; wait for its market feed to start")
    if body.bracket is not None:
        _check_bracket(body.side, reference, body.bracket, instrument.tick_size)
    signed = body.qty if body.side is Side.BUY else -body.qty
    if check_limits:
        await check_risk(conn, platform, portfolio, body.symbol, signed, reference)

    market_time = last.market_time if last else None
    preset = PRESETS[PRESET_INDEX[portfolio.preset]]
    eligible_at = (
        market_time + timedelta(milliseconds=preset.latency_ms) if market_time is not None else None
    )
    common: dict[str, Any] = {
        "portfolio_id": portfolio.id,
        "epoch": portfolio.epoch,
        "symbol": body.symbol,
        "tif": body.tif.value,
        "preset": portfolio.preset,
        "eligible_at": eligible_at,
        "day_ends_at": _day_end(market_time) if body.tif.value == "day" and market_time else None,
        "expires_at": expires_at,
        "signal_id": signal_id,
        "created_at": now,
        "updated_at": now,
    }
    order = await store.insert_order(
        conn,
        id=uuid.uuid4(),
        side=body.side.value,
        kind=body.kind.value,
        role="entry",
        qty=body.qty,
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        status=ROUTED if routed else "working",
        replaces_id=replaces_id,
        client_order_id=body.client_order_id,
        **common,
    )
    legs: list[Order] = []
    if body.bracket is not None:
        exit_side = "sell" if body.side is Side.BUY else "buy"
        # The legs protect the position for as long as it exists: good till cancelled.
        common = {**common, "tif": "gtc", "day_ends_at": None, "expires_at": None}
        leg_state: dict[str, Any] = (
            {"status": ROUTED, "qty": body.qty}
            if routed
            else {"status": "waiting_parent", "qty": 0.0}
        )
        if body.bracket.stop_loss is not None:
            legs.append(
                await store.insert_order(
                    conn,
                    id=uuid.uuid4(),
                    side=exit_side,
                    kind="stop",
                    role="stop_loss",
                    stop_price=body.bracket.stop_loss,
                    **leg_state,
                    parent_id=order.id,
                    **common,
                )
            )
        if body.bracket.take_profit is not None:
            legs.append(
                await store.insert_order(
                    conn,
                    id=uuid.uuid4(),
                    side=exit_side,
                    kind="limit",
                    role="take_profit",
                    limit_price=body.bracket.take_profit,
                    **leg_state,
                    parent_id=order.id,
                    **common,
                )
            )
    return PlacedOrder(order=order, legs=legs)


async def submit_order(
    platform: Platform, user: CurrentUser, portfolio_id: uuid.UUID, body: OrderInput
) -> PlacedOrder:
    """Place the owner's order; its stream frames go out once it has committed."""
    async with transaction(platform.pool) as conn:
        portfolio = await owned_portfolio(conn, user, portfolio_id, lock=True)
        if portfolio.kind == "signal_book":
            raise Forbidden("a signal book trades only the mentor's published signals")
        await ensure_acknowledged(conn, user.id, "your first paper trade")
        placed = await place_order(conn, platform, portfolio, body)
    await publish_orders(platform, [placed.order, *placed.legs])
    return placed


async def list_orders(
    platform: Platform,
    user: CurrentUser,
    portfolio_id: uuid.UUID,
    *,
    open_only: bool,
    limit: int,
) -> list[Order]:
    async with platform.pool.acquire() as conn:
        await readable_portfolio(conn, user, portfolio_id)
        return await store.list_orders(conn, portfolio_id, open_only=open_only, limit=limit)


async def list_fills(
    platform: Platform, user: CurrentUser, portfolio_id: uuid.UUID, limit: int
) -> list[Fill]:
    async with platform.pool.acquire() as conn:
        portfolio = await readable_portfolio(conn, user, portfolio_id)
        return await store.list_fills(conn, portfolio_id, portfolio.epoch, limit)


async def _order_group(conn: Connection, order: Order) -> list[uuid.UUID]:
    """An order with the orders that fall with it: an entry's legs, a leg's sibling."""
    if order.role == "entry":
        return [order.id, *[leg.id for leg in await store.legs_of(conn, order.id)]]
    if order.parent_id is not None and order.role in ("stop_loss", "take_profit"):
        return [leg.id for leg in await store.legs_of(conn, order.parent_id)]
    return [order.id]


async def cancel_order(platform: Platform, user: CurrentUser, order_id: uuid.UUID) -> list[Order]:
    """Cancel an open order with the orders that fall with it; → those cancelled."""
    async with transaction(platform.pool) as conn:
        order = await store.get_order(conn, order_id)
        if order is None:
            raise NotFound("no such order")
        await owned_portfolio(conn, user, order.portfolio_id, lock=True)
        order = await store.get_order(conn, order_id, lock=True)
        assert order is not None
        if order.status not in OPEN_STATUSES:
            raise Conflict(f"the order is already {order.status}")
        group = await _order_group(conn, order)
        if order.role == "entry" and order.filled_qty > 0:
            group = [order.id]  # legs keep protecting what has filled
        cancelled = await store.close_orders(
            conn, group, "cancelled", "cancelled by owner", platform.clock.now()
        )
    await publish_orders(platform, cancelled)
    return cancelled


async def replace_order(
    platform: Platform, user: CurrentUser, order_id: uuid.UUID, body: ReplaceInput
) -> PlacedOrder:
    """Cancel an unfilled entry and place its successor (same legs) atomically."""
    async with transaction(platform.pool) as conn:
        placed = await _replace_order(conn, platform, user, order_id, body)
    await publish_orders(platform, [placed.order, *placed.legs])
    return placed


async def _replace_order(
    conn: Connection, platform: Platform, user: CurrentUser, order_id: uuid.UUID, body: ReplaceInput
) -> PlacedOrder:
    order = await store.get_order(conn, order_id)
    if order is None:
        raise NotFound("no such order")
    portfolio = await owned_portfolio(conn, user, order.portfolio_id, lock=True)
    order = await store.get_order(conn, order_id, lock=True)
    assert order is not None
    if order.status not in OPEN_STATUSES:
        raise Conflict(f"the order is already {order.status}")
    if order.role != "entry" or order.filled_qty > 0:
        raise Conflict("only an unfilled entry order can be replaced; cancel it instead")
    legs = await store.legs_of(conn, order.id)
    now = platform.clock.now()
    await store.close_orders(
        conn, [order.id, *[leg.id for leg in legs]], "cancelled", "replaced", now
    )
    stop_loss = next((leg.stop_price for leg in legs if leg.role == "stop_loss"), None)
    take_profit = next((leg.limit_price for leg in legs if leg.role == "take_profit"), None)
    successor = OrderInput(
        symbol=order.symbol,
        side=Side(order.side),
        kind=OrderKind(order.kind),
        qty=body.qty or order.qty,
        limit_price=body.limit_price or order.limit_price,
        stop_price=body.stop_price or order.stop_price,
        tif=TimeInForce(order.tif),
        bracket=BracketLegs(stop_loss=stop_loss, take_profit=take_profit) if legs else None,
    )
    return await place_order(
        conn,
        platform,
        portfolio,
        successor,
        signal_id=order.signal_id,
        replaces_id=order.id,
    )


async def publish_orders(platform: Platform, orders: list[Order]) -> None:
    for order in orders:
        await platform.streams.publish(
            channels.portfolio(order.portfolio_id), OrderFrame(**msgspec.structs.asdict(order))
        )
