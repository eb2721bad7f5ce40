"""One check of the idempotency contract that every money-moving route keeps, over HTTP:
the key from the `Idempotency-Key` header or the body, concurrent retries applying once
and answering alike, a changed body or two different keys refused with a 422."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support import AppClient

MONEY_MOVING_OPERATIONS = (
    "startWalletDeposit",
    "withdrawFromWallet",
    "chargeWallet",
    "refundCardDeposit",
    "refundCharge",
    "bookSession",
    "buyPackage",
    "joinCohort",
    "subscribeToSignals",
    "joinPremiumCommunityGroup",
    "convertPoints",
    "awardPoints",
)
# Take the key too, without moving money: a retried chat send never doubles a message.
KEYED_OPERATIONS = (
    *MONEY_MOVING_OPERATIONS,
    "startChatConversation",
    "sendChatMessage",
    "sendChatAttachment",
)


async def check_idempotent_route(
    client: AppClient,
    url: str,
    *,
    body: dict[str, Any] | None,
    changed_body: dict[str, Any] | None,
    headers: dict[str, str],
    effects: Callable[[], Awaitable[int]],
    retries: int = 12,
) -> Any:
    """`body` (without a key) posted `retries` times at once with one header key applies
    once (`effects` counts what it applies) and every answer equals the first; the key in
    the body, alone or beside an equal header, replays it too; then a changed body (unless
    None: the route has nothing to change), a body key differing from the header, no key
    at all or a malformed header are 422s that apply nothing.
    Returns the first response."""
    key = f"hdr-{uuid.uuid4()}"
    keyed = {**headers, "Idempotency-Key": key}
    before = await effects()

    def post(json: dict[str, Any] | None, hdrs: dict[str, str]) -> Awaitable[Any]:
        return client.post(url, json=json, headers=hdrs)

    answers = await asyncio.gather(*(post(body, keyed) for _ in range(retries)))
    first = answers[0]
    assert first.status_code in (200, 201), first.text
    for answer in answers:
        assert (answer.status_code, answer.json()) == (first.status_code, first.json())
    assert await effects() == before + 1

    with_body_key = {**(body or {}), "idempotency_key": key}
    for replay in (await post(with_body_key, keyed), await post(with_body_key, headers)):
        assert (replay.status_code, replay.json()) == (first.status_code, first.json())

    if changed_body is not None:
        changed = await post(changed_body, keyed)
        assert changed.status_code == 422, changed.text
        assert changed.json()["errors"][0]["field"] == "idempotency_key"
    two_keys = await post({**(body or {}), "idempotency_key": f"other-{uuid.uuid4()}"}, keyed)
    assert two_keys.status_code == 422, two_keys.text
    fields = {e["field"] for e in two_keys.json()["errors"]}
    assert fields == {"idempotency_key", "Idempotency-Key"}
    missing = await post(body, headers)
    assert missing.status_code == 422, missing.text
    assert missing.json()["errors"][0]["field"] == "idempotency_key"
    too_short = await post(body, {**headers, "Idempotency-Key": "short"})
    assert too_short.status_code == 422, too_short.text
    assert too_short.json()["errors"][0]["field"] == "Idempotency-Key", too_short.text
    assert await effects() == before + 1
    return first
