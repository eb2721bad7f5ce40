"""Messaging fixtures: the provider simulators and settings pointing at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.messaging.simulators import SmsSimulator, SmtpSimulator, serve_http
from workers.runtime import Worker


@pytest.fixture(scope="session")
def mail_server() -> Iterator[SmtpSimulator]:
    server = SmtpSimulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def sms_server() -> AsyncIterator[SmsSimulator]:
    gateway = SmsSimulator()
    async with serve_http(gateway.app(), gateway.port):
        yield gateway


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, mail_server: SmtpSimulator, sms_server: SmsSimulator
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_SMTP_PORT=str(mail_server.port),
        DRACARYS_SMS_API_URL=sms_server.url,
        DRACARYS_SMS_USERNAME=sms_server.username,
        DRACARYS_SMS_API_KEY=sms_server.api_key,
        DRACARYS_SMS_SENDER_ID="DRACARYS",
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.05",
    )


@pytest.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    running = Worker(platform)
    await running.start()
    yield running
    await running.stop()
