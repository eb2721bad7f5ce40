"""A local Alpaca speaking its Trading API's wire format: `GET /v2/account`, orders
(`POST /v2/orders` refusing a repeated `client_order_id` with 422 as Alpaca does,
`GET /v2/orders/{id}`, `GET /v2/orders:by_client_order_id`, `DELETE /v2/orders/{id}`),
`GET /v2/positions`, each checking the `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY`
headers; and the trade-updates WebSocket (`/stream`: `auth`, answered on the
`authorization` stream, `listen`, answered on `listening`, then `trade_updates` events in
binary frames, as the paper endpoint sends them). Quantities and prices are decimal
strings.

Bracket orders as Alpaca takes them: `order_class: "bracket"` with `take_profit:
{limit_price}` and `stop_loss: {stop_price}` (both; `"oto"` takes one), answered with
the entry and its `legs` (`null` on a simple order), each leg an order of its own on the
other side with its own id and client order id, `held` until the entry has filled in
full, then `new` (a `new` trade update each). `trade` moves a symbol's price: an active
leg whose price it crosses fills (the take-profit at its limit, the stop-loss at the
price), and Alpaca cancels the other (a `canceled` update: one cancels other).
Cancelling an entry cancels the legs it holds.

The simulator runs in its own thread and loop (`payments.sandbox.serve`); a test fills
orders with `fill` (pushed to every listening stream unless `push=False`), and can make
the next order's answer go missing after the order is taken (`lose_next_answer`) or
refuse the next order (`refuse_next`, Alpaca's 403 with its message). `cancel_requests`
lists the ids each `DELETE /v2/orders/{id}` named."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from litestar import Litestar, Request, Response, WebSocket, delete, get, post, websocket
from litestar.params import FromPath

NOT_AUTHORIZED = {"code": 40110000, "message": "request is not authorized"}


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass
class SimAccount:
    key_id: str
    secret: str
    account_number: str = field(default_factory=lambda: "PA3" + secrets.token_hex(4).upper())
    status: str = "ACTIVE"
    buying_power: Decimal = Decimal(1_000_000)


@dataclass
class SimOrder:
    id: str
    key_id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    qty: Decimal
    limit_price: str | None
    stop_price: str | None
    status: str = "accepted"
    filled_qty: Decimal = Decimal(0)
    filled_value: Decimal = Decimal(0)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    order_class: str = ""
    legs: list[SimOrder] = field(default_factory=list)
    parent_id: str | None = None

    def wire(self) -> dict[str, Any]:
        avg = self.filled_value / self.filled_qty if self.filled_qty else None
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "created_at": self.created_at,
            "updated_at": datetime.now(UTC).isoformat(),
            "submitted_at": self.created_at,
            "filled_at": None,
            "asset_class": "us_equity",
            "symbol": self.symbol,
            "qty": _text(self.qty),
            "notional": None,
            "filled_qty": _text(self.filled_qty),
            "filled_avg_price": None if avg is None else _text(avg.quantize(Decimal("1e-6"))),
            "order_class": self.order_class,
            "legs": [leg.wire() for leg in self.legs] if self.legs else None,
            "order_type": self.type,
            "type": self.type,
            "side": self.side,
            "time_in_force": self.time_in_force,
            "limit_price": self.limit_price,
            "stop_price": self.stop_price,
            "status": self.status,
            "extended_hours": False,
        }


def _class_refusal(order_class: str, take_profit: Any, stop_loss: Any) -> str | None:
    """Why Alpaca would refuse an order of this class with these legs (None: it takes it)."""
    legs = [leg for leg in (take_profit, stop_loss) if leg is not None]
    if order_class == "bracket" and len(legs) != 2:
        return "bracket orders must have both take_profit and stop_loss"
    if order_class == "oto" and len(legs) != 1:
        return "oto orders must have either take_profit or stop_loss"
    if order_class in ("", "simple") and legs:
        return "take_profit and stop_loss are only for bracket and oto orders"
    if order_class not in ("", "simple", "bracket", "oto"):
        return f"invalid order_class {order_class}"
    if take_profit is not None and not isinstance(take_profit.get("limit_price"), str):
        return "take_profit.limit_price is required"
    if stop_loss is not None and not isinstance(stop_loss.get("stop_price"), str):
        return "stop_loss.stop_price is required"
    return None


def _update(event: str, order: SimOrder) -> dict[str, Any]:
    return {"event": event, "order": order.wire(), "timestamp": datetime.now(UTC).isoformat()}


@dataclass
class _Listener:
    key_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes]


@dataclass
class AlpacaSimulator:
    base_url: str = ""  # set once served
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    order_posts: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lose_next_answer: bool = False
    # Refuse the next order as Alpaca does when the account cannot take it (403).
    refuse_next: str | None = None
    cancel_requests: list[str] = field(default_factory=list)
    _listeners: list[_Listener] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/stream"

    def reset(self) -> None:
        with self._lock:
            self.accounts.clear()
            self.orders.clear()
            self.order_posts.clear()
            self.refused.clear()
            self.cancel_requests.clear()
            self.lose_next_answer = False
            self.refuse_next = None

    def open_account(self) -> SimAccount:
        account = SimAccount(
            key_id="PK" + secrets.token_hex(9).upper(), secret=secrets.token_urlsafe(30)
        )
        self.accounts[account.key_id] = account
        return account

    @property
    def listening(self) -> int:
        return len(self._listeners)

    def orders_of(self, account: SimAccount) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.key_id == account.key_id]

    def fill(self, order_id: str, qty: float, price: float, *, push: bool = True) -> None:
        """Fill `qty` more of an order at `price`, and tell the account's streams; an
        entry filled in full activates the legs it held."""
        with self._lock:
            events = self._fill(self.orders[order_id], Decimal(repr(qty)), Decimal(repr(price)))
        if push:
            for key_id, event in events:
                self._push(key_id, event)

    def trade(self, symbol: str, price: float) -> None:
        """The market trades `symbol` (Alpaca's symbol) at `price`: each active leg whose
        price this crosses fills in full, and its sibling is cancelled."""
        at = Decimal(repr(price))
        events: list[tuple[str, dict[str, Any]]] = []
        with self._lock:
            for leg in [o for o in self.orders.values() if o.symbol == symbol]:
                if leg.parent_id is None or leg.status not in ("new", "accepted"):
                    continue
                selling = leg.side == "sell"
                if leg.type == "limit":
                    limit = Decimal(leg.limit_price or "0")
                    crossed, fill_at = (at >= limit if selling else at <= limit), limit
                else:
                    stop = Decimal(leg.stop_price or "0")
                    crossed, fill_at = (at <= stop if selling else at >= stop), at
                if not crossed:
                    continue
                events += self._fill(leg, leg.qty - leg.filled_qty, fill_at)
                parent = self.orders[leg.parent_id]
                for sibling in parent.legs:
                    if sibling is not leg and sibling.status in ("held", "new", "accepted"):
                        sibling.status = "canceled"
                        events.append((sibling.key_id, _update("canceled", sibling)))
        for key_id, event in events:
            self._push(key_id, event)

    def _fill(
        self, order: SimOrder, amount: Decimal, at: Decimal
    ) -> list[tuple[str, dict[str, Any]]]:
        """Fill `amount` more of `order` at `at` (the caller holds the lock); → the
        trade updates to push."""
        order.filled_qty += amount
        order.filled_value += amount * at
        full = order.filled_qty >= order.qty
        order.status = "filled" if full else "partially_filled"
        position = sum(
            (o.filled_qty if o.side == "buy" else -o.filled_qty)
            for o in self.orders.values()
            if o.key_id == order.key_id and o.symbol == order.symbol
        )
        event = {
            "event": "fill" if full else "partial_fill",
            "execution_id": str(uuid.uuid4()),
            "order": order.wire(),
            "timestamp": datetime.now(UTC).isoformat(),
            "price": _text(at),
            "qty": _text(amount),
            "position_qty": _text(Decimal(position)),
        }
        events = [(order.key_id, event)]
        if full:
            for leg in order.legs:
                if leg.status == "held":
                    leg.status = "new"
                    events.append((leg.key_id, _update("new", leg)))
        return events

    def _push(self, key_id: str, event: dict[str, Any]) -> None:
        frame = json.dumps({"stream": "trade_updates", "data": event}).encode()
        for listener in list(self._listeners):
            if listener.key_id == key_id:
                listener.loop.call_soon_threadsafe(listener.queue.put_nowait, frame)

    def _account(self, request: Request[Any, Any, Any]) -> SimAccount | None:
        account = self.accounts.get(request.headers.get("apca-api-key-id", ""))
        if account is None or request.headers.get("apca-api-secret-key") != account.secret:
            self.refused.append(f"{request.method} {request.url.path}: not authorized")
            return None
        return account

    def app(self) -> Litestar:
        sim = self

        @get("/v2/account")
        async def account(request: Request[Any, Any, Any]) -> Response[Any]:
            found = sim._account(request)
            if found is None:
                return Response(NOT_AUTHORIZED, status_code=401)
            return Response(
                {
                    "id": str(uuid.uuid4()),
                    "account_number": found.account_number,
                    "status": found.status,
                    "currency": "USD",
                    "cash": _text(found.buying_power),
                    "buying_power": _text(found.buying_power),
                    "pattern_day_trader": False,
                    "trading_blocked": False,
                }
            )

        @post("/v2/orders", status_code=200)
        async def place(request: Request[Any, Any, Any]) -> Response[Any]:
            found = sim._account(request)
            if found is None:
                return Response(NOT_AUTHORIZED, status_code=401)
            body = await request.json()
            sim.order_posts.append(body)
            with sim._lock:
                client_id = body.get("client_order_id") or str(uuid.uuid4())
                if any(
                    o.client_order_id == client_id and o.key_id == found.key_id
                    for o in sim.orders.values()
                ):
                    refusal = {"code": 40010001, "message": "client_order_id must be unique"}
                    return Response(refusal, status_code=422)
                if sim.refuse_next is not None:
                    refusal = {"code": 40310000, "message": sim.refuse_next}
                    sim.refuse_next = None
                    return Response(refusal, status_code=403)
                if not isinstance(body.get("qty"), str) or body.get("side") not in ("buy", "sell"):
                    return Response({"code": 40010001, "message": "invalid order"}, 422)
                order_class = body.get("order_class") or ""
                take_profit, stop_loss = body.get("take_profit"), body.get("stop_loss")
                refusal_text = _class_refusal(order_class, take_profit, stop_loss)
                if refusal_text is not None:
                    return Response({"code": 42210000, "message": refusal_text}, 422)
                order = SimOrder(
                    id=str(uuid.uuid4()),
                    key_id=found.key_id,
                    client_order_id=client_id,
                    symbol=body["symbol"],
                    side=body["side"],
                    type=body["type"],
                    time_in_force=body["time_in_force"],
                    qty=Decimal(body["qty"]),
                    limit_price=body.get("limit_price"),
                    stop_price=body.get("stop_price"),
                    order_class=order_class,
                )
                exit_side = "sell" if order.side == "buy" else "buy"
                for kind, price in (("limit", take_profit), ("stop", stop_loss)):
                    if price is None:
                        continue
                    leg = SimOrder(
                        id=str(uuid.uuid4()),
                        key_id=found.key_id,
                        client_order_id=str(uuid.uuid4()),
                        symbol=order.symbol,
                        side=exit_side,
                        type=kind,
                        time_in_force=order.time_in_force,
                        qty=order.qty,
                        limit_price=price.get("limit_price") if kind == "limit" else None,
                        stop_price=price.get("stop_price") if kind == "stop" else None,
                        status="held",
                        order_class=order_class,
                        parent_id=order.id,
                    )
                    order.legs.append(leg)
                    sim.orders[leg.id] = leg
                sim.orders[order.id] = order
                if sim.lose_next_answer:
                    sim.lose_next_answer = False
                    return Response({"message": "upstream timed out"}, status_code=504)
            return Response(order.wire())

        def _owned(request: Request[Any, Any, Any], order: SimOrder | None) -> Response[Any] | None:
            found = sim._account(request)
            if found is None:
                return Response(NOT_AUTHORIZED, status_code=401)
            if order is None or order.key_id != found.key_id:
                return Response({"code": 40410000, "message": "order not found"}, 404)
            return None

        @get("/v2/orders/{order_id:str}")
        async def one(order_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            order = sim.orders.get(order_id)
            refusal = _owned(request, order)
            return refusal or Response(order.wire() if order else {})

        @get("/v2/orders:by_client_order_id")
        async def by_client_id(request: Request[Any, Any, Any]) -> Response[Any]:
            wanted = request.query_params.get("client_order_id")
            order = next((o for o in sim.orders.values() if o.client_order_id == wanted), None)
            refusal = _owned(request, order)
            return refusal or Response(order.wire() if order else {})

        @delete("/v2/orders/{order_id:str}", status_code=200)
        async def cancel(order_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            order = sim.orders.get(order_id)
            refusal = _owned(request, order)
            if refusal is not None or order is None:
                return refusal or Response(None, status_code=404)
            sim.cancel_requests.append(order_id)
            if order.status in ("filled", "canceled", "expired", "rejected"):
                return Response({"code": 42210000, "message": "order is not cancelable"}, 422)
            order.status = "canceled"
            sim._push(order.key_id, _update("canceled", order))
            for leg in order.legs:  # the legs it held go with it
                if leg.status == "held":
                    leg.status = "canceled"
                    sim._push(leg.key_id, _update("canceled", leg))
            return Response(None, status_code=204)

        @get("/v2/positions")
        async def positions(request: Request[Any, Any, Any]) -> Response[Any]:
            found = sim._account(request)
            if found is None:
                return Response(NOT_AUTHORIZED, status_code=401)
            held: dict[str, tuple[Decimal, Decimal]] = {}
            for o in sim.orders_of(found):
                sign = 1 if o.side == "buy" else -1
                qty, value = held.get(o.symbol, (Decimal(0), Decimal(0)))
                held[o.symbol] = (qty + sign * o.filled_qty, value + sign * o.filled_value)
            return Response(
                [
                    {
                        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
                        "symbol": symbol,
                        "exchange": "NASDAQ",
                        "asset_class": "us_equity",
                        "qty": _text(qty),
                        "avg_entry_price": _text((value / qty).quantize(Decimal("1e-6"))),
                        "side": "long" if qty > 0 else "short",
                        "market_value": _text(value),
                    }
                    for symbol, (qty, value) in held.items()
                    if qty
                ]
            )

        @websocket("/stream")
        async def stream(socket: WebSocket[Any, Any, Any]) -> None:
            await socket.accept()
            auth = json.loads(await socket.receive_text())
            found = sim.accounts.get(str(auth.get("key")))
            if auth.get("action") != "auth" or found is None or auth.get("secret") != found.secret:
                failed = {"action": "authenticate", "status": "unauthorized"}
                await socket.send_bytes(
                    json.dumps({"stream": "authorization", "data": failed}).encode()
                )
                await socket.close()
                return
            ok = {"action": "authenticate", "status": "authorized"}
            await socket.send_bytes(json.dumps({"stream": "authorization", "data": ok}).encode())
            listen = json.loads(await socket.receive_text())
            streams = listen.get("data", {}).get("streams", [])
            listening = {
                "stream": "listening",
                "data": {"streams": [s for s in streams if s == "trade_updates"]},
            }
            await socket.send_bytes(json.dumps(listening).encode())
            listener = _Listener(found.key_id, asyncio.get_running_loop(), asyncio.Queue())
            sim._listeners.append(listener)
            try:
                while True:
                    await socket.send_bytes(await listener.queue.get())
            finally:
                sim._listeners.remove(listener)

        return Litestar([account, place, one, by_client_id, cancel, positions, stream])
