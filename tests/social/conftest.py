"""Social fixtures: an app that trusts the test client as a proxy (so each request can
say which address it comes from), the mentorship fixtures for paid sessions, and a drain
that hands committed outbox events to the real consumers of the worker (by name), the
worker path minus the queue."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

import pytest
from taskiq import InMemoryBroker

from dracarys.outbox import Event, consume_batch, relay_batch
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.mentorship.conftest import auth, make_mentee, make_mentor  # noqa: F401 - fixtures
from tests.support import AppClient
from workers.broker import Delivery
from workers.consumers import CONSUMERS
from workers.tasks import handlers_of

# The consumers a referral's journey goes through (mail delivery is not one of them).
JOURNEY = frozenset({"social.referrals", "points.award", "points.leaderboard"})
PASSWORD = "a long referral pass phrase"


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    return make_settings(database_url, tmp_path, DRACARYS_TRUSTED_PROXIES="127.0.0.1")


async def drain(platform: Platform, consumers: Collection[str] = JOURNEY) -> int:
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


def from_ip(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def sign_up(
    client: AppClient, email: str, *, ip: str, name: str = "Referee"
) -> tuple[uuid.UUID, dict[str, str]]:
    """Sign up and sign in through the API (the client's cookies ride along): the new
    account's id and its authorization header."""
    response = await client.post(
        "/api/v1/signup",
        json={"email": email, "password": PASSWORD, "name": name},
        headers=from_ip(ip),
    )
    assert response.status_code == 201, response.text
    login = await client.post(
        "/api/v1/login", json={"email": email, "password": PASSWORD}, headers=from_ip(ip)
    )
    assert login.status_code == 200, login.text
    return uuid.UUID(response.json()["user_id"]), {
        "Authorization": f"Bearer {login.json()['access_token']}"
    }
