"""The KYC page's API: the tiers (what each level needs and unlocks, from the settings and
gates in force), the caller's own documents per tier with the reviewer's reason, and the
upload rule (a kind again only after a rejection)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from dracarys.clock import ManualClock
from dracarys.identity import (
    KYC_LEVEL_FOR_MENTOR_PAYOUTS,
    KYC_LEVEL_TO_CONVERT_POINTS,
    KYC_LEVEL_TO_ROUTE_TO_BROKER,
    KYC_LEVEL_TO_SELL_SHORT,
    KYC_LEVEL_TO_WITHDRAW,
    Role,
)
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.wallet import run_weekly_payouts
from tests.conftest import FundWallet
from tests.identity.conftest import Client
from tests.identity.test_kyc import PDF, PNG
from tests.messaging.simulators import SmtpSimulator
from tests.support import TestUser
from workers.runtime import Worker


async def _upload(
    client: Client,
    user: TestUser,
    content: bytes,
    doc_type: str = "government_id",
    *,
    owner: uuid.UUID | None = None,
) -> httpx.Response:
    return await client.patch(
        f"/api/v1/users/{owner or user.id}/kyc-upload",
        files={"file": ("scan.bin", content, "application/octet-stream")},
        data={"doc_type": doc_type},
        headers=user.headers,
    )


async def _decide(
    client: Client, reviewer: TestUser, document_id: str, verdict: str, reason: str | None = None
) -> None:
    response = await client.post(
        f"/api/v1/kyc/documents/{document_id}/{verdict}",
        json={"reason": reason} if reason else {},
        headers=reviewer.headers,
    )
    assert response.status_code == 200, response.text


async def _mine(client: Client, user: TestUser) -> dict[str, Any]:
    response = await client.get("/api/v1/me/kyc", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _slot(mine: dict[str, Any], level: int) -> dict[str, Any]:
    tier = next(t for t in mine["tiers"] if t["level"] == level)
    slot: dict[str, Any] = tier["documents"][0]
    return slot


async def _level_one(pool: asyncpg.Pool, user_id: uuid.UUID) -> None:
    """E-mail and phone verified (level 1's facts), as the verification flows leave them."""
    await pool.execute(
        "UPDATE users SET email_verified_at = now(), phone_verified_at = now() WHERE id = $1",
        user_id,
    )


async def test_the_tiers_say_what_each_level_needs_and_unlocks_with_the_limits_in_force(
    client: Client, settings: Settings
) -> None:
    response = await client.get("/api/v1/kyc/tiers")  # public: no session
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["max_level"] == 3
    tiers = {t["level"]: t for t in body["tiers"]}
    assert sorted(tiers) == [1, 2, 3]
    assert [r["kind"] for r in tiers[1]["requirements"]] == ["email_verified", "phone_verified"]
    assert [r["doc_type"] for r in tiers[2]["requirements"]] == ["government_id"]
    assert [r["doc_type"] for r in tiers[3]["requirements"]] == ["proof_of_address"]
    assert all(r["hint"] for r in tiers[2]["requirements"] + tiers[3]["requirements"])

    unlocked_at = {u["capability"]: level for level, t in tiers.items() for u in t["unlocks"]}
    assert unlocked_at == {
        "trading.sell_short": KYC_LEVEL_TO_SELL_SHORT,
        "wallet.withdraw": KYC_LEVEL_TO_WITHDRAW,
        "wallet.mentor_payouts": KYC_LEVEL_FOR_MENTOR_PAYOUTS,
        "points.convert_to_credit": KYC_LEVEL_TO_CONVERT_POINTS,
        "trading.route_to_broker": KYC_LEVEL_TO_ROUTE_TO_BROKER,
    }
    withdraw = next(u for u in tiers[2]["unlocks"] if u["capability"] == "wallet.withdraw")
    limits = {(x["kind"], x["currency"]): x["amount_minor"] for x in withdraw["limits"]}
    assert limits == {
        ("daily_withdrawal", "KES"): settings.wallet_daily_withdraw_kes_minor,
        ("daily_withdrawal", "USD"): settings.wallet_daily_withdraw_usd_minor,
        ("authenticator_code_from", "KES"): settings.wallet_step_up_kes_minor,
        ("authenticator_code_from", "USD"): settings.wallet_step_up_usd_minor,
    }
    convert = next(u for u in tiers[2]["unlocks"] if u["capability"] == "points.convert_to_credit")
    assert convert["hold_days"] == settings.points_redemption_hold_days
    assert tiers[3]["unlocks"] == []
    assert body["documents"] == {
        "accepted_types": ["image/jpeg", "image/png", "application/pdf"],
        "accepted_type_names": "JPEG, PNG or PDF",
        "max_upload_bytes": settings.kyc_max_upload_bytes,
    }


async def test_withdrawals_and_points_credit_open_exactly_at_the_level_the_tiers_state(
    client: Client, make_user: Any, fund_wallet: FundWallet
) -> None:
    """The wallet and points enforce these gates; this pins them to what the page says."""
    below = await make_user(kyc_level=KYC_LEVEL_TO_WITHDRAW - 1)
    at = await make_user(kyc_level=KYC_LEVEL_TO_WITHDRAW)
    for user in (below, at):
        await fund_wallet(user.id, "KES", 500_000)

    async def withdraw(user: TestUser) -> httpx.Response:
        return await client.post(
            f"/api/v1/wallets/{user.id}/withdraw",
            json={
                "amount_minor": 100_000,
                "currency": "KES",
                "method": "bank",
                "destination": "Equity Bank 0123456789",
            },
            headers={**user.headers, "Idempotency-Key": str(uuid.uuid4())},
        )

    refused = await withdraw(below)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "kyc_level"
    assert (await withdraw(at)).status_code == 201

    points_below = await make_user(kyc_level=KYC_LEVEL_TO_CONVERT_POINTS - 1)
    points_at = await make_user(kyc_level=KYC_LEVEL_TO_CONVERT_POINTS)

    async def convert(user: TestUser) -> httpx.Response:
        return await client.post(
            "/api/v1/wallet/convert-points",
            json={"points": 100, "target": "credit"},
            headers={**user.headers, "Idempotency-Key": str(uuid.uuid4())},
        )

    gated = await convert(points_below)
    assert gated.status_code == 403
    assert "identity verification" in gated.json()["detail"]
    # Past the gate, the refusal is about the points this user does not have.
    past = await convert(points_at)
    assert past.status_code != 403, past.text


async def test_weekly_payouts_go_to_mentors_from_the_level_the_tiers_state(
    platform: Platform, make_user: Any, fund_wallet: FundWallet, pool: asyncpg.Pool
) -> None:
    below = await make_user(role=Role.MENTOR, kyc_level=KYC_LEVEL_FOR_MENTOR_PAYOUTS - 1)
    at = await make_user(role=Role.MENTOR, kyc_level=KYC_LEVEL_FOR_MENTOR_PAYOUTS)
    for mentor in (below, at):
        await fund_wallet(mentor.id, "KES", 500_000)
    await run_weekly_payouts(platform)
    paid = await pool.fetch("SELECT user_id FROM payouts WHERE kind = 'scheduled'")
    assert [r["user_id"] for r in paid] == [at.id]


async def test_my_kyc_shows_each_document_per_tier_with_the_reviewers_reason_and_reupload(
    client: Client,
    make_user: Any,
    pool: asyncpg.Pool,
    clock: ManualClock,
    worker: Worker,
    smtp_server: SmtpSimulator,
    settings: Settings,
) -> None:
    owner: TestUser = await make_user(email=f"owner-{uuid.uuid4().hex[:8]}@example.com")
    reviewer: TestUser = await make_user(role=Role.REVIEWER)
    await _level_one(pool, owner.id)
    await pool.execute("UPDATE users SET kyc_level = 1 WHERE id = $1", owner.id)

    fresh = await _mine(client, owner)
    assert (fresh["user_id"], fresh["kyc_level"], fresh["max_level"]) == (str(owner.id), 1, 3)
    assert [(t["level"], t["reached"]) for t in fresh["tiers"]] == [
        (1, True),
        (2, False),
        (3, False),
    ]
    assert [r["met"] for r in fresh["tiers"][0]["requirements"]] == [True, True]
    assert fresh["tiers"][0]["documents"] == []
    gov = _slot(fresh, 2)
    assert (gov["doc_type"], gov["name"], gov["status"]) == (
        "government_id",
        "government ID",
        "missing",
    )
    assert gov["may_upload"] is True
    assert gov["latest"] is None

    first = (await _upload(client, owner, PNG)).json()
    pending = _slot(await _mine(client, owner), 2)
    assert (pending["status"], pending["may_upload"]) == ("pending", False)
    assert pending["latest"]["id"] == first["id"]

    reason = "The photo is blurred: the name cannot be read"
    await _decide(client, reviewer, first["id"], "reject", reason)
    rejected = _slot(await _mine(client, owner), 2)
    assert (rejected["status"], rejected["may_upload"]) == ("rejected", True)
    assert rejected["rejection_reason"] == reason
    assert rejected["latest"]["reason"] == reason

    clock.advance(timedelta(minutes=5))
    again = await _upload(client, owner, PDF)
    assert again.status_code == 200, again.text
    assert again.json()["replaces"] == first["id"]
    resubmitted = _slot(await _mine(client, owner), 2)
    assert (resubmitted["status"], resubmitted["may_upload"]) == ("pending", False)
    assert resubmitted["rejection_reason"] is None
    assert [d["id"] for d in resubmitted["earlier"]] == [first["id"]]
    assert resubmitted["earlier"][0]["reason"] == reason

    await _decide(client, reviewer, again.json()["id"], "approve")
    done = await _mine(client, owner)
    assert done["kyc_level"] == 2
    assert [(t["level"], t["reached"]) for t in done["tiers"]] == [(1, True), (2, True), (3, False)]
    assert (_slot(done, 2)["status"], _slot(done, 2)["may_upload"]) == ("approved", False)
    assert done["tiers"][1]["requirements"][0]["met"] is True
    assert (_slot(done, 3)["status"], _slot(done, 3)["may_upload"]) == ("missing", True)

    mails = await smtp_server.wait_for(owner.email, count=2)
    rejection = next(m for m in mails if "could not" in m["Subject"])
    text = rejection.get_body(preferencelist=("plain",))
    assert text is not None
    assert f"{settings.public_url}/kyc" in text.get_content()


async def test_a_kind_is_uploaded_again_only_after_a_rejection(
    client: Client, make_user: Any, pool: asyncpg.Pool, settings: Settings
) -> None:
    owner: TestUser = await make_user()
    reviewer: TestUser = await make_user(role=Role.REVIEWER)
    first = (await _upload(client, owner, PNG)).json()

    while_pending = await _upload(client, owner, PDF)
    assert while_pending.status_code == 409
    problem = while_pending.json()
    assert problem["errors"][0]["field"] == "doc_type"
    assert "waiting for a reviewer" in problem["detail"]
    # Another kind is independent of the pending one.
    assert (await _upload(client, owner, PDF, "proof_of_address")).status_code == 200

    await _decide(client, reviewer, first["id"], "approve")
    after_approval = await _upload(client, owner, PDF)
    assert after_approval.status_code == 409
    assert "already approved" in after_approval.json()["detail"]

    # Refused uploads left no row and no file behind.
    assert (
        await pool.fetchval("SELECT count(*) FROM kyc_documents WHERE user_id = $1", owner.id) == 2
    )
    assert len(list((Path(settings.data_dir) / "kyc").iterdir())) == 2


async def test_concurrent_uploads_of_one_kind_store_one_document(
    client: Client, make_user: Any, pool: asyncpg.Pool, settings: Settings
) -> None:
    owner: TestUser = await make_user()
    responses = await asyncio.gather(*(_upload(client, owner, PNG) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    assert (
        await pool.fetchval("SELECT count(*) FROM kyc_documents WHERE user_id = $1", owner.id) == 1
    )
    assert len(list((Path(settings.data_dir) / "kyc").iterdir())) == 1


async def test_a_user_sees_and_uploads_only_their_own_documents(
    client: Client, make_user: Any
) -> None:
    owner: TestUser = await make_user()
    stranger: TestUser = await make_user()
    document = (await _upload(client, owner, PNG)).json()

    theirs = await _mine(client, stranger)
    assert theirs["user_id"] == str(stranger.id)
    assert _slot(theirs, 2)["status"] == "missing"
    assert (
        await client.get(f"/api/v1/users/{owner.id}/kyc", headers=stranger.headers)
    ).status_code == 404
    file_url = f"/api/v1/kyc/documents/{document['id']}/file"
    assert (await client.get(file_url, headers=stranger.headers)).status_code == 404
    for_someone_else = await _upload(client, stranger, PDF, "proof_of_address", owner=owner.id)
    assert for_someone_else.status_code == 404
    assert _slot(await _mine(client, owner), 3)["status"] == "missing"
    assert (await client.get("/api/v1/me/kyc")).status_code == 401


async def test_upload_refusals_name_the_field_in_words_a_person_understands(
    client: Client, make_user: Any, settings: Settings, pool: asyncpg.Pool
) -> None:
    owner: TestUser = await make_user()

    async def refusal(response: httpx.Response) -> tuple[int, str, str]:
        problem = response.json()
        return response.status_code, problem["errors"][0]["field"], problem["errors"][0]["message"]

    status, field, message = await refusal(await _upload(client, owner, b"<html>hi</html>"))
    assert (status, field) == (422, "file")
    assert "not a JPEG, PNG or PDF" in message
    status, field, message = await refusal(await _upload(client, owner, b""))
    assert (status, field) == (422, "file")
    assert "empty" in message
    big = PNG + b"\x00" * settings.kyc_max_upload_bytes
    status, field, message = await refusal(await _upload(client, owner, big))
    assert (status, field) == (422, "file")
    assert "MB" in message
    assert "limit" in message
    status, field, message = await refusal(await _upload(client, owner, PNG, "selfie"))
    assert (status, field) == (422, "doc_type")
    assert "government ID or a proof of address" in message
    no_file = await client.patch(
        f"/api/v1/users/{owner.id}/kyc-upload",
        files={"doc_type": (None, b"government_id")},  # multipart, with no file part
        headers=owner.headers,
    )
    assert no_file.status_code == 422
    assert no_file.json()["errors"][0]["field"] == "file"
    assert await pool.fetchval("SELECT count(*) FROM kyc_documents") == 0
