"""A local M-Pesa Daraja: OAuth, STK push (Lipa na M-Pesa Online) and its status query,
B2C payments and the transaction-status query, with the exact callback bodies Safaricom
posts and its result codes. People answer its STK pushes on the sandbox's phone page
(`dracarys.payments.sandbox.phone`); tests answer them directly, and can also make it
refuse a push, hold a call (after acting on it or not) while they kill the caller, and
lose its answers, as a broken connection would."""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec
from litestar import Litestar, Request, Response, route
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from dracarys.payments.sandbox.phone import phone_routes
from dracarys.payments.sandbox.serving import Deliveries, HeldCall, json_response, keep_waiting

NAIROBI = ZoneInfo("Africa/Nairobi")
_PHONE = re.compile(r"^254(7|1)\d{8}$")
# The ResultCode of an STK push's callback, and Daraja's ResultDesc for each.
STK_RESULTS: dict[int, str] = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    1032: "Request cancelled by user",
    1037: "DS timeout user cannot be reached",
    2001: "The initiator information is invalid.",
}


@dataclass(frozen=True)
class B2COutcome:
    """What M-Pesa did with a B2C request it processed."""

    result_code: int
    receipt: str
    paid_amount: int  # whole shillings


@dataclass
class DarajaSimulator:
    # The tests' credentials (the embedded sandbox makes fresh ones); the shortcode and
    # passkey are those of Safaricom's public sandbox.
    consumer_key: str = "sim-consumer-key"
    consumer_secret: str = "sim-consumer-secret"  # noqa: S105
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
    # The next STK pushes M-Pesa refuses outright: (HTTP status, errorCode, errorMessage).
    push_refusals: list[tuple[int, str, str]] = field(default_factory=list)
    # When each STK push came in (time.time()), and the callbacks posted on their own.
    pushed_at: dict[str, float] = field(default_factory=dict)
    deliveries: Deliveries = field(default_factory=Deliveries)
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
        self.push_refusals.clear()
        self.deliveries.answers_to_lose = 0
        for held in self.holds.values():
            held.released.set()
        self.holds.clear()

    def hold(self, path: str, act: Literal["nothing", "accept", "pay"]) -> HeldCall:
        held = HeldCall(act)
        self.holds[path] = held
        return held

    def refuse_next_push(
        self,
        message: str = "Bad Request - Invalid PhoneNumber",
        *,
        status: int = 400,
        code: str = "400.002.02",
    ) -> None:
        """M-Pesa refuses the next STK push with this error (nothing reaches a phone)."""
        self.push_refusals.append((status, code, message))

    def routes(self) -> list[BaseRouteHandler]:
        """The API (/oauth, /mpesa) and the phone page a person answers pushes on."""
        simulator = self

        @route("/oauth/{rest:path}", http_method=["GET", "POST"])
        async def oauth(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
            return await simulator.handle(request, f"/oauth{rest}")

        @route("/mpesa/{rest:path}", http_method=["GET", "POST"])
        async def mpesa(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
            return await simulator.handle(request, f"/mpesa{rest}")

        return [oauth, mpesa, *phone_routes(self)]

    def app(self) -> Litestar:
        return Litestar(self.routes(), debug=False)

    def _error(self, status: int, code: str, message: str) -> Response[bytes]:
        return json_response(
            {"requestId": secrets.token_hex(8), "errorCode": code, "errorMessage": message}, status
        )

    async def handle(self, request: Request[Any, Any, Any], rest: str) -> Response[bytes]:
        held = self.holds.pop(rest, None)
        if held is not None and held.act == "nothing":
            await keep_waiting(held)
            return self._error(503, "503.001.01", "Service is currently unreachable")
        response = await self._answer(request, rest, held)
        if held is not None:
            await keep_waiting(held)
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
            return json_response({"access_token": token, "expires_in": "3599"})
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
        if self.push_refusals:
            status, code, message = self.push_refusals.pop(0)
            return self._error(status, code, message)
        n = next(self._ids)
        checkout_id = f"ws_CO_{n:04d}{secrets.token_hex(6)}"
        merchant_id = f"{29115 + n}-{34620561 + n}-1"
        self.pushes[checkout_id] = {**body, "MerchantRequestID": merchant_id}
        self.pushed_at[checkout_id] = time.time()
        return json_response(
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
        return json_response(
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
        return json_response(
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
        return json_response(
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
        """The customer answers a push: the callback's path and body, as Safaricom posts
        them (`result_code` 0 paid; 1032 cancelled by the user, 1 not enough money, 1037
        the phone could not be reached, 2001 wrong PIN)."""
        push = self.pushes[checkout_id]
        desc = STK_RESULTS.get(result_code, "The transaction failed.")
        self.results[checkout_id] = (result_code, desc)
        callback: dict[str, Any] = {
            "MerchantRequestID": push["MerchantRequestID"],
            "CheckoutRequestID": checkout_id,
            "ResultCode": result_code,
            "ResultDesc": desc,
        }
        if result_code == 0:
            paid_at = datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")
            callback["CallbackMetadata"] = {
                "Item": [
                    {
                        "Name": "Amount",
                        "Value": float(amount if amount is not None else push["Amount"]),
                    },
                    {"Name": "MpesaReceiptNumber", "Value": f"TAB{secrets.token_hex(4).upper()}"},
                    {"Name": "TransactionDate", "Value": int(paid_at)},
                    {"Name": "PhoneNumber", "Value": int(push["PhoneNumber"])},
                ]
            }
        return urlsplit(push["CallBackURL"]).path, {"Body": {"stkCallback": callback}}

    def answer_push(self, checkout_id: str, result_code: int) -> None:
        """The customer answers a push on the phone page: its callback is posted to its
        CallBackURL (retried until taken)."""
        _, body = self.stk_callback(checkout_id, result_code=result_code)
        url = str(self.pushes[checkout_id]["CallBackURL"])
        content = msgspec.json.encode(body)
        self.deliveries.send(
            checkout_id, url, lambda: (content, {"Content-Type": "application/json"})
        )

    def unanswered_pushes(self) -> list[str]:
        """The pushes still on a phone, newest first."""
        waiting = [c for c in self.pushes if c not in self.results]
        return sorted(waiting, key=lambda c: self.pushed_at.get(c, 0.0), reverse=True)

    def answered_pushes(self, limit: int = 10) -> list[str]:
        """The latest pushes answered, newest first."""
        answered = [c for c in self.pushes if c in self.results]
        return sorted(answered, key=lambda c: self.pushed_at.get(c, 0.0), reverse=True)[:limit]

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
