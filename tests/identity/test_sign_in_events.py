"""What identity tells the outbox about sign-ins, for readers such as staff alerts: a
sign-in names the device (its label from the User-Agent) and the address; a wrong
password is an event of its own, naming the account only by the throttle's blind key."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from dracarys.identity.throttle import account_key
from dracarys.settings import Settings
from tests.identity.conftest import PASSWORD, signup
from tests.support import AppClient

FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


async def _payloads(pool: asyncpg.Pool, topic: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE topic = $1 ORDER BY created_at, id", topic
    )
    return [dict(r["payload"]) for r in rows]


async def test_a_sign_in_event_names_the_device_and_address_and_a_wrong_password_is_a_failed_sign_in(  # noqa: E501
    client: AppClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    user_id, email = await signup(client)
    app: Any = client.app  # httpx types its ASGI app more narrowly than Litestar's call
    transport = httpx.ASGITransport(app=app, client=("198.51.100.23", 40_000))
    async with httpx.AsyncClient(
        transport=transport, base_url=client.base_url, headers={"user-agent": FIREFOX_ON_WINDOWS}
    ) as browser:
        wrong = await browser.post(
            "/api/v1/login", json={"email": email, "password": "not the password 9"}
        )
        assert wrong.status_code == 401, wrong.text
        nobody = await browser.post(
            "/api/v1/login", json={"email": "nobody-here@example.com", "password": PASSWORD}
        )
        assert nobody.status_code == 401, nobody.text
        right = await browser.post("/api/v1/login", json={"email": email, "password": PASSWORD})
        assert right.status_code == 200, right.text

    signed_in = await _payloads(pool, "user.logged_in")
    assert signed_in == [
        {"user_id": str(user_id), "source_ip": "198.51.100.23", "device": "Firefox on Windows"}
    ]
    failed = await _payloads(pool, "user.login_failed")
    assert failed == [
        {"account_key": account_key(settings, email), "source_ip": "198.51.100.23"},
        {
            "account_key": account_key(settings, "nobody-here@example.com"),
            "source_ip": "198.51.100.23",
        },
    ]
    # The key is not the address: the outbox does not say which e-mails were tried.
    assert all("@" not in f["account_key"] for f in failed)
