"""Safaricom M-Pesa Daraja over httpx: OAuth client-credentials token, STK push (Lipa na
M-Pesa Online) and its status query, B2C payments and the transaction-status query that
finds out what became of one, and the readers of their asynchronous results. Field names,
formats and rules are Daraja's: `Password` = base64(shortcode + passkey + timestamp),
`Timestamp` yyyyMMddHHmmss in Nairobi time, phones as 2547XXXXXXXX, whole-shilling integer
`Amount`, `AccountReference` of at most 12 characters."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import httpx
import msgspec
import phonenumbers

from dracarys.clock import Clock
from dracarys.errors import InvalidInput, NotFound, ServiceUnavailable
from dracarys.money import is_whole_minor, minor_per_major, to_minor
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
    """Daraja's integer `Amount` of an amount in cents; anything else is refused."""
    if currency != "KES":
        raise InvalidInput("M-Pesa moves Kenyan shillings only", field="currency")
    cents_per_shilling = minor_per_major("KES")
    if amount_minor <= 0 or amount_minor % cents_per_shilling:
        raise InvalidInput("M-Pesa amounts are whole shillings", field="amount_minor")
    return amount_minor // cents_per_shilling


def check_callback_token(settings: Settings, token: str) -> None:
    """Daraja's callbacks carry no signature: the secret token in their URL's path is what
    proves them ours; a wrong one is answered as a path that does not exist."""
    expected = settings.daraja_callback_token
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise NotFound("no such callback")


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
        self,
        *,
        phone: str,
        amount_minor: int,
        currency: str,
        reference: str,
        description: str,
        callback_path: str = "stk",
    ) -> StkPushAccepted:
        """Prompt the customer's phone to pay; the callback comes to `callback_path` under
        the secret callback base (naming what the prompt is for, so that a callback still
        finds it when this answer is lost)."""
        msisdn = normalise_phone(phone)
        payload = {
            **self._credentials(),
            "TransactionType": "CustomerPayBillOnline",
            "Amount": whole_shillings(amount_minor, currency),
            "PartyA": msisdn,
            "PartyB": self._settings.daraja_shortcode,
            "PhoneNumber": msisdn,
            "CallBackURL": f"{callback_base(self._settings)}/{callback_path}",
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


# ---- the callbacks' bodies, read into types -----------------------------------------
#
# Daraja posts its asynchronous answers as JSON. They are read once, here, into structs:
# a body of another shape is refused with a 422 naming the field, and an amount that is not
# a sum of money reads as none, so nothing downstream meets a surprise.

Scalar = str | int | float | bool | None
# More than any M-Pesa transaction can move, in minor units: an "amount" beyond it is noise.
_MAX_AMOUNT_MINOR = 10**15


class _Parameter(msgspec.Struct, frozen=True):
    key: str = msgspec.field(name="Key")
    value: Scalar = msgspec.field(name="Value", default=None)


class _ResultParameters(msgspec.Struct, frozen=True):
    # A lone parameter comes as an object rather than a one-element list.
    items: list[_Parameter] | _Parameter = msgspec.field(
        name="ResultParameter", default_factory=list
    )


class DarajaResult(msgspec.Struct, frozen=True):
    """The `Result` of a B2C or transaction-status callback."""

    result_code: int | str = msgspec.field(name="ResultCode")
    result_desc: str = msgspec.field(name="ResultDesc", default="")
    originator_conversation_id: str = msgspec.field(name="OriginatorConversationID", default="")
    conversation_id: str = msgspec.field(name="ConversationID", default="")
    transaction_id: str = msgspec.field(name="TransactionID", default="")
    result_parameters: _ResultParameters | None = msgspec.field(
        name="ResultParameters", default=None
    )

    @property
    def succeeded(self) -> bool:
        return str(self.result_code).strip() == "0"

    def parameters(self) -> dict[str, Scalar]:
        if self.result_parameters is None:
            return {}
        items = self.result_parameters.items
        return {p.key: p.value for p in (items if isinstance(items, list) else [items])}


class _StkItem(msgspec.Struct, frozen=True):
    name: str = msgspec.field(name="Name")
    value: Scalar = msgspec.field(name="Value", default=None)


class _StkMetadata(msgspec.Struct, frozen=True):
    items: list[_StkItem] = msgspec.field(name="Item", default_factory=list)


class StkCallback(msgspec.Struct, frozen=True):
    """The `Body.stkCallback` of an STK push's callback."""

    checkout_request_id: str = msgspec.field(name="CheckoutRequestID")
    result_code: int | str = msgspec.field(name="ResultCode")
    result_desc: str = msgspec.field(name="ResultDesc", default="")
    merchant_request_id: str = msgspec.field(name="MerchantRequestID", default="")
    metadata: _StkMetadata | None = msgspec.field(name="CallbackMetadata", default=None)

    @property
    def succeeded(self) -> bool:
        return str(self.result_code).strip() == "0"

    def _item(self, name: str) -> Scalar:
        items = self.metadata.items if self.metadata is not None else []
        return next((item.value for item in items if item.name == name), None)

    @property
    def paid_minor(self) -> int | None:
        return shillings_to_minor(self._item("Amount"))

    @property
    def receipt(self) -> str | None:
        value = self._item("MpesaReceiptNumber")
        return None if value is None else str(value)


class _StkBody(msgspec.Struct, frozen=True):
    callback: StkCallback = msgspec.field(name="stkCallback")


class _StkEnvelope(msgspec.Struct, frozen=True):
    body: _StkBody = msgspec.field(name="Body")


class _ResultEnvelope(msgspec.Struct, frozen=True):
    result: DarajaResult = msgspec.field(name="Result")


T = TypeVar("T")


def _read(payload: Any, shape: type[T], what: str) -> T:
    try:
        return msgspec.convert(payload, shape)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).rpartition(" - at `")
        field = path.rstrip("`").removeprefix("$.") or "body"
        raise InvalidInput(f"not {what}: {message or exc}", field=field) from None


def read_stk_callback(body: Any) -> StkCallback:
    """`{"Body": {"stkCallback": {...}}}` as Daraja posts it."""
    return _read(body, _StkEnvelope, "an STK callback").body.callback


def read_stored_stk_callback(callback: Any) -> StkCallback:
    """The `stkCallback` object as recorded when it arrived."""
    return _read(callback, StkCallback, "an STK callback")


def stk_callback_as_received(body: dict[str, Any]) -> dict[str, Any]:
    """The `stkCallback` object of a callback `read_stk_callback` accepted, as it came:
    what is kept (and what `read_stored_stk_callback` reads back)."""
    callback: dict[str, Any] = body["Body"]["stkCallback"]
    return callback


def result_as_received(body: dict[str, Any]) -> dict[str, Any]:
    """The `Result` object of an answer `read_result` accepted, as it came."""
    result: dict[str, Any] = body["Result"]
    return result


def read_result(body: Any) -> DarajaResult:
    """`{"Result": {...}}` of a B2C result, a queue time-out or a status-query result."""
    return _read(body, _ResultEnvelope, "a Daraja result").result


def shillings_to_minor(value: Scalar) -> int | None:
    """Shillings as Daraja writes them (100, "100.00") in minor units; None for anything
    that is not a plausible sum of money."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
        # Bounded before any arithmetic: "33e3333333333333" is a valid Decimal too.
        if not amount.is_finite() or amount < 0 or amount.adjusted() > 15:
            return None
        if not is_whole_minor(amount, "KES"):
            return None
        minor = to_minor(amount, "KES")
        return None if minor > _MAX_AMOUNT_MINOR else minor
    except ArithmeticError:
        return None


def b2c_paid_minor(result: DarajaResult) -> int | None:
    """The TransactionAmount of a successful B2C result, in minor units (None when the
    result does not say, or says something that is not an amount)."""
    return shillings_to_minor(result.parameters().get("TransactionAmount"))


def transaction_status_answer(result: DarajaResult) -> TransactionStatusAnswer:
    """Read the `Result` of a transaction-status query."""
    code = str(result.result_code).strip()
    description = result.result_desc
    if code == STATUS_RESULT_NOT_FOUND:
        return TransactionStatusAnswer("not_found", description)
    if code != "0":
        return TransactionStatusAnswer("unknown", description)
    parameters = result.parameters()
    status = str(parameters.get("TransactionStatus") or "")
    if status == "Completed":
        receipt = parameters.get("ReceiptNo")
        return TransactionStatusAnswer(
            "paid",
            description,
            paid_minor=shillings_to_minor(parameters.get("Amount")),
            receipt=None if receipt is None else str(receipt),
        )
    if status in _UNPAID_TRANSACTION_STATUSES:
        return TransactionStatusAnswer("unpaid", f"M-Pesa reports the transaction {status}")
    return TransactionStatusAnswer("unknown", f"M-Pesa reports the transaction {status or '?'}")
