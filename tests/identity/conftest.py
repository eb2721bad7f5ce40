"""Identity fixtures: the provider simulators (SMTP, SMS gateway, OIDC) started once per
session, settings that point at them, and helpers that sign users up and in through the
API."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pyotp
import pytest

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.identity.oidc_simulator import OidcProviderSimulator
from tests.messaging.simulators import SmsSimulator, SmtpSimulator, serve_http
from tests.support import AppClient
from workers.runtime import Worker

PASSWORD = "correct horse battery staple 7"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSimulator]:
    server = SmtpSimulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def sms_gateway() -> AsyncIterator[SmsSimulator]:
    gateway = SmsSimulator()
    async with serve_http(gateway.app(), gateway.port):
        yield gateway


@pytest.fixture(scope="session")
async def oidc_server() -> AsyncIterator[OidcProviderSimulator]:
    provider = OidcProviderSimulator()
    async with serve_http(provider.app(), provider.port):
        yield provider


@pytest.fixture
def oidc_provider(oidc_server: OidcProviderSimulator, clock: ManualClock) -> OidcProviderSimulator:
    oidc_server.reset()
    oidc_server.clock_s = clock.now().timestamp()
    return oidc_server


def simulators_env(
    smtp_server: SmtpSimulator, sms_gateway: SmsSimulator, oidc_server: OidcProviderSimulator
) -> dict[str, str]:
    """The settings that point identity's providers at the simulators."""
    return {
        "DRACARYS_SMTP_PORT": str(smtp_server.port),
        "DRACARYS_SMS_API_URL": sms_gateway.url,
        "DRACARYS_SMS_USERNAME": sms_gateway.username,
        "DRACARYS_SMS_API_KEY": sms_gateway.api_key,
        "DRACARYS_GOOGLE_ISSUER": oidc_server.issuer("google"),
        "DRACARYS_GOOGLE_CLIENT_ID": oidc_server.client_id,
        "DRACARYS_GOOGLE_CLIENT_SECRET": oidc_server.client_secret,
        "DRACARYS_APPLE_ISSUER": oidc_server.issuer("apple"),
        "DRACARYS_APPLE_CLIENT_ID": oidc_server.client_id,
        "DRACARYS_APPLE_CLIENT_SECRET": oidc_server.client_secret,
        "DRACARYS_KYC_MAX_UPLOAD_BYTES": "200000",
        "DRACARYS_OUTBOX_POLL_INTERVAL_S": "0.05",
    }


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    smtp_server: SmtpSimulator,
    sms_gateway: SmsSimulator,
    oidc_server: OidcProviderSimulator,
) -> Settings:
    return make_settings(
        database_url, tmp_path, **simulators_env(smtp_server, sms_gateway, oidc_server)
    )


@pytest.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    """A real in-memory worker: relay + consumers (mail and SMS delivery)."""
    running = Worker(platform)
    await running.start()
    yield running
    await running.stop()


Client = AppClient


@dataclass
class Account:
    id: uuid.UUID
    email: str
    password: str
    access_token: str
    refresh_token: str
    totp_secret: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def signup(client: Client, email: str | None = None, **extra: Any) -> tuple[uuid.UUID, str]:
    email = email or unique_email()
    response = await client.post(
        "/api/v1/signup", json={"email": email, "password": PASSWORD, "name": "Test", **extra}
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["user_id"]), email


async def login(client: Client, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return await client.post("/api/v1/login", json={"email": email, "password": password, **extra})


async def new_account(client: Client, **signup_extra: Any) -> Account:
    user_id, email = await signup(client, **signup_extra)
    response = await login(client, email)
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(user_id, email, PASSWORD, body["access_token"], body["refresh_token"])


def totp_now(secret: str, clock: ManualClock) -> str:
    code: str = pyotp.TOTP(secret).at(clock.now())
    return code


async def enrol_totp(client: Client, account: Account, clock: ManualClock) -> list[str]:
    response = await client.post("/api/v1/me/totp", headers=account.headers)
    assert response.status_code == 200, response.text
    account.totp_secret = response.json()["secret"]
    confirm = await client.post(
        "/api/v1/me/totp/confirm",
        json={"code": totp_now(account.totp_secret, clock)},
        headers=account.headers,
    )
    assert confirm.status_code == 200, confirm.text
    codes: list[str] = confirm.json()["recovery_codes"]
    return codes


async def staff_account(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, role: Role
) -> Account:
    """A reviewer or admin signed in with password + TOTP, as staff must."""
    account = await new_account(client)
    await pool.execute("UPDATE users SET role = $2 WHERE id = $1", account.id, role.value)
    await enrol_totp(client, account, clock)
    clock.advance(timedelta(seconds=30))
    assert account.totp_secret is not None
    response = await login(client, account.email, totp_code=totp_now(account.totp_secret, clock))
    assert response.status_code == 200, response.text
    account.access_token = response.json()["access_token"]
    account.refresh_token = response.json()["refresh_token"]
    return account


# The verification link opens the /verify-email page, which calls the API with the token.
LINK = re.compile(r"https?://\S+/verify-email\?token=(?P<token>[A-Za-z0-9_\-]+)")
