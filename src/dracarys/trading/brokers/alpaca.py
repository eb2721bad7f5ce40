"""Alpaca's Trading API over httpx, in its wire format: the account (`GET /v2/account`,
which also proves a pair of keys), orders (`POST /v2/orders` with our `client_order_id`,
`GET /v2/orders/{id}`, `GET /v2/orders:by_client_order_id`, `DELETE /v2/orders/{id}`),
positions (`GET /v2/positions`), every request signed with the `APCA-API-KEY-ID` and
`APCA-API-SECRET-KEY` headers; and the `trade_updates` stream over its WebSocket: an
`auth` message answered on the `authorization` stream, then `listen`, then one message
per order event. Alpaca sends quantities and prices as decimal strings, and the paper
endpoint sends the stream in binary frames.

An entry with a take-profit and a stop-loss goes as one bracket order (`order_class:
"bracket"`, `take_profit.limit_price`, `stop_loss.stop_price`); with only one of them, as
`"oto"`. Alpaca answers with the entry and its `legs`, each an order with its own id and
client order id, held until the entry fills; when one leg fills Alpaca cancels the other,
and each leg's fill and cancellation come on `trade_updates` like any order's.

A second order under a client order id Alpaca has seen is refused (422, "client_order_id
must be unique"): `place` then answers the order already there, so sending again after a
crash places nothing twice."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import websockets

from dracarys.trading.brokers.broker import BrokerRefused, BrokerUnavailable
from dracarys.trading.brokers.models import (
    BrokerAccount,
    BrokerOrderRequest,
    BrokerOrderState,
    BrokerPosition,
    TradeUpdate,
)

TRADE_UPDATES = "trade_updates"


class AlpacaOrder(msgspec.Struct, kw_only=True):
    id: str
    client_order_id: str
    symbol: str
    side: str
    status: str
    qty: str | None = None
    notional: str | None = None
    filled_qty: str = "0"
    filled_avg_price: str | None = None
    type: str = ""
    order_class: str = ""
    legs: list[AlpacaOrder] | None = None


class AlpacaPosition(msgspec.Struct, kw_only=True):
    symbol: str
    qty: str
    avg_entry_price: str
    market_value: str | None = None


class AlpacaAccount(msgspec.Struct, kw_only=True):
    account_number: str
    status: str
    currency: str = "USD"


class AlpacaTradeUpdate(msgspec.Struct, kw_only=True):
    event: str
    order: AlpacaOrder
    timestamp: str | None = None


def decimal_text(value: float) -> str:
    """A quantity or price as Alpaca takes it: plain decimal text, no exponent."""
    return format(Decimal(repr(value)).normalize(), "f")


def _state(order: AlpacaOrder) -> BrokerOrderState:
    return BrokerOrderState(
        broker_order_id=order.id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        qty=float(order.qty or 0),
        status=order.status,
        filled_qty=float(order.filled_qty or 0),
        filled_avg_price=float(order.filled_avg_price) if order.filled_avg_price else None,
        order_type=order.type,
        legs=tuple(_state(leg) for leg in order.legs or ()),
    )


def _moment(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return f"HTTP {response.status_code}"


class AlpacaBroker:
    name = "alpaca"

    def __init__(
        self,
        *,
        base_url: str,
        stream_url: str,
        key_id: str,
        secret: str,
        timeout_s: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stream_url = stream_url
        self._key_id = key_id
        self._secret = secret
        self._timeout = httpx.Timeout(timeout_s)

    async def _call(
        self, method: str, path: str, *, body: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {"APCA-API-KEY-ID": self._key_id, "APCA-API-SECRET-KEY": self._secret}
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.request(
                    method, self.base_url + path, json=body, params=params, headers=headers
                )
        except httpx.HTTPError as exc:
            raise BrokerUnavailable(f"Alpaca could not be reached: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise BrokerUnavailable(f"Alpaca failed: {_message(response)}")
        return response

    @staticmethod
    def _refused(response: httpx.Response) -> BrokerRefused:
        if response.status_code in (401, 403) and "not authorized" in _message(response):
            return BrokerRefused("Alpaca did not accept these API keys")
        return BrokerRefused(f"Alpaca refused: {_message(response)}")

    async def account(self) -> BrokerAccount:
        response = await self._call("GET", "/v2/account")
        if response.status_code != 200:
            raise self._refused(response)
        account = msgspec.json.decode(response.content, type=AlpacaAccount)
        return BrokerAccount(
            account_number=account.account_number, status=account.status, currency=account.currency
        )

    async def place(self, order: BrokerOrderRequest) -> BrokerOrderState:
        body: dict[str, Any] = {
            "symbol": order.symbol,
            "qty": decimal_text(order.qty),
            "side": order.side,
            "type": order.kind,
            "time_in_force": order.tif,
            "client_order_id": order.client_order_id,
        }
        if order.limit_price is not None:
            body["limit_price"] = decimal_text(order.limit_price)
        if order.stop_price is not None:
            body["stop_price"] = decimal_text(order.stop_price)
        if order.take_profit is not None:
            body["take_profit"] = {"limit_price": decimal_text(order.take_profit)}
        if order.stop_loss is not None:
            body["stop_loss"] = {"stop_price": decimal_text(order.stop_loss)}
        if order.take_profit is not None and order.stop_loss is not None:
            body["order_class"] = "bracket"
        elif order.take_profit is not None or order.stop_loss is not None:
            body["order_class"] = "oto"
        response = await self._call("POST", "/v2/orders", body=body)
        if response.status_code == 200:
            return _state(msgspec.json.decode(response.content, type=AlpacaOrder))
        if response.status_code == 422 and "client_order_id must be unique" in _message(response):
            return await self.order_by_client_id(order.client_order_id)
        raise self._refused(response)

    async def order_by_client_id(self, client_order_id: str) -> BrokerOrderState:
        response = await self._call(
            "GET",
            "/v2/orders:by_client_order_id",
            params={"client_order_id": client_order_id, "nested": "true"},
        )
        if response.status_code != 200:
            raise self._refused(response)
        return _state(msgspec.json.decode(response.content, type=AlpacaOrder))

    async def order(self, broker_order_id: str) -> BrokerOrderState:
        response = await self._call(
            "GET", f"/v2/orders/{broker_order_id}", params={"nested": "true"}
        )
        if response.status_code != 200:
            raise self._refused(response)
        return _state(msgspec.json.decode(response.content, type=AlpacaOrder))

    async def cancel(self, broker_order_id: str) -> None:
        response = await self._call("DELETE", f"/v2/orders/{broker_order_id}")
        if response.status_code not in (200, 204):
            raise self._refused(response)

    async def positions(self) -> list[BrokerPosition]:
        response = await self._call("GET", "/v2/positions")
        if response.status_code != 200:
            raise self._refused(response)
        held = msgspec.json.decode(response.content, type=list[AlpacaPosition])
        return [
            BrokerPosition(
                symbol=p.symbol,
                qty=float(p.qty),
                avg_entry_price=float(p.avg_entry_price),
                market_value=float(p.market_value) if p.market_value else None,
            )
            for p in held
        ]

    async def fills(self) -> AsyncGenerator[TradeUpdate]:
        """Authenticate, listen to `trade_updates`, then yield each order event; ends
        (raising) when the connection drops: the caller reconnects, and asks about open
        orders meanwhile, since Alpaca does not replay what a closed stream missed."""
        try:
            async with websockets.connect(
                self.stream_url, open_timeout=self._timeout.connect
            ) as socket:
                auth = {"action": "auth", "key": self._key_id, "secret": self._secret}
                await socket.send(json.dumps(auth))
                answer = _decoded(await socket.recv())
                data = answer.get("data") or {}
                if answer.get("stream") != "authorization" or data.get("status") != "authorized":
                    raise BrokerRefused("Alpaca did not accept these API keys on its stream")
                listen = {"action": "listen", "data": {"streams": [TRADE_UPDATES]}}
                await socket.send(json.dumps(listen))
                async for frame in socket:
                    message = _decoded(frame)
                    if message.get("stream") != TRADE_UPDATES:
                        continue  # the `listening` acknowledgement
                    update = msgspec.convert(message.get("data"), AlpacaTradeUpdate)
                    yield TradeUpdate(
                        event=update.event, order=_state(update.order), at=_moment(update.timestamp)
                    )
        except (OSError, websockets.WebSocketException) as exc:
            raise BrokerUnavailable(f"Alpaca's trade updates stream failed: {exc!r}") from exc


def _decoded(frame: str | bytes) -> dict[str, Any]:
    value = json.loads(frame)
    return value if isinstance(value, dict) else {}
