"""Wallet events reach their users' open pages: the `wallet.live` consumer turns each
committed wallet event into a `wallet.changed` frame on `notifications:{user_id}` (an
escrow's release on both its payer's and its mentor's), through the real outbox relay
and worker when M-Pesa's callback settles a withdrawal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import Role
from dracarys.outbox import Event, consume_batch
from dracarys.platform import Platform
from dracarys.wallet import LIVE_TOPICS, publish_wallet_changes
from dracarys.wallet.escrow import service as escrow
from streams import channels
from tests.conftest import FundWallet
from tests.support import AppClient, TestUser
from tests.wallet.conftest import current_originator
from tests.wallet.simulators import DarajaSimulator
from workers.consumers import consumer_names
from workers.runtime import Worker

MakeUser = Callable[..., Awaitable[TestUser]]


async def _live(platform: Platform, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The frames on the user's notifications channel, oldest first."""
    caught = await platform.streams.catch_up(channels.notifications(user_id), 0)
    frames = [msgspec.json.decode(frame) for _, frame in caught.frames]
    return [f["data"] for f in frames]


async def _events(pool: asyncpg.Pool, topic: str) -> list[Event]:
    rows = await pool.fetch(
        "SELECT id, topic, payload, created_at FROM outbox WHERE topic = $1 ORDER BY created_at",
        topic,
    )
    return [
        Event(id=r["id"], topic=r["topic"], payload=r["payload"], created_at=r["created_at"])
        for r in rows
    ]


def test_every_wallet_event_that_moves_a_users_money_is_sent_live() -> None:
    assert {
        "deposit.completed",
        "payment.captured",
        "refund.issued",
        "escrow.released",
        "payout.completed",
        "payout.failed",
        "payout.needs_review",
        "chargeback.opened",
        "chargeback.closed",
        "points.credit_landed",
    } == LIVE_TOPICS
    for topic in LIVE_TOPICS:
        assert "wallet.live" in consumer_names(topic)


async def test_an_escrow_release_tells_its_payer_and_its_mentor(
    client: AppClient,
    make_user: MakeUser,
    platform: Platform,
    clock: ManualClock,
    fund_wallet: FundWallet,
) -> None:
    mentee = await make_user()
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    await fund_wallet(mentee.id, "KES", 1_160_000)
    paid = await client.post(
        "/api/v1/payments/charge",
        json={
            "purpose": "session",
            "reference": "booking-live",
            "amount_minor": 1_160_000,
            "currency": "KES",
            "mentor_id": str(mentor.id),
            "idempotency_key": "pay-booking-live",
        },
        headers=mentee.headers,
    )
    assert paid.status_code == 201, paid.text
    clock.advance(timedelta(hours=1))
    async with transaction(platform.pool) as conn:
        await escrow.release_escrow(
            conn, paid.json()["escrow_id"], settings=platform.settings, now=clock.now()
        )
    batch = [
        *await _events(platform.pool, "payment.captured"),
        *await _events(platform.pool, "escrow.released"),
    ]

    async def unused(conn: Any, event: Event) -> None:
        raise AssertionError("the batch handler takes every event")

    async def publish(_: Any, events: Any) -> None:
        await publish_wallet_changes(platform, events)

    await consume_batch(platform.pool, "wallet.live", batch, unused, batch_handler=publish)
    assert [(f["type"], f["topic"], f["summary"]) for f in await _live(platform, mentee.id)] == [
        ("wallet.changed", "payment.captured", "You paid KES 11,600.00."),
        (
            "wallet.changed",
            "escrow.released",
            "Your session payment of KES 11,600.00 left escrow.",
        ),
    ]
    [earned] = await _live(platform, mentor.id)
    assert (earned["topic"], earned["amount_minor"], earned["summary"]) == (
        "escrow.released",
        700_000,
        "You earned KES 7,000.00 from a session.",
    )
    assert earned["related_id"] == paid.json()["escrow_id"]


async def test_the_m_pesa_callback_reaches_the_users_page_live_through_the_worker(
    client: AppClient,
    make_user: MakeUser,
    platform: Platform,
    pool: asyncpg.Pool,
    daraja_sim: DarajaSimulator,
    fund_wallet: FundWallet,
) -> None:
    user = await make_user(kyc_level=2)
    await fund_wallet(user.id, "KES", 500_000)
    sent = await client.post(
        f"/api/v1/wallets/{user.id}/withdraw",
        json={
            "amount_minor": 200_000,
            "currency": "KES",
            "method": "mpesa",
            "destination": "0722000444",
            "idempotency_key": "live-wd-0001",
        },
        headers=user.headers,
    )
    assert sent.status_code == 201, sent.text
    path, result = daraja_sim.b2c_result(await current_originator(pool, sent.json()["id"]))
    assert (await client.post(path, json=result)).status_code == 200

    worker = Worker(platform)
    await worker.start()

    # The same channel carries the inbox's notification of the withdrawal too.
    def wallet_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [f for f in frames if f["type"] == "wallet.changed"]

    try:
        async with asyncio.timeout(20):
            while not wallet_frames(await _live(platform, user.id)):
                await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    [frame] = wallet_frames(await _live(platform, user.id))
    assert frame == {
        "type": "wallet.changed",
        "topic": "payout.completed",
        "currency": "KES",
        "amount_minor": 200_000,
        "summary": "Your withdrawal of KES 2,000.00 was paid out.",
        "related_id": sent.json()["id"],
        "at": frame["at"],
    }
