"""Admin fixtures: the wallet's Daraja and Stripe simulators (real M-Pesa deposit flows),
M-Pesa deposits completed through the simulator's signed callback, and a drain that hands
committed outbox events to the worker's real consumers (by name), the worker path minus
the queue."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import asyncpg
from taskiq import InMemoryBroker

from dracarys.outbox import Event, consume_batch, relay_batch
from dracarys.payments.sandbox import DarajaSimulator
from dracarys.platform import Platform
from tests.support import AppClient, TestUser
from tests.wallet.conftest import (  # noqa: F401 - fixtures
    daraja_server,
    daraja_sim,
    settings,
    stripe_server,
)
from workers.broker import Delivery
from workers.consumers import CONSUMERS
from workers.tasks import handlers_of

AML = frozenset({"admin.aml"})


async def drain(platform: Platform, consumers: Collection[str] = AML) -> int:
    """Relay every committed outbox event to the named consumers until none is left."""
    delivery = Delivery(platform=platform, broker=InMemoryBroker())

    async def publish(events: Sequence[Event]) -> None:
        for consumer in CONSUMERS:
            if consumer.name not in consumers:
                continue
            batch = [e for e in events if e.topic in consumer.topics]
            if batch:
                handler, batch_handler = handlers_of(consumer, delivery)
                await consume_batch(
                    platform.pool, consumer.name, batch, handler, batch_handler=batch_handler
                )

    total = 0
    while moved := await relay_batch(platform.pool, publish):
        total += moved
    return total


async def mpesa_deposit(
    client: AppClient, daraja: DarajaSimulator, user: TestUser, amount_minor: int, key: str
) -> dict[str, Any]:
    """An M-Pesa deposit asked for (STK push) and paid (Daraja's callback)."""
    asked = await client.post(
        f"/api/v1/wallets/{user.id}/deposits",
        json={
            "method": "mpesa",
            "amount_minor": amount_minor,
            "currency": "KES",
            "idempotency_key": key,
            "phone": "0712 345 678",
        },
        headers=user.headers,
    )
    assert asked.status_code == 201, asked.text
    deposit: dict[str, Any] = asked.json()
    path, payload = daraja.stk_callback(deposit["provider_ref"])
    paid = await client.post(path, json=payload)
    assert paid.status_code == 200, paid.text
    return deposit


async def live_in(pool: asyncpg.Pool, client: AppClient, user: TestUser, country: str) -> None:
    """The member's profile says where they live (the country whose AML rules apply)."""
    await pool.execute(
        "INSERT INTO user_profiles (user_id, updated_at) VALUES ($1, now()) ON CONFLICT DO NOTHING",
        user.id,
    )
    saved = await client.patch(
        f"/api/v1/users/{user.id}/profile", json={"country": country}, headers=user.headers
    )
    assert saved.status_code == 200, saved.text


def withdrawal(amount_minor: int, key: str) -> dict[str, Any]:
    return {
        "amount_minor": amount_minor,
        "currency": "KES",
        "method": "mpesa",
        "destination": "0722000222",
        "idempotency_key": key,
    }
