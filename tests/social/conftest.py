"""Social fixtures: the platforms' sandbox (Google OAuth + YouTube Data API, X OAuth + API
v2) served on a local port for the session, settings that point the adapters at it and
trust the test client as a proxy (so each request can say which address it comes from),
helpers that walk the OAuth round trip the way a browser does, the mentorship fixtures for
paid sessions, and a drain that hands committed outbox events to the real consumers of the
worker (by name), the worker path minus the queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from taskiq import InMemoryBroker

from dracarys.clock import ManualClock
from dracarys.outbox import Event, consume_batch, relay_batch
from dracarys.platform import Platform
from dracarys.settings import Settings
from dracarys.social.verification.sandbox import SocialSandbox
from tests.conftest import make_settings
from tests.mentorship.conftest import auth, make_mentee, make_mentor  # noqa: F401 - fixtures
from tests.messaging.simulators import free_port, serve_http
from tests.support import AppClient, TestUser
from workers.broker import Delivery
from workers.consumers import CONSUMERS
from workers.tasks import handlers_of


class ServedSandbox:
    def __init__(self) -> None:
        self.sandbox = SocialSandbox()
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
async def social_server() -> AsyncIterator[ServedSandbox]:
    served = ServedSandbox()
    async with serve_http(served.sandbox.app(), served.port):
        yield served


@pytest.fixture
def sandbox(social_server: ServedSandbox, clock: ManualClock) -> SocialSandbox:
    """The session's sandbox, reset for this test, its token clock on the test's clock."""
    sim = social_server.sandbox
    sim.auto_consent.clear()
    sim.x_follows_lookup = True
    sim.down = False
    sim.untick_youtube_scope = False
    sim.withdrawn.clear()
    sim.calls.clear()
    sim.clock_s = clock.now().timestamp()
    return sim


def social_env(served: ServedSandbox) -> dict[str, str]:
    return {
        f"DRACARYS_{name.upper()}": str(value)
        for name, value in served.sandbox.settings_for(served.url).items()
    }


@pytest.fixture
def settings(database_url: str, tmp_path: Path, social_server: ServedSandbox) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_TRUSTED_PROXIES="127.0.0.1",
        **social_env(social_server),
    )


async def connect(
    client: AppClient, user: TestUser, platform: str, *, follow_redirect: bool = True
) -> dict[str, Any]:
    """Start the round trip, let the sandbox consent (as its `auto_consent` account) and
    return the code and state it sent back to our callback page."""
    started = await client.post(f"/api/v1/social/verify/{platform}/start", headers=user.headers)
    assert started.status_code == 200, started.text
    url = started.json()["authorization_url"]
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code in (302, 303, 307), answer.text
    location = urlsplit(answer.headers["location"])
    assert location.path == f"/social/callback/{platform}"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    return {"platform": platform, "code": query["code"], "state": query["state"]}


async def verify(client: AppClient, user: TestUser, platform: str) -> httpx.Response:
    returned = await connect(client, user, platform)
    return await client.post("/api/v1/social/verify", json=returned, headers=user.headers)


# The consumers a referral's journey goes through (mail delivery is not one of them).
JOURNEY = frozenset({"social.referrals", "points.award", "points.leaderboard"})
PASSWORD = "a long referral pass phrase"


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
