"""Drip program fixtures: settings pointing mail at the SMTP simulator and naming the mail
provider's webhook secret, a real in-memory worker (relay, consumers, mail delivery), and
helpers that deliver domain events to the `notifications.programs` consumer."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dracarys.messaging import list_messages
from dracarys.notifications import apply_program_events
from dracarys.outbox import Event, EventPayload, consume_batch
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import make_settings
from tests.messaging.simulators import SmtpSimulator
from tests.notifications.conftest import event_of
from tests.notifications.programs.simulators import MailProviderSimulator
from tests.support import TestUser
from workers.runtime import Worker

# The `make_user` fixture, typed.
MakeUser = Callable[..., Awaitable[TestUser]]
CLICK_LINK = re.compile(r"/e/c/(?P<token>[A-Za-z0-9_-]+)")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSimulator]:
    server = SmtpSimulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_provider() -> MailProviderSimulator:
    return MailProviderSimulator()


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    smtp_server: SmtpSimulator,
    mail_provider: MailProviderSimulator,
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        DRACARYS_SMTP_PORT=str(smtp_server.port),
        DRACARYS_MAIL_WEBHOOK_SECRET=mail_provider.secret,
        DRACARYS_OUTBOX_POLL_INTERVAL_S="0.05",
    )


@pytest.fixture
async def worker(platform: Platform) -> AsyncIterator[Worker]:
    running = Worker(platform)
    await running.start()
    yield running
    await running.stop()


async def deliver(platform: Platform, *payloads: EventPayload) -> None:
    """Domain events through the real `consume_batch`, as the outbox hands them over."""
    events = [event_of(platform, payload) for payload in payloads]

    async def one(conn: Any, event: Event) -> None:
        await apply_program_events(conn, platform, [event])

    async def batch(conn: Any, batch: Sequence[Event]) -> None:
        await apply_program_events(conn, platform, batch)

    await consume_batch(platform.pool, "notifications.programs", events, one, batch_handler=batch)


async def drip_mails(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch(
        """SELECT template FROM outbound_messages
           WHERE user_id = $1 AND template LIKE 'drip.%' ORDER BY created_at, template""",
        user_id,
    )
    return [r["template"] for r in rows]


async def enrolment(pool: asyncpg.Pool, user_id: uuid.UUID, program: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        """SELECT next_position, last_step_at, ended_at, end_reason FROM drip_enrolments
           WHERE user_id = $1 AND program_code = $2""",
        user_id,
        program,
    )
    assert row is not None, f"no {program} enrolment"
    return row


async def click_token(platform: Platform, user_id: uuid.UUID, template: str) -> str:
    """The click token in the queued (not yet sent) drip e-mail's text."""
    async with platform.pool.acquire() as conn:
        messages = await list_messages(conn, platform.settings, user_id=user_id)
    for message in messages:
        if message.template == template and message.content is not None:
            found = CLICK_LINK.search(message.content.text)
            assert found is not None
            return found["token"]
    raise AssertionError(f"no unsent {template} for the user")
