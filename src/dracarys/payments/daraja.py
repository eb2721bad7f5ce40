"""Safaricom M-Pesa Daraja over httpx: OAuth client-credentials token, STK push (Lipa na
M-Pesa Online) and its status query, B2C payments and the transaction-status query that
finds out what became of one, and the readers of their asynchronous results. Field names,
formats and rules are Daraja's: `Password` = base64(shortcode + passkey + timestamp),
`Timestamp` yyyyMMddHHmmss in Nairobi time, phones as 2547XXXXXXXX, whole-shilling integer
`Amount`, `AccountReference` of at most 12 characters."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import phonenumbers

from dracarys.clock import Clock
from dracarys.errors import InvalidInput, ServiceUnavailable
from dracarys.settings import Settings

NAIROBI = ZoneInfo("Africa/Nairobi")
ACCOUNT_REFERENCE_MAX = 12
# Tokens live 3599 s; refresh a minute early so a request never carries an expired one.
_TOKEN_MARGIN = timedelta(seconds=60)
_tokens: dict[tuple[str, str], tuple[str, datetime]] = {}


class DarajaError(ServiceUnavailable):
    """Daraja refused or could not be reached; nothing was sent to the customer."""


class DarajaOutcomeUnknown(DarajaError):
    """The request may have reached M-Pesa: the connection broke or timed out after it was
    sent, or Daraja failed with a server error. Only a status query can tell whether M-Pesa
    acted on it; sending it again unasked could pay twice."""


# Answers that say Daraja did not take the request in: refusals of the request itself
# (4xx) and "service unavailable". Any other server error may come after M-Pesa acted.
_NOT_TAKEN_STATUSES = frozenset(range(400, 500)) | {503}
# TransactionStatus values of a status-query result that mean the transaction moved no
# money; "Completed" means it paid. Anything else (or another ResultCode) tells nothing.
_UNPAID_TRANSACTION_STATUSES = frozenset({"Failed", "Cancelled", "Declined", "Expired"})
# The ResultCode of a status query about a transaction M-Pesa has no record of.
STATUS_RESULT_NOT_FOUND = "2032"


@dataclass(frozen=True, slots=True)
class StkPushAccepted:
    merchant_request_id: str
    checkout_request_id: str


@dataclass(frozen=True, slots=True)
class StkQueryResult:
    result_code: int | None  # None: still being processed
    result_desc: str


@dataclass(frozen=True, slots=True)
class B2CAccepted:
    conversation_id: str
    originator_conversation_id: str


@dataclass(frozen=True, slots=True)
class StatusQueryAccepted:
    conversation_id: str
    originator_conversation_id: str


@dataclass(frozen=True, slots=True)
class TransactionStatusAnswer:
    """What a transaction-status result says about the transaction asked about."""

    outcome: Literal["paid", "unpaid", "not_found", "unknown"]
    description: str
    paid_minor: int | None = None  # with "paid": the Amount M-Pesa reports
    receipt: str | None = None  # with "paid": M-Pesa's receipt number


def normalise_phone(raw: str) -> str:
    """A Kenyan mobile number as Daraja wants it: 2547XXXXXXXX (or 2541XXXXXXXX)."""
    try:
        number = phonenumbers.parse(raw, "KE")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("not a phone number", field="phone") from exc
    if number.country_code != 254 or not phonenumbers.is_valid_number(number):
        raise InvalidInput("M-Pesa needs a valid Kenyan mobile number", field="phone")
    national = str(number.national_number)
    if len(national) != 9 or national[0] not in "17":
        raise InvalidInput("M-Pesa needs a Kenyan mobile number", field="phone")
    return "254" + national


def daraja_timestamp(now: datetime) -> str:
    return now.astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


def whole_shillings(amount_minor: int, currency: str) -> int:
    if currency != "KES":
        raise InvalidInput("M-Pesa moves Kenyan shillings only", field="currency")
    if amount_minor <= 0 or amount_minor % 100:
        raise InvalidInput("M-Pesa amounts are whole shillings", field="amount_minor")
    return amount_minor // 100


def account_reference(text: str) -> str:
    cleaned = "".join(ch for ch in text if ch.isalnum()).upper()
    return cleaned[:ACCOUNT_REFERENCE_MAX] or "DRACARYS"


def callback_base(settings: Settings) -> str:
    if not settings.daraja_callback_token:
        raise DarajaError("M-Pesa callbacks are not configured")
    base = settings.public_url.rstrip("/")
    return f"{base}/api/v1/webhooks/mpesa/{settings.daraja_callback_token}"


class DarajaGateway:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        if not (settings.daraja_consumer_key and settings.daraja_consumer_secret):
            raise DarajaError("M-Pesa is not configured")
        self._settings = settings
        self._clock = clock
        self._base = settings.daraja_base_url.rstrip("/")

    async def _token(self, client: httpx.AsyncClient) -> str:
        key = (self._base, self._settings.daraja_consumer_key)
        cached = _tokens.get(key)
        now = self._clock.now()
        if cached is not None and cached[1] > now:
            return cached[0]
        response = await client.get(
            f"{self._base}/oauth/v1/generate",
            params={"grant_type": "client_credentials"},
            auth=(self._settings.daraja_consumer_key, self._settings.daraja_consumer_secret),
        )
        body = self._json(response, "OAuth")
        token = str(body["access_token"])
        expires = now + timedelta(seconds=int(body.get("expires_in", 3599))) - _TOKEN_MARGIN
        _tokens[key] = (token, expires)
        return token

    @staticmethod
    def _json(response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or not isinstance(body, dict):
            message = body.get("errorMessage") if isinstance(body, dict) else None
            raise DarajaError(f"M-Pesa {what} failed: {message or response.status_code}")
        return body

    async def _post(self, path: str, payload: dict[str, Any], what: str) -> dict[str, Any]:
        """POST with a bearer token. Raises `DarajaOutcomeUnknown` when the request may
        have been acted on, plain `DarajaError` when it surely was not."""
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                token = await self._token(client)
                try:
                    response = await client.post(
                        f"{self._base}{path}",
                        json=payload,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                    raise  # never connected: nothing was sent
                except httpx.HTTPError as exc:
                    raise DarajaOutcomeUnknown(f"M-Pesa {what} got no answer") from exc
        except httpx.HTTPError as exc:
            raise DarajaError(f"M-Pesa {what} could not be reached") from exc
        if response.status_code == 401:
            _tokens.pop((self._base, self._settings.daraja_consumer_key), None)
        try:
            return self._json(response, what)
        except DarajaError as exc:
            if response.status_code in _NOT_TAKEN_STATUSES:
                raise
            raise DarajaOutcomeUnknown(exc.detail) from exc

    def _credentials(self) -> dict[str, str]:
        timestamp = daraja_timestamp(self._clock.now())
        shortcode = self._settings.daraja_shortcode
        return {
            "BusinessShortCode": shortcode,
            "Password": stk_password(shortcode, self._settings.daraja_passkey, timestamp),
            "Timestamp": timestamp,
        }

    async def stk_push(
        self, *, phone: str, amount_minor: int, currency: str, reference: str, description: str
    ) -> StkPushAccepted:
        msisdn = normalise_phone(phone)
        payload = {
            **self._credentials(),
            "TransactionType": "CustomerPayBillOnline",
            "Amount": whole_shillings(amount_minor, currency),
            "PartyA": msisdn,
            "PartyB": self._settings.daraja_shortcode,
            "PhoneNumber": msisdn,
            "CallBackURL": f"{callback_base(self._settings)}/stk",
            "AccountReference": account_reference(reference),
            "TransactionDesc": description[:13],
        }
        body = await self._post("/mpesa/stkpush/v1/processrequest", payload, "STK push")
        if str(body.get("ResponseCode")) != "0":
            raise DarajaError(f"M-Pesa refused the STK push: {body.get('ResponseDescription')}")
        return StkPushAccepted(
            merchant_request_id=str(body["MerchantRequestID"]),
            checkout_request_id=str(body["CheckoutRequestID"]),
        )

    async def stk_query(self, checkout_request_id: str) -> StkQueryResult:
        payload = {**self._credentials(), "CheckoutRequestID": checkout_request_id}
        try:
            async with httpx.AsyncClient(timeout=15) as client:
                token = await self._token(client)
                response = await client.post(
                    f"{self._base}/mpesa/stkpushquery/v1/query",
                    json=payload,
                    headers={"Authorization": f"Bearer {token}"},
                )
        except httpx.HTTPError as exc:
            raise DarajaError("M-Pesa status query could not be reached") from exc
        body = response.json() if response.content else {}
        # Daraja answers 500 with errorCode 500.001.1001 while the payment is in flight.
        if response.status_code >= 400:
            if isinstance(body, dict) and str(body.get("errorCode", "")).startswith("500.001"):
                return StkQueryResult(None, str(body.get("errorMessage", "processing")))
            raise DarajaError(f"M-Pesa status query failed: {response.status_code}")
        return StkQueryResult(int(body["ResultCode"]), str(body.get("ResultDesc", "")))

    async def b2c(
        self,
        *,
        originator_id: str,
        phone: str,
        amount_minor: int,
        currency: str,
        remarks: str,
        occasion: str,
    ) -> B2CAccepted:
        """Send money to a phone. `originator_id` names this one request: it is what a
        later `transaction_status` asks about, so it must never be reused."""
        base = callback_base(self._settings)
        payload = {
            "OriginatorConversationID": originator_id,
            "InitiatorName": self._settings.daraja_b2c_initiator,
            "SecurityCredential": self._settings.daraja_b2c_security_credential,
            "CommandID": "BusinessPayment",
            "Amount": whole_shillings(amount_minor, currency),
            "PartyA": self._settings.daraja_b2c_shortcode,
            "PartyB": normalise_phone(phone),
            "Remarks": remarks[:100],
            "QueueTimeOutURL": f"{base}/b2c/timeout",
            "ResultURL": f"{base}/b2c/result",
            "Occasion": occasion[:100],
        }
        body = await self._post("/mpesa/b2c/v3/paymentrequest", payload, "B2C")
        if str(body.get("ResponseCode")) != "0":
            raise DarajaError(f"M-Pesa refused the payout: {body.get('ResponseDescription')}")
        return B2CAccepted(
            conversation_id=str(body["ConversationID"]),
            originator_conversation_id=str(body["OriginatorConversationID"]),
        )

    async def transaction_status(self, originator_id: str) -> StatusQueryAccepted:
        """Ask what became of the B2C request sent with `originator_id`. Daraja answers
        later, on the ResultURL (`/b2c/status/<originator_id>` under the callback base),
        which names the request asked about since the result itself may not."""
        base = f"{callback_base(self._settings)}/b2c/status/{originator_id}"
        payload = {
            "Initiator": self._settings.daraja_b2c_initiator,
            "SecurityCredential": self._settings.daraja_b2c_security_credential,
            "CommandID": "TransactionStatusQuery",
            "OriginalConversationID": originator_id,
            "PartyA": self._settings.daraja_b2c_shortcode,
            "IdentifierType": "4",
            "ResultURL": base,
            "QueueTimeOutURL": f"{base}/timeout",
            "Remarks": "payout reconciliation",
            "Occasion": "payout",
        }
        body = await self._post("/mpesa/transactionstatus/v1/query", payload, "status query")
        if str(body.get("ResponseCode")) != "0":
            raise DarajaError(f"M-Pesa refused the status query: {body.get('ResponseDescription')}")
        return StatusQueryAccepted(
            conversation_id=str(body["ConversationID"]),
            originator_conversation_id=str(body["OriginatorConversationID"]),
        )


def _result_parameters(result: dict[str, Any]) -> dict[str, Any]:
    parameters = (result.get("ResultParameters") or {}).get("ResultParameter") or []
    if isinstance(parameters, dict):  # a lone parameter comes as an object
        parameters = [parameters]
    return {str(p.get("Key")): p.get("Value") for p in parameters if isinstance(p, dict)}


def _shillings_to_minor(value: Any) -> int | None:
    try:
        return int(Decimal(str(value)) * 100)
    except ArithmeticError:
        return None


def b2c_paid_minor(result: dict[str, Any]) -> int | None:
    """The TransactionAmount of a successful B2C result, in minor units (None when the
    result does not say, or says something that is not an amount)."""
    value = _result_parameters(result).get("TransactionAmount")
    return None if value is None else _shillings_to_minor(value)


def transaction_status_answer(result: dict[str, Any]) -> TransactionStatusAnswer:
    """Read the `Result` of a transaction-status query."""
    code = str(result.get("ResultCode", "")).strip()
    description = str(result.get("ResultDesc", ""))
    if code == STATUS_RESULT_NOT_FOUND:
        return TransactionStatusAnswer("not_found", description)
    if code != "0":
        return TransactionStatusAnswer("unknown", description)
    parameters = _result_parameters(result)
    status = str(parameters.get("TransactionStatus", ""))
    if status == "Completed":
        amount = parameters.get("Amount")
        receipt = parameters.get("ReceiptNo")
        return TransactionStatusAnswer(
            "paid",
            description,
            paid_minor=None if amount is None else _shillings_to_minor(amount),
            receipt=None if receipt is None else str(receipt),
        )
    if status in _UNPAID_TRANSACTION_STATUSES:
        return TransactionStatusAnswer("unpaid", f"M-Pesa reports the transaction {status}")
    return TransactionStatusAnswer("unknown", f"M-Pesa reports the transaction {status or '?'}")
