"""Local simulators of the payment providers, speaking their wire formats over real HTTP:
Stripe's form-encoded API with JSON answers and signed webhooks, and Safaricom Daraja's
OAuth, STK push, STK query, B2C and transaction-status endpoints with their exact
callback payloads. The Daraja simulator can also hold a call (after acting on it or not)
while the test kills the caller, and lose its answers, as a broken connection would."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import msgspec
import uvicorn
from litestar import Litestar, Request, Response, route
from litestar.params import FromPath

# ---- serving --------------------------------------------------------------------------


@contextlib.contextmanager
def serve(app: Litestar) -> Iterator[str]:
    """Run `app` on a free local port in a thread with its own event loop (the app under
    test may block its own loop while it waits on us); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _json(body: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


# ---- Stripe ---------------------------------------------------------------------------


def parse_stripe_form(body: bytes) -> dict[str, Any]:
    """Stripe's bracket notation (`line_items[0][price_data][currency]=kes`) as nested
    dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ([] if parts[i + 1].isdigit() else {})
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None or last:
                    node[index] = nxt
                node = node[index]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
    return root


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


@dataclass
class StripeSimulator:
    api_key: str = "sk_test_simulator_key"
    webhook_secrets: list[str] = field(default_factory=lambda: ["whsec_simulator_secret"])
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by checkout session
    idempotent: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    base_url: str = ""

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}{secrets.token_hex(6)}"

    def app(self) -> Litestar:
        simulator = self

        @route("/v1/{rest:path}", http_method=["GET", "POST"])
        async def api(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
            return await simulator.handle(request, rest)

        return Litestar([api], debug=False)

    async def handle(self, request: Request[Any, Any, Any], rest: str) -> Response[bytes]:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _json(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}, 401
            )
        rest = rest.lstrip("/")
        params = parse_stripe_form(await request.body())
        self.requests.append((request.method, rest, params))
        key = request.headers.get("idempotency-key")
        if key and key in self.idempotent:
            status, body = self.idempotent[key]
            return _json(body, status)
        if request.method == "POST" and rest == "checkout/sessions":
            status, body = 200, self._create_session(params)
        elif request.method == "POST" and rest == "refunds":
            status, body = self._create_refund(params)
        elif request.method == "GET" and rest.startswith("checkout/sessions/"):
            found = self.sessions.get(rest.rsplit("/", 1)[-1])
            status, body = (200, found) if found else (404, {"error": {"message": "No such"}})
        else:
            status, body = 404, {"error": {"type": "invalid_request_error", "message": rest}}
        if key:
            self.idempotent[key] = (status, body)
        return _json(body, status)

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        item = params["line_items"][0]
        amount = int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
        session_id = self._id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_total": amount,
            "currency": item["price_data"]["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "mode": params.get("mode"),
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "livemode": False,
        }
        self.sessions[session_id] = session
        return session

    def _create_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = params.get("payment_intent")
        paid = next((s for s in self.sessions.values() if s["payment_intent"] == intent), None)
        if paid is None:
            return 400, {"error": {"type": "invalid_request_error", "message": "No such intent"}}
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": int(params["amount"]),
            "currency": paid["currency"],
            "payment_intent": intent,
            "metadata": params.get("metadata", {}),
            "status": "pending",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    # What the test drives: customers paying, sessions expiring, refunds settling.

    def event(self, event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
        return {
            "id": self._id("evt"),
            "object": "event",
            "api_version": "2025-06-30.basil",
            "created": created,
            "type": event_type,
            "livemode": False,
            "data": {"object": dict(obj)},
        }

    def pay(self, session_id: str, created: int, *, amount: int | None = None) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(payment_status="paid", status="complete", payment_intent=self._id("pi"))
        if amount is not None:
            session["amount_total"] = amount
        return self.event("checkout.session.completed", session, created)

    def expire(self, session_id: str, created: int) -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="expired")
        return self.event("checkout.session.expired", session, created)

    def settle_refund(self, refund_id: str, status: str, created: int) -> dict[str, Any]:
        refund = self.refunds[refund_id]
        refund["status"] = status
        return self.event("refund.updated", refund, created)

    def dispute(
        self,
        session_id: str,
        event_type: str,
        created: int,
        *,
        status: str = "needs_response",
        amount: int | None = None,
    ) -> dict[str, Any]:
        """The cardholder's bank disputes the payment of a paid session (a Dispute object,
        as Stripe sends it in `charge.dispute.*` events)."""
        session = self.sessions[session_id]
        dispute = self.disputes.setdefault(
            session_id,
            {
                "id": self._id("dp"),
                "object": "dispute",
                "amount": amount if amount is not None else session["amount_total"],
                "currency": session["currency"],
                "charge": self._id("ch"),
                "payment_intent": session["payment_intent"],
                "reason": "fraudulent",
                "is_charge_refundable": False,
                "livemode": False,
            },
        )
        dispute["status"] = status
        return self.event(event_type, dispute, created)

    def signed(
        self, event: dict[str, Any], timestamp: int, *, secrets_: list[str] | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The exact bytes Stripe sends and its Stripe-Signature header: one v1 per secret
        (several while a secret is being rolled)."""
        payload = msgspec.json.encode(event)
        v1 = ",".join(
            f"v1={stripe_signature(payload, s, timestamp)}"
            for s in (secrets_ or self.webhook_secrets)
        )
        return payload, {
            "Stripe-Signature": f"t={timestamp},{v1}",
            "Content-Type": "application/json",
        }


# ---- Daraja ---------------------------------------------------------------------------

NAIROBI = ZoneInfo("Africa/Nairobi")
_PHONE = re.compile(r"^254(7|1)\d{8}$")


@dataclass
class HeldCall:
    """The next call to one path, held: the simulator does what `act` says with it, tells
    the test it `arrived`, and keeps the caller waiting for an answer until `released`
    (a killed caller never gets one). act: "nothing" (as if the request never reached
    M-Pesa), "accept" (taken in, not yet processed) or "pay" (taken in and paid)."""

    act: Literal["nothing", "accept", "pay"]
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class B2COutcome:
    """What M-Pesa did with a B2C request it processed."""

    result_code: int
    receipt: str
    paid_amount: int  # whole shillings


@dataclass
class DarajaSimulator:
    consumer_key: str = "sim-consumer-key"
    consumer_secret: str = "sim-consumer-secret"
    shortcode: str = "174379"
    passkey: str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
    b2c_shortcode: str = "600000"
    tokens: set[str] = field(default_factory=set)
    pushes: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, tuple[int, str]] = field(default_factory=dict)
    # B2C requests M-Pesa took in, by OriginatorConversationID, and what it did with them.
    b2c_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    b2c_outcomes: dict[str, B2COutcome] = field(default_factory=dict)
    b2c_failures_to_inject: int = 0
    # B2C calls answered 500 Internal Server Error: after M-Pesa took the request in
    # (`b2c_answers_to_lose`), or before it reached M-Pesa (`b2c_lost_before_mpesa`).
    b2c_answers_to_lose: int = 0
    b2c_lost_before_mpesa: int = 0
    # Transaction-status queries received, and their results waiting to be posted.
    status_queries: list[dict[str, Any]] = field(default_factory=list)
    status_results: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    holds: dict[str, HeldCall] = field(default_factory=dict)
    # The name M-Pesa has on file for a number (a B2C result names its receiver by it).
    registered_names: dict[str, str] = field(default_factory=dict)
    token_requests: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def reset(self) -> None:
        """Forget a previous test's injected failures, holds and undelivered results."""
        self.b2c_failures_to_inject = 0
        self.b2c_answers_to_lose = 0
        self.b2c_lost_before_mpesa = 0
        self.status_results.clear()
        self.registered_names.clear()
        for held in self.holds.values():
            held.released.set()
        self.holds.clear()

    def hold(self, path: str, act: Literal["nothing", "accept", "pay"]) -> HeldCall:
        held = HeldCall(act)
        self.holds[path] = held
        return held

    async def _keep_waiting(self, held: HeldCall) -> None:
        held.arrived.set()
        deadline = time.monotonic() + 120
        while not held.released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def app(self) -> Litestar:
        simulator = self

        @route("/{rest:path}", http_method=["GET", "POST"])
        async def api(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
            return await simulator.handle(request, rest)

        return Litestar([api], debug=False)

    def _error(self, status: int, code: str, message: str) -> Response[bytes]:
        return _json(
            {"requestId": secrets.token_hex(8), "errorCode": code, "errorMessage": message}, status
        )

    async def handle(self, request: Request[Any, Any, Any], rest: str) -> Response[bytes]:
        held = self.holds.pop(rest, None)
        if held is not None and held.act == "nothing":
            await self._keep_waiting(held)
            return self._error(503, "503.001.01", "Service is currently unreachable")
        response = await self._answer(request, rest, held)
        if held is not None:
            await self._keep_waiting(held)
        return response

    async def _answer(
        self, request: Request[Any, Any, Any], rest: str, held: HeldCall | None
    ) -> Response[bytes]:
        if rest == "/oauth/v1/generate":
            expected = base64.b64encode(
                f"{self.consumer_key}:{self.consumer_secret}".encode()
            ).decode()
            if request.headers.get("authorization") != f"Basic {expected}" or (
                request.query_params.get("grant_type") != "client_credentials"
            ):
                return self._error(400, "400.008.01", "Invalid Authentication passed")
            token = secrets.token_urlsafe(20)
            self.tokens.add(token)
            self.token_requests += 1
            return _json({"access_token": token, "expires_in": "3599"})
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self._error(401, "404.001.03", "Invalid Access Token")
        body = msgspec.json.decode(await request.body())
        if rest == "/mpesa/stkpush/v1/processrequest":
            return self._stk_push(body)
        if rest == "/mpesa/stkpushquery/v1/query":
            return self._stk_query(body)
        if rest == "/mpesa/b2c/v3/paymentrequest":
            if self.b2c_lost_before_mpesa > 0:
                self.b2c_lost_before_mpesa -= 1
                return self._error(500, "500.003.1001", "Internal Server Error")
            response = self._b2c(body)
            taken = response.status_code == 200
            if taken and held is not None and held.act == "pay":
                self.settle_b2c(body["OriginatorConversationID"])
            if taken and self.b2c_answers_to_lose > 0:
                self.b2c_answers_to_lose -= 1
                return self._error(500, "500.003.1001", "Internal Server Error")
            return response
        if rest == "/mpesa/transactionstatus/v1/query":
            return self._transaction_status(body)
        return self._error(404, "404.001.01", "Resource not found")

    def _check_password(self, body: dict[str, Any]) -> str | None:
        timestamp = str(body.get("Timestamp", ""))
        if not re.fullmatch(r"\d{14}", timestamp):
            return "Invalid Timestamp"
        datetime.strptime(timestamp, "%Y%m%d%H%M%S")
        expected = base64.b64encode(f"{self.shortcode}{self.passkey}{timestamp}".encode()).decode()
        if body.get("BusinessShortCode") != self.shortcode or body.get("Password") != expected:
            return "Invalid Password"
        return None

    def _stk_push(self, body: dict[str, Any]) -> Response[bytes]:
        problem = self._check_password(body)
        amount = body.get("Amount")
        if problem is None and (not isinstance(amount, int) or amount < 1):
            problem = "Invalid Amount"
        if problem is None and not _PHONE.match(str(body.get("PhoneNumber", ""))):
            problem = "Invalid PhoneNumber"
        if problem is None and body.get("PartyA") != body.get("PhoneNumber"):
            problem = "Invalid PartyA"
        if problem is None and not 0 < len(str(body.get("AccountReference", ""))) <= 12:
            problem = "Invalid AccountReference"
        if problem is None and body.get("TransactionType") != "CustomerPayBillOnline":
            problem = "Invalid TransactionType"
        if problem is None and not str(body.get("CallBackURL", "")).startswith("http"):
            problem = "Invalid CallBackURL"
        if problem is not None:
            return self._error(400, "400.002.02", f"Bad Request - {problem}")
        n = next(self._ids)
        checkout_id = f"ws_CO_{n:04d}{secrets.token_hex(6)}"
        merchant_id = f"{29115 + n}-{34620561 + n}-1"
        self.pushes[checkout_id] = {**body, "MerchantRequestID": merchant_id}
        return _json(
            {
                "MerchantRequestID": merchant_id,
                "CheckoutRequestID": checkout_id,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
        )

    def _stk_query(self, body: dict[str, Any]) -> Response[bytes]:
        problem = self._check_password(body)
        if problem is not None:
            return self._error(400, "400.002.02", f"Bad Request - {problem}")
        checkout_id = str(body.get("CheckoutRequestID"))
        push = self.pushes.get(checkout_id)
        if push is None:
            return self._error(400, "400.002.02", "Bad Request - Invalid CheckoutRequestID")
        if checkout_id not in self.results:
            return self._error(500, "500.001.1001", "The transaction is being processed")
        code, desc = self.results[checkout_id]
        return _json(
            {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successsfully",
                "MerchantRequestID": push["MerchantRequestID"],
                "CheckoutRequestID": checkout_id,
                "ResultCode": str(code),
                "ResultDesc": desc,
            }
        )

    def _b2c(self, body: dict[str, Any]) -> Response[bytes]:
        if self.b2c_failures_to_inject > 0:
            self.b2c_failures_to_inject -= 1
            return self._error(503, "503.001.01", "Service is currently unreachable")
        required = (
            "OriginatorConversationID",
            "InitiatorName",
            "SecurityCredential",
            "CommandID",
            "Amount",
            "PartyA",
            "PartyB",
            "Remarks",
            "QueueTimeOutURL",
            "ResultURL",
        )
        missing = [k for k in required if k not in body]
        if missing or not isinstance(body["Amount"], int) or not _PHONE.match(str(body["PartyB"])):
            return self._error(400, "400.002.02", f"Bad Request - Invalid {missing or 'field'}")
        conversation = f"AG_20260105_{secrets.token_hex(10)}"
        self.b2c_requests[body["OriginatorConversationID"]] = {
            **body,
            "ConversationID": conversation,
        }
        return _json(
            {
                "ConversationID": conversation,
                "OriginatorConversationID": body["OriginatorConversationID"],
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    def _transaction_status(self, body: dict[str, Any]) -> Response[bytes]:
        required = (
            "Initiator",
            "SecurityCredential",
            "CommandID",
            "PartyA",
            "IdentifierType",
            "ResultURL",
            "QueueTimeOutURL",
            "Remarks",
        )
        missing = [k for k in required if not body.get(k)]
        asked = str(body.get("OriginalConversationID") or body.get("TransactionID") or "")
        if missing or not asked:
            return self._error(400, "400.003.02", f"Bad Request - Invalid {missing or 'ID'}")
        if body["CommandID"] != "TransactionStatusQuery" or str(body["IdentifierType"]) != "4":
            return self._error(400, "400.003.02", "Bad Request - Invalid CommandID")
        if str(body["PartyA"]) != self.b2c_shortcode:
            return self._error(400, "400.003.02", "Bad Request - Invalid PartyA")
        self.status_queries.append(body)
        n = next(self._ids)
        originator = f"{5118 + n}-{111210482 + n}-1"
        conversation = f"AG_20260105_{secrets.token_hex(10)}"
        result = self._status_result(asked, originator, conversation, body)
        if result is not None:
            self.status_results.append((urlsplit(str(body["ResultURL"])).path, result))
        return _json(
            {
                "OriginatorConversationID": originator,
                "ConversationID": conversation,
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    def _status_result(
        self, asked: str, originator: str, conversation: str, query: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The result M-Pesa posts for a status query; None while the transaction asked
        about is still being processed (nothing is posted yet)."""
        request = self.b2c_requests.get(asked)
        outcome = self.b2c_outcomes.get(asked)
        result: dict[str, Any] = {
            "ResultType": 0,
            "OriginatorConversationID": originator,
            "ConversationID": conversation,
            "ReferenceData": {"ReferenceItem": {"Key": "Occasion", "Value": query.get("Occasion")}},
        }
        if request is None:
            result.update(
                ResultCode=2032,
                ResultDesc="The transaction receipt number does not exist.",
                TransactionID="",
            )
            return {"Result": result}
        if outcome is None:
            return None
        status = "Completed" if outcome.result_code == 0 else "Failed"
        result.update(
            ResultCode=0,
            ResultDesc="The service request is processed successfully.",
            TransactionID=f"SIM{secrets.token_hex(4).upper()}",
            ResultParameters={
                "ResultParameter": [
                    {"Key": "DebitPartyName", "Value": f"{self.b2c_shortcode} - Dracarys"},
                    {"Key": "CreditPartyName", "Value": f"{request['PartyB']} - Mentor"},
                    {"Key": "OriginatorConversationID", "Value": asked},
                    {"Key": "InitiatedTime", "Value": "20260105120000"},
                    {"Key": "DebitAccountType", "Value": "Utility Account"},
                    {"Key": "DebitPartyCharges", "Value": "Fee For B2C Payment|KES|22.40"},
                    {"Key": "TransactionReason"},
                    {"Key": "ReasonType", "Value": "Business Payment to Customer via API"},
                    {"Key": "TransactionStatus", "Value": status},
                    {"Key": "FinalisedTime", "Value": "20260105120005"},
                    {"Key": "Amount", "Value": str(outcome.paid_amount)},
                    {"Key": "ConversationID", "Value": request["ConversationID"]},
                    {"Key": "ReceiptNo", "Value": outcome.receipt},
                ]
            },
        )
        return {"Result": result}

    def take_status_results(self) -> list[tuple[str, dict[str, Any]]]:
        """The status-query results Daraja would now post to their ResultURLs."""
        taken = list(self.status_results)
        self.status_results.clear()
        return taken

    def settle_b2c(
        self, originator_id: str, *, result_code: int = 0, paid_amount: int | None = None
    ) -> B2COutcome:
        """M-Pesa processes a B2C request it took in (once; later calls see the same)."""
        request = self.b2c_requests[originator_id]
        outcome = self.b2c_outcomes.get(originator_id)
        if outcome is None:
            outcome = B2COutcome(
                result_code=result_code,
                receipt=f"NLJ{secrets.token_hex(4).upper()}",
                paid_amount=request["Amount"] if paid_amount is None else paid_amount,
            )
            self.b2c_outcomes[originator_id] = outcome
        return outcome

    def paid_b2c(self, occasion: str) -> list[str]:
        """The originator ids of the B2C requests for `occasion` (our payout id) that M-Pesa
        paid."""
        return [
            originator
            for originator, request in self.b2c_requests.items()
            if request.get("Occasion") == occasion
            and (outcome := self.b2c_outcomes.get(originator)) is not None
            and outcome.result_code == 0
        ]

    def b2c_sent_for(self, occasion: str) -> list[str]:
        """The originator ids of the B2C requests M-Pesa took in for `occasion`."""
        return [o for o, r in self.b2c_requests.items() if r.get("Occasion") == occasion]

    # Callbacks exactly as Safaricom posts them.

    def stk_callback(
        self, checkout_id: str, *, result_code: int = 0, amount: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        push = self.pushes[checkout_id]
        desc = (
            "The service request is processed successfully."
            if result_code == 0
            else "Request cancelled by user"
        )
        self.results[checkout_id] = (result_code, desc)
        callback: dict[str, Any] = {
            "MerchantRequestID": push["MerchantRequestID"],
            "CheckoutRequestID": checkout_id,
            "ResultCode": result_code,
            "ResultDesc": desc,
        }
        if result_code == 0:
            callback["CallbackMetadata"] = {
                "Item": [
                    {
                        "Name": "Amount",
                        "Value": float(amount if amount is not None else push["Amount"]),
                    },
                    {"Name": "MpesaReceiptNumber", "Value": f"TAB{secrets.token_hex(4).upper()}"},
                    {"Name": "TransactionDate", "Value": 20260105120000},
                    {"Name": "PhoneNumber", "Value": int(push["PhoneNumber"])},
                ]
            }
        return urlsplit(push["CallBackURL"]).path, {"Body": {"stkCallback": callback}}

    def settle_silently(self, checkout_id: str, result_code: int = 0) -> None:
        """The customer paid but the callback is lost: only a status query will tell."""
        self.stk_callback(checkout_id, result_code=result_code)

    def b2c_result(
        self, originator_id: str, *, result_code: int = 0, paid_amount: int | None = None
    ) -> tuple[str, dict[str, Any]]:
        """The ResultURL post for a B2C request; ``paid_amount`` (whole shillings) makes
        it report another amount than the request's, as a disputed transfer would."""
        request = self.b2c_requests[originator_id]
        outcome = self.settle_b2c(originator_id, result_code=result_code, paid_amount=paid_amount)
        result: dict[str, Any] = {
            "ResultType": 0,
            "ResultCode": outcome.result_code,
            "ResultDesc": "The service request is processed successfully."
            if outcome.result_code == 0
            else "The balance is insufficient for the transaction.",
            "OriginatorConversationID": originator_id,
            "ConversationID": request["ConversationID"],
            "TransactionID": outcome.receipt,
        }
        if outcome.result_code == 0:
            result["ResultParameters"] = {
                "ResultParameter": [
                    {"Key": "TransactionAmount", "Value": outcome.paid_amount},
                    {"Key": "TransactionReceipt", "Value": result["TransactionID"]},
                    {
                        "Key": "ReceiverPartyPublicName",
                        "Value": f"{request['PartyB']} - "
                        + self.registered_names.get(request["PartyB"], "Mentor"),
                    },
                    {"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
                ]
            }
        result["ReferenceData"] = {
            "ReferenceItem": {"Key": "QueueTimeoutURL", "Value": request["QueueTimeOutURL"]}
        }
        return urlsplit(request["ResultURL"]).path, {"Result": result}

    def b2c_queue_timeout(self, originator_id: str) -> tuple[str, dict[str, Any]]:
        """What Daraja posts to QueueTimeOutURL when the request expired in its queue."""
        request = self.b2c_requests.pop(originator_id)
        result = {
            "ResultType": 1,
            "ResultCode": 1,
            "ResultDesc": "The request timed out in the queue.",
            "OriginatorConversationID": originator_id,
            "ConversationID": request["ConversationID"],
            "TransactionID": "",
        }
        return urlsplit(request["QueueTimeOutURL"]).path, {"Result": result}


# ---- settings -------------------------------------------------------------------------

CALLBACK_TOKEN = "cb-secret-path-token-5f2a9c"


def provider_env(
    stripe: StripeSimulator, stripe_url: str, daraja: DarajaSimulator, daraja_url: str
) -> dict[str, str]:
    """The settings that point the payment adapters at the simulators (Stripe's list of
    webhook secrets keeps a rotated-out one in front, as after a rotation)."""
    return {
        "DRACARYS_STRIPE_API_KEY": stripe.api_key,
        "DRACARYS_STRIPE_API_BASE": stripe_url,
        "DRACARYS_STRIPE_WEBHOOK_SECRETS": ",".join(
            ["whsec_old_rotated_out", *stripe.webhook_secrets]
        ),
        "DRACARYS_DARAJA_BASE_URL": daraja_url,
        "DRACARYS_DARAJA_CONSUMER_KEY": daraja.consumer_key,
        "DRACARYS_DARAJA_CONSUMER_SECRET": daraja.consumer_secret,
        "DRACARYS_DARAJA_SHORTCODE": daraja.shortcode,
        "DRACARYS_DARAJA_PASSKEY": daraja.passkey,
        "DRACARYS_DARAJA_B2C_SHORTCODE": daraja.b2c_shortcode,
        "DRACARYS_DARAJA_B2C_INITIATOR": "dracarys_api",
        "DRACARYS_DARAJA_B2C_SECURITY_CREDENTIAL": "c2ltdWxhdG9yLWNyZWRlbnRpYWw=",
        "DRACARYS_DARAJA_CALLBACK_TOKEN": CALLBACK_TOKEN,
    }
