"""The mixed burst the chaos test sends, and the outside world around it: clients placing
paper orders, paying for sessions and courses from their wallets, topping up by card and
M-Pesa, withdrawing to M-Pesa and earning and redeeming points, each write under an
idempotency key that a client whose request failed (reset, refused, timed out, 5xx)
sends again until it gets an answer; customers paying Stripe Checkout and M-Pesa prompts,
Stripe and Daraja delivering their signed callbacks (some twice, some at once, some not
at all), and the platform's scheduled jobs run as its scheduler would."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from dracarys.clock import SystemClock
from dracarys.payments.daraja import account_reference
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator
from dracarys.platform import Platform
from dracarys.points import release_held_redemptions
from dracarys.settings import Settings
from dracarys.wallet import (
    reconcile_payouts_in_flight,
    retry_due_payouts,
    settle_stale_mpesa_deposits,
)
from tests.support import TestUser

ANSWER_DEADLINE_S = 300.0
# An operation retried after an answer it never saw: the answer may have been lost.
RESENT_SHARE = 0.15
# Two copies of one request at once (a double click, a retry racing the original).
TWIN_SHARE = 0.1
STK_CANCELLED_SHARE = 0.1
B2C_FAILED_SHARE = 0.1
B2C_RESULT_LOST_SHARE = 0.15
WEBHOOK_REPEAT_SHARE = 0.4
# The burst's mix, by weight (a conversion needs points earned first).
MIX = {
    "card_deposit": 2,
    "mpesa_deposit": 2,
    "withdrawal": 2,
    "session_purchase": 2,
    "course_purchase": 1,
    "paper_order": 2,
    "lesson_award": 1,
    "bonus_award": 1,
    "conversion": 2,
}


@dataclass
class Figures:
    """What the burst sent and what came back, for the README and the assertions."""

    requests: int = 0
    retried: int = 0
    resent: int = 0
    twins: int = 0
    callbacks: int = 0
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


class Http:
    """Sends a request until it gets an answer from the platform: a transport failure (the
    process died, is starting, or never answered in time) or a 5xx is retried, the same
    request with the same key, backing off a little each time."""

    def __init__(self, base_url: str, figures: Figures) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(30.0, connect=3.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=64),
        )
        self.figures = figures
        self.in_flight = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def answer(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        pause_s = 0.05
        deadline = time.monotonic() + ANSWER_DEADLINE_S
        while True:
            self.figures.requests += 1
            self.in_flight += 1
            try:
                response = await self.client.request(
                    method, url, json=json, content=content, headers=headers
                )
            except httpx.TransportError:
                response = None
            finally:
                self.in_flight -= 1
            if response is not None and response.status_code < 500:
                return response
            if response is not None:
                self.figures.server_errors.append(
                    f"{method} {url} → {response.status_code}: {response.text[:300]}"
                )
            assert time.monotonic() < deadline, f"{method} {url} never answered"
            self.figures.retried += 1
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, 1.0)


# ---- operations ------------------------------------------------------------------------

# Kinds whose replay must be the first answer itself, byte for byte; the others answer
# with the resource's state now (a payout paid since, an order filled), so their replay
# must name the same resource with the same amount.
REPLAYED_VERBATIM = frozenset(
    {
        "card_deposit",
        "mpesa_deposit",
        "course_purchase",
        "session_purchase",
        "lesson_award",
        "bonus_award",
    }
)
EXPECTED_STATUS = {
    "card_deposit": 201,
    "mpesa_deposit": 201,
    "withdrawal": 201,
    "course_purchase": 201,
    "session_purchase": 201,
    "paper_order": 201,
    "lesson_award": 200,
    "bonus_award": 200,
    "conversion": 201,
}


@dataclass
class Op:
    """One write under one idempotency key and every answer it got."""

    kind: str
    key: str
    user_id: uuid.UUID
    url: str
    body: dict[str, Any]
    headers: dict[str, str]
    answers: list[tuple[int, Any]] = field(default_factory=list)

    @property
    def first(self) -> Any:
        return self.answers[0][1]

    def identity(self, body: Any) -> Any:
        """What every answer to this key must agree on."""
        if self.kind in REPLAYED_VERBATIM:
            return body
        if self.kind == "paper_order":
            order = body["order"]
            return order["id"], order["client_order_id"], order["qty"]
        if self.kind == "withdrawal":
            return body["id"], body["amount_minor"], body["currency"]
        return body["id"], body["points"], body["value_minor"]  # conversion


@dataclass
class Mentee:
    user: TestUser
    portfolio_id: str
    spendable_points: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.user.token}"}


@dataclass
class Cast:
    mentees: list[Mentee]
    mentor_ids: list[uuid.UUID]
    admin: TestUser

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin.token}"}

    def sign_in_again(self, settings: Settings) -> None:
        """Fresh access tokens (they live 15 minutes; a slow machine's run may not)."""
        clock = SystemClock()
        self.admin = self.admin.signed_in_again(settings, clock)
        for mentee in self.mentees:
            mentee.user = mentee.user.signed_in_again(settings, clock)


class Burst:
    """Clients sending the mix, and the providers' side of each payment."""

    def __init__(
        self,
        http: Http,
        cast: Cast,
        providers: Providers,
        figures: Figures,
        seed: int,
    ) -> None:
        self.http = http
        self.cast = cast
        self.providers = providers
        self.figures = figures
        self.seed = seed
        self.ops: list[Op] = []
        self.done = 0

    def _op(self, rng: random.Random, mentee: Mentee) -> Op:
        user = mentee.user
        key = f"chaos-{uuid.UUID(int=rng.getrandbits(128))}"
        keyed = {**mentee.headers, "Idempotency-Key": key}
        mix = {k: w for k, w in MIX.items() if k != "conversion" or mentee.spendable_points}
        kind = rng.choices(list(mix), list(mix.values()))[0]
        wallet = f"/api/v1/wallets/{user.id}"
        if kind in ("card_deposit", "mpesa_deposit"):
            body: dict[str, Any] = {
                "method": "stripe" if kind == "card_deposit" else "mpesa",
                "amount_minor": rng.randint(10, 500) * 100,
                "currency": "KES",
            }
            if kind == "mpesa_deposit":
                body["phone"] = f"07{rng.randint(10_000_000, 99_999_999)}"
            return Op(kind, key, user.id, f"{wallet}/deposits", body, keyed)
        if kind == "withdrawal":
            body = {
                "amount_minor": rng.randint(10, 300) * 100,
                "currency": "KES",
                "method": "mpesa",
                "destination": f"0722{rng.randint(100_000, 999_999)}",
            }
            return Op(kind, key, user.id, f"{wallet}/withdraw", body, keyed)
        if kind in ("session_purchase", "course_purchase"):
            body = {
                "purpose": "session" if kind == "session_purchase" else "course",
                "reference": f"{kind}-{key[-12:]}",
                "amount_minor": rng.randint(5, 100) * 100,
                "currency": "KES",
            }
            if kind == "session_purchase":
                body["mentor_id"] = str(rng.choice(self.cast.mentor_ids))
            return Op(kind, key, user.id, "/api/v1/payments/charge", body, keyed)
        if kind == "paper_order":
            body = {
                "symbol": "DEMO",
                "side": "buy",
                "kind": "market",
                "qty": rng.randint(1, 3),
                "client_order_id": key,
            }
            url = f"/api/v1/trading/portfolios/{mentee.portfolio_id}/orders"
            return Op(kind, key, user.id, url, body, mentee.headers)
        admin = {**self.cast.admin_headers, "Idempotency-Key": key}
        if kind == "lesson_award":
            body = {
                "user_id": str(user.id),
                "rule_code": "lesson_completed",
                "related_entity_id": f"lesson-{key[-12:]}",
            }
            return Op(kind, key, user.id, "/api/v1/points/award", body, admin)
        if kind == "bonus_award":
            body = {"user_id": str(user.id), "change": rng.randint(5, 60), "reason_code": "chaos"}
            return Op(kind, key, user.id, "/api/v1/points/award", body, admin)
        points = rng.randint(1, mentee.spendable_points)
        mentee.spendable_points -= points
        body = {"points": points, "target": "credit"}
        return Op(kind, key, user.id, "/api/v1/wallet/convert-points", body, keyed)

    async def _send(self, op: Op) -> tuple[int, Any]:
        response = await self.http.answer("POST", op.url, json=op.body, headers=op.headers)
        answer = (response.status_code, response.json())
        op.answers.append(answer)
        if response.status_code != EXPECTED_STATUS[op.kind]:
            self.figures.unexpected.append(
                f"{op.kind} {op.key}: {response.status_code} {response.text[:300]}"
            )
        return answer

    async def _run(self, op: Op, rng: random.Random, mentee: Mentee) -> None:
        self.ops.append(op)
        if rng.random() < TWIN_SHARE:
            self.figures.twins += 1
            await asyncio.gather(self._send(op), self._send(op))
        else:
            await self._send(op)
        if rng.random() < RESENT_SHARE:
            self.figures.resent += 1
            await self._send(op)
        status, body = op.answers[0]
        if status != EXPECTED_STATUS[op.kind]:
            return
        # What the person on the other side does with the answer.
        if op.kind == "card_deposit":
            self.providers.customer_pays_checkout(body["provider_ref"])
        elif op.kind == "mpesa_deposit":
            self.providers.customer_answers_prompts(body["id"])
        elif op.kind in ("lesson_award", "bonus_award") and body["status"] == "posted":
            mentee.spendable_points += body["points"]

    async def client(self, index: int, round_no: int, operations: int) -> None:
        mentee = self.cast.mentees[index]
        rng = random.Random(f"{self.seed}:{round_no}:{index}")
        for _ in range(operations):
            await self._run(self._op(rng, mentee), rng, mentee)
            self.done += 1

    async def replay_all(self, ops: list[Op]) -> None:
        """Every key sent once more, after the fact, as a client that lost its answer."""
        limit = asyncio.Semaphore(16)

        async def replay(op: Op) -> None:
            async with limit:
                await self._send(op)

        await asyncio.gather(*(replay(op) for op in ops))


# ---- the providers' side ---------------------------------------------------------------


class Providers:
    """Customers paying and the providers calling back: Stripe sends a signed
    `checkout.session.completed` per paid session, Daraja the STK callback per answered
    prompt and the B2C result per payout request it took in; each until the platform
    answers 2xx, some twice or two at once. Some B2C results never arrive: the
    reconciliation job must find those."""

    def __init__(
        self,
        stripe: StripeSimulator,
        daraja: DarajaSimulator,
        http: Http,
        figures: Figures,
        rng: random.Random,
    ) -> None:
        self.stripe = stripe
        self.daraja = daraja
        self.http = http
        self.figures = figures
        self.rng = rng
        self.card_paid: dict[str, int] = {}  # checkout session → amount paid
        # STK checkout id → (deposit id, amount paid; 0 when the customer cancelled).
        self.prompts: dict[str, tuple[str, int]] = {}
        self.b2c_handled: set[str] = set()
        self.b2c_results_lost = 0
        self._deliveries: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    @property
    def delivering(self) -> int:
        return len(self._deliveries)

    async def settled(self) -> None:
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries))

    async def _deliver(self, path: str, make: Any) -> None:
        """One callback, repeated or doubled now and then; `make()` → (content, headers)."""
        copies = 2 if self.rng.random() < WEBHOOK_REPEAT_SHARE else 1
        together = copies == 2 and self.rng.random() < 0.5

        async def once() -> None:
            content, headers = make()
            self.figures.callbacks += 1
            response = await self.http.answer("POST", path, content=content, headers=headers)
            if response.status_code != 200:
                self.figures.unexpected.append(
                    f"callback {path}: {response.status_code} {response.text[:300]}"
                )

        if together:
            await asyncio.gather(once(), once())
        else:
            for _ in range(copies):
                await once()

    def customer_pays_checkout(self, session_id: str) -> None:
        if session_id in self.card_paid:
            return  # the same session, answered again: paid once
        event = self.stripe.pay(session_id, int(time.time()))
        self.card_paid[session_id] = int(event["data"]["object"]["amount_total"])

        def signed() -> tuple[bytes, dict[str, str]]:
            # Stripe signs each delivery attempt afresh.
            return self.stripe.signed(event, int(time.time()))

        self._spawn(self._deliver("/api/v1/webhooks/stripe", signed))

    def customer_answers_prompts(self, deposit_id: str) -> None:
        """The customer answers every M-Pesa prompt their phone got for this deposit (by
        its account reference, which the phone shows): more than one if the platform
        pushed more than one."""
        reference = account_reference(f"DRC{uuid.UUID(deposit_id).hex[:9]}")
        for checkout_id, push in list(self.daraja.pushes.items()):
            if push["AccountReference"] != reference or checkout_id in self.prompts:
                continue
            cancelled = self.rng.random() < STK_CANCELLED_SHARE
            path, payload = self.daraja.stk_callback(
                checkout_id, result_code=1032 if cancelled else 0
            )
            self.prompts[checkout_id] = (deposit_id, 0 if cancelled else int(push["Amount"]) * 100)
            self._spawn(self._deliver(path, lambda payload=payload: _json(payload)))

    def paid_by_phone(self) -> dict[str, int]:
        """Deposit id → what its customer paid through M-Pesa prompts."""
        paid: dict[str, int] = {}
        for deposit_id, amount in self.prompts.values():
            paid[deposit_id] = paid.get(deposit_id, 0) + amount
        return paid

    def _b2c_outcomes(self) -> None:
        """M-Pesa processes each B2C request it took in, and posts the result (or loses it)."""
        for originator in list(self.daraja.b2c_requests):
            if originator in self.b2c_handled:
                continue
            self.b2c_handled.add(originator)
            failed = self.rng.random() < B2C_FAILED_SHARE
            path, payload = self.daraja.b2c_result(originator, result_code=2001 if failed else 0)
            if self.rng.random() < B2C_RESULT_LOST_SHARE:
                self.b2c_results_lost += 1
                continue
            self._spawn(self._deliver(path, lambda payload=payload: _json(payload)))

    async def b2c_courier(self) -> None:
        while True:
            self._b2c_outcomes()
            await asyncio.sleep(0.1)

    def deliver_status_results(self) -> int:
        results = self.daraja.take_status_results()
        for path, payload in results:
            self._spawn(self._deliver(path, lambda payload=payload: _json(payload)))
        return len(results)

    def b2c_paid(self) -> dict[str, int]:
        """Payout id → what M-Pesa paid for it in all (minor units), from M-Pesa's books."""
        paid: dict[str, int] = {}
        for originator, outcome in self.daraja.b2c_outcomes.items():
            if outcome.result_code == 0:
                payout_id = str(self.daraja.b2c_requests[originator]["Occasion"])
                paid[payout_id] = paid.get(payout_id, 0) + outcome.paid_amount * 100
        return paid

    def b2c_paid_count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for originator, outcome in self.daraja.b2c_outcomes.items():
            if outcome.result_code == 0:
                payout_id = str(self.daraja.b2c_requests[originator]["Occasion"])
                counts[payout_id] = counts.get(payout_id, 0) + 1
        return counts


@dataclass
class LossyDaraja(DarajaSimulator):
    """Daraja whose answer to an STK push it took in (and prompted the phone for) is lost
    now and then: a 500 Internal Server Error, as a broken connection would leave it."""

    stk_answers_to_lose: int = 0

    def _stk_push(self, body: dict[str, Any]) -> Any:
        response = super()._stk_push(body)
        if response.status_code == 200 and self.stk_answers_to_lose > 0:
            self.stk_answers_to_lose -= 1
            return self._error(500, "500.003.1001", "Internal Server Error")
        return response


def _json(payload: Any) -> tuple[bytes, dict[str, str]]:
    return httpx.Request("POST", "/", json=payload).content, {"Content-Type": "application/json"}


# ---- the scheduler's jobs --------------------------------------------------------------


class _AnHourAhead:
    """The jobs run as they would an hour from now: past every reconciliation deadline and
    retry backoff of this run, which the test cannot sit through."""

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(hours=1)


class Scheduler:
    """The cron jobs that finish what a crash left: payouts in flight past the deadline are
    asked about, payouts due are sent again, M-Pesa top-ups whose prompt nothing confirmed
    are given up, held redemptions are released."""

    def __init__(self, platform: Platform, providers: Providers) -> None:
        self.platform = Platform(
            settings=platform.settings, database=platform.database, clock=_AnHourAhead()
        )
        self.providers = providers
        self.status_queries = 0
        self.payout_retries = 0
        self.released = 0
        self.deposits_settled = 0

    async def run(self) -> None:
        self.status_queries += await reconcile_payouts_in_flight(self.platform)
        self.providers.deliver_status_results()
        self.payout_retries += await retry_due_payouts(self.platform)
        self.deposits_settled += await settle_stale_mpesa_deposits(self.platform)
        self.released += await release_held_redemptions(self.platform)


@contextlib.asynccontextmanager
async def running(task: Coroutine[Any, Any, None]) -> Any:
    handle = asyncio.get_running_loop().create_task(task)
    try:
        yield handle
    finally:
        handle.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await handle
