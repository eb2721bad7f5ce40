"""A local Stripe: the API's form-encoded requests with JSON answers (Checkout sessions,
their expiry, refunds, the payment intents and charges of paid sessions, with the card's
fingerprint), idempotency keys, signed webhook events, and the hosted checkout
page a customer pays on, taking Stripe's test cards (4242 4242 4242 4242 pays, 4000 0000
0000 0002 is declined, ...). Tests drive it directly too: customers paying, sessions
expiring, refunds settling, disputes opening, calls held while a test kills the caller."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import msgspec
from litestar import Litestar, Request, Response, get, post, route
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from dracarys.money import UnknownCurrency, format_money
from dracarys.payments.mode import CHECKOUT_PAGE_PATH
from dracarys.payments.sandbox.serving import (
    Deliveries,
    HeldCall,
    html_response,
    json_response,
    keep_waiting,
    see_other,
)

# Stripe's test cards (https://docs.stripe.com/testing): what paying with each does.
CARD_PAYS = "pays"
TEST_CARDS: dict[str, str] = {
    "4242424242424242": CARD_PAYS,
    "5555555555554444": CARD_PAYS,
    "4000056655665556": CARD_PAYS,
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000000069": "Your card has expired.",
    "4000000000000127": "Your card's security code is incorrect.",
    "4000000000000119": "An error occurred while processing your card. Try again in a little bit.",
}
NOT_A_TEST_CARD = (
    "Your card was declined. Your request was in test mode, but used a non test card. "
    "Use one of the test cards listed on this page."
)
NOT_EXPIRABLE = "Only Checkout Sessions with a status of `open` can be expired."
# The card a session is paid with when a test pays it without naming one.
DEFAULT_TEST_CARD = "4242424242424242"
_FINGERPRINT_ALPHABET = string.ascii_letters + string.digits
_BRANDS = {"4": "visa", "5": "mastercard", "3": "amex", "6": "discover"}


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


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_problem(raw: str) -> tuple[int, str] | None:
    """What Stripe's checkout says about a card number typed in (with the status of the
    page saying it: 422 for a number that is no card's, 402 for a declined card), or None
    when the card pays."""
    digits = card_digits(raw)
    if not digits.isdigit() or len(digits) < 13:
        return 422, "Your card number is incomplete."
    if len(digits) > 19 or not luhn_valid(digits):
        return 422, "Your card number is invalid."
    outcome = TEST_CARDS.get(digits, NOT_A_TEST_CARD)
    return None if outcome == CARD_PAYS else (402, outcome)


def card_digits(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw)


def _expansions(query: str) -> list[str]:
    """The `expand` list of a GET, however the client spells it (`expand[]=`,
    `expand[0]=`)."""
    return [v for k, v in parse_qsl(query) if re.fullmatch(r"expand(\[\d*\])?", k)]


def _error(message: str, status: int = 400, **extra: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": "invalid_request_error", "message": message, **extra}}


@dataclass
class StripeSimulator:
    api_key: str = "sk_test_simulator_key"
    webhook_secrets: list[str] = field(default_factory=lambda: ["whsec_simulator_secret"])
    # Where sessions' hosted pages are (`<checkout_base>/<session id>`), and where events
    # are posted as they happen (a webhook endpoint; None: the test posts them itself).
    checkout_base: str = "https://checkout.stripe.com/c/pay"
    webhook_url: str | None = None
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by checkout session
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # What each session's hosted page names as bought (not part of Stripe's session).
    product_names: dict[str, str] = field(default_factory=dict)
    # The metadata a session's payment intent gets (`payment_intent_data[metadata]`).
    intent_metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    holds: dict[str, HeldCall] = field(default_factory=dict)
    deliveries: Deliveries = field(default_factory=Deliveries)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    base_url: str = ""

    def _id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}{secrets.token_hex(6)}"

    def routes(self) -> list[BaseRouteHandler]:
        """The API under /v1 and the hosted checkout pages."""
        simulator = self

        @route("/v1/{rest:path}", http_method=["GET", "POST"])
        async def api(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
            return await simulator.handle(request, rest)

        @get(f"{CHECKOUT_PAGE_PATH}/{{session_id:str}}")
        async def checkout_page(session_id: FromPath[str]) -> Response[str]:
            return simulator.checkout_page(session_id)

        @post(f"{CHECKOUT_PAGE_PATH}/{{session_id:str}}")
        async def pay_on_checkout_page(
            request: Request[Any, Any, Any], session_id: FromPath[str]
        ) -> Response[str]:
            form = await request.form()
            return simulator.pay_with_card(session_id, str(form.get("card_number", "")))

        return [api, checkout_page, pay_on_checkout_page]

    def app(self) -> Litestar:
        return Litestar(self.routes(), debug=False)

    def hold(self, path: str, act: Literal["nothing", "accept"]) -> HeldCall:
        """Hold the next call to `path` (e.g. "checkout/sessions"): "accept" acts on it
        and keeps its answer back; "nothing" keeps it back without acting."""
        held = HeldCall(act)
        self.holds[path] = held
        return held

    async def handle(self, request: Request[Any, Any, Any], rest: str) -> Response[bytes]:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return json_response(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}, 401
            )
        rest = rest.lstrip("/")
        held = self.holds.pop(rest, None)
        if held is not None and held.act == "nothing":
            await keep_waiting(held)
            return json_response(_error("the request never reached Stripe", 503)[1], 503)
        if request.method == "GET":
            query = request.url.query or ""
            params = parse_stripe_form(query.encode())
            params["expand"] = _expansions(query)
        else:
            params = parse_stripe_form(await request.body())
        self.requests.append((request.method, rest, params))
        key = request.headers.get("idempotency-key")
        if key and key in self.idempotent:
            status, body = self.idempotent[key]
            return json_response(body, status)
        status, body = self._answer(request.method, rest, params)
        if key:
            self.idempotent[key] = (status, body)
        if held is not None:
            await keep_waiting(held)
        return json_response(body, status)

    def _answer(self, method: str, rest: str, params: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST" and rest == "checkout/sessions":
            return self._create_session(params)
        if method == "POST" and rest == "refunds":
            return self._create_refund(params)
        expire = re.fullmatch(r"checkout/sessions/([^/]+)/expire", rest)
        if method == "POST" and expire:
            return self._expire_session(expire.group(1))
        intent = re.fullmatch(r"payment_intents/([^/]+)", rest)
        if method == "GET" and intent:
            return self._retrieve_intent(intent.group(1), params.get("expand") or [])
        if method == "GET" and rest.startswith("checkout/sessions/"):
            found = self.sessions.get(rest.rsplit("/", 1)[-1])
            if found is None:
                return _error(f"No such checkout.session: '{rest}'", 404, code="resource_missing")
            return 200, found
        return _error(f"Unrecognized request URL ({method}: /v1/{rest})", 404)

    def _create_session(self, params: dict[str, Any]) -> tuple[int, Any]:
        items = params.get("line_items") or []
        if not items or not isinstance(items[0], dict) or "price_data" not in items[0]:
            return _error("Missing required param: line_items.", param="line_items")
        for needed in ("success_url", "mode"):
            if not params.get(needed):
                return _error(f"Missing required param: {needed}.", param=needed)
        item = items[0]
        price = item["price_data"]
        amount = int(price["unit_amount"]) * int(item.get("quantity", 1))
        session_id = self._id("cs")
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_total": amount,
            "currency": price["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "mode": params.get("mode"),
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "created": now,
            "expires_at": now + 24 * 3600,
            "url": f"{self.checkout_base}/{session_id}",
            "livemode": False,
        }
        self.product_names[session_id] = str(
            (price.get("product_data") or {}).get("name") or "Payment"
        )
        self.intent_metadata[session_id] = dict(
            (params.get("payment_intent_data") or {}).get("metadata") or {}
        )
        self.sessions[session_id] = session
        return 200, session

    def _expire_session(self, session_id: str) -> tuple[int, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            return _error(f"No such checkout.session: '{session_id}'", 404, code="resource_missing")
        if session["status"] != "open":
            return _error(NOT_EXPIRABLE)
        self._send(self.expire(session_id, int(time.time())))
        return 200, session

    def _retrieve_intent(self, intent_id: str, expand: list[str]) -> tuple[int, Any]:
        """A PaymentIntent as Stripe answers it: `latest_charge` and `payment_method` are
        ids unless expanded, then the objects (the charge's `payment_method_details.card`
        and the payment method's `card` carry the fingerprint)."""
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            return _error(
                f"No such payment_intent: '{intent_id}'",
                404,
                code="resource_missing",
                param="intent",
            )
        answer = dict(intent)
        charge = self.charges[intent["latest_charge"]]
        if "latest_charge" in expand:
            answer["latest_charge"] = charge
        if "payment_method" in expand:
            answer["payment_method"] = {
                "id": intent["payment_method"],
                "object": "payment_method",
                "type": "card",
                "card": charge["payment_method_details"]["card"],
                "livemode": False,
            }
        return 200, answer

    def card_fingerprint(self, card_number: str) -> str:
        """Stripe's fingerprint of a card number: the same for every payment with it on
        this account (keyed by the account's secret), different on another account."""
        mac = hmac.new(self.api_key.encode(), card_digits(card_number).encode(), hashlib.sha256)
        return "".join(_FINGERPRINT_ALPHABET[b % 62] for b in mac.digest()[:16])

    def _charge_card(self, session: dict[str, Any], card_number: str, created: int) -> str:
        """The PaymentIntent and Charge of a session paid with `card_number`."""
        digits = card_digits(card_number)
        intent_id, charge_id, method_id = self._id("pi"), self._id("ch"), self._id("pm")
        card = {
            "brand": _BRANDS.get(digits[:1], "unknown"),
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": self.card_fingerprint(digits),
            "funding": "credit",
            "last4": digits[-4:],
            "network": _BRANDS.get(digits[:1], "unknown"),
        }
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": session["amount_total"],
            "amount_captured": session["amount_total"],
            "currency": session["currency"],
            "created": created,
            "paid": True,
            "captured": True,
            "status": "succeeded",
            "payment_intent": intent_id,
            "payment_method": method_id,
            "payment_method_details": {"type": "card", "card": card},
            "livemode": False,
        }
        self.payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "currency": session["currency"],
            "created": created,
            "status": "succeeded",
            "latest_charge": charge_id,
            "payment_method": method_id,
            "payment_method_types": ["card"],
            "metadata": dict(self.intent_metadata.get(session["id"], {})),
            "livemode": False,
        }
        return intent_id

    def _create_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = params.get("payment_intent")
        paid = next((s for s in self.sessions.values() if s["payment_intent"] == intent), None)
        if paid is None:
            return _error("No such payment_intent", code="resource_missing")
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

    # ---- the hosted checkout page -----------------------------------------------------

    def _page(self, session: dict[str, Any], *, status: int = 200, **context: Any) -> Response[str]:
        currency = str(session["currency"]).upper()
        try:
            amount = format_money(int(session["amount_total"]), currency)
        except UnknownCurrency:
            amount = f"{currency} {session['amount_total']}"
        returns = {
            f"{parts.scheme}://{parts.netloc}"
            for url in (session.get("success_url"), session.get("cancel_url"))
            if url and (parts := urlsplit(str(url))).scheme in ("http", "https")
        }
        context.setdefault("problem", None)
        context.setdefault("card_number", "")
        return html_response(
            "checkout.html",
            status=status,
            form_targets=tuple(sorted(returns)),
            session=session,
            amount=amount,
            product=self.product_names.get(session["id"], "Payment"),
            test_cards=[
                ("4242 4242 4242 4242", "pays"),
                ("4000 0000 0000 0002", "is declined"),
                ("4000 0000 0000 9995", "is declined for insufficient funds"),
            ],
            **context,
        )

    def checkout_page(self, session_id: str) -> Response[str]:
        session = self.sessions.get(session_id)
        if session is None:
            return html_response("gone.html", status=404, what="This checkout does not exist.")
        return self._page(session)

    def pay_with_card(self, session_id: str, card_number: str) -> Response[str]:
        """The customer presses Pay: a test card that pays completes the session, sends
        `checkout.session.completed` and returns the browser to the success URL; any other
        shows Stripe's message and leaves the session open for another card."""
        session = self.sessions.get(session_id)
        if session is None:
            return html_response("gone.html", status=404, what="This checkout does not exist.")
        if session["status"] != "open":
            return self._page(session, status=409)
        problem = card_problem(card_number)
        if problem is not None:
            status, message = problem
            return self._page(session, status=status, problem=message, card_number=card_number)
        self._send(self.pay(session_id, int(time.time()), card_number=card_number))
        success = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session_id)
        return see_other(success)

    def _send(self, event: dict[str, Any]) -> None:
        """Post an event to the webhook endpoint, signed anew for each attempt."""
        if self.webhook_url is None:
            return
        self.deliveries.send(
            event["id"], self.webhook_url, lambda: self.signed(event, int(time.time()))
        )

    # ---- what tests drive: customers paying, sessions expiring, refunds settling ------

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

    def pay(
        self,
        session_id: str,
        created: int,
        *,
        amount: int | None = None,
        card_number: str = DEFAULT_TEST_CARD,
    ) -> dict[str, Any]:
        session = self.sessions[session_id]
        if amount is not None:
            session["amount_total"] = amount
        intent_id = self._charge_card(session, card_number, created)
        session.update(payment_status="paid", status="complete", payment_intent=intent_id)
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
