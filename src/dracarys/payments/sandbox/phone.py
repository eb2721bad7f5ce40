"""The M-Pesa sandbox's phone: a page listing the STK pushes no phone has answered yet,
where a person plays the customer (approve, decline, or one of M-Pesa's other failures),
and the sandbox posts Daraja's callback for the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get, post
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath

from dracarys.money import format_money, minor_per_major
from dracarys.payments.mode import PHONE_PAGE_PATH
from dracarys.payments.sandbox.serving import html_response, see_other

if TYPE_CHECKING:
    from dracarys.payments.sandbox.daraja_sandbox import DarajaSimulator

# What the customer may do with a prompt: the ResultCode each answer sends, its label.
ANSWERS: tuple[tuple[int, str], ...] = (
    (0, "Approve"),
    (1032, "Decline"),
    (1, "Not enough money"),
    (1037, "Phone unreachable"),
    (2001, "Wrong PIN"),
)
_LABELS = dict(ANSWERS)


@dataclass(frozen=True, slots=True)
class PromptView:
    checkout_id: str
    amount: str
    phone: str
    pay_to: str
    reference: str
    description: str
    sent_at: str
    outcome: str | None


def _prompt(simulator: DarajaSimulator, checkout_id: str) -> PromptView:
    push = simulator.pushes[checkout_id]
    shillings = push.get("Amount")
    amount = (
        format_money(shillings * minor_per_major("KES"), "KES")
        if isinstance(shillings, int)
        else str(shillings)
    )
    sent = datetime.fromtimestamp(simulator.pushed_at.get(checkout_id, 0.0), UTC)
    result = simulator.results.get(checkout_id)
    outcome = None
    if result is not None:
        code, description = result
        outcome = f"{_LABELS.get(code, 'Answered')}: {description} (ResultCode {code})"
    return PromptView(
        checkout_id=checkout_id,
        amount=amount,
        phone=str(push.get("PhoneNumber", "")),
        pay_to=str(push.get("PartyB", "")),
        reference=str(push.get("AccountReference", "")),
        description=str(push.get("TransactionDesc", "")),
        sent_at=sent.strftime("%H:%M:%S UTC"),
        outcome=outcome,
    )


def phone_routes(simulator: DarajaSimulator) -> list[BaseRouteHandler]:
    @get(PHONE_PAGE_PATH)
    async def phone_page(request: Request[Any, Any, Any]) -> Response[str]:
        answered = request.query_params.get("answered")
        notice = None
        if answered in simulator.results:
            code, _ = simulator.results[answered]
            notice = (
                f"{_LABELS.get(code, 'Answered')}: the M-Pesa callback for "
                f"{_prompt(simulator, answered).amount} went to the merchant."
            )
        return html_response(
            "phone.html",
            waiting=[_prompt(simulator, c) for c in simulator.unanswered_pushes()],
            answered=[_prompt(simulator, c) for c in simulator.answered_pushes()],
            answers=ANSWERS,
            notice=notice,
        )

    @post(f"{PHONE_PAGE_PATH}/{{checkout_id:str}}")
    async def answer_prompt(
        request: Request[Any, Any, Any], checkout_id: FromPath[str]
    ) -> Response[str]:
        form = await request.form()
        raw = str(form.get("result_code", ""))
        if checkout_id not in simulator.pushes:
            return html_response("gone.html", status=404, what="No such M-Pesa prompt.")
        if checkout_id in simulator.results:
            return html_response("gone.html", status=409, what="This prompt was answered already.")
        if not raw.lstrip("-").isdigit() or int(raw) not in _LABELS:
            return html_response("gone.html", status=422, what="Choose one of the answers.")
        simulator.answer_push(checkout_id, int(raw))
        return see_other(f"{request.url.path.rsplit('/', 1)[0]}?answered={checkout_id}")

    return [phone_page, answer_prompt]
