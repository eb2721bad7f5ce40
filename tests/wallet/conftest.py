"""Wallet fixtures: ledger accounts funded from the opening-balance account in bulk, and
the local Stripe and Daraja simulators the payment adapters talk to (a user's wallet is
funded with the shared `fund_wallet` fixture, `tests/conftest.py`)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import issue_access_token
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator, serve
from dracarys.settings import Settings
from dracarys.wallet.ledger import service as ledger
from dracarys.wallet.ledger.models import AccountCode, TransferSpec
from tests.conftest import make_settings
from tests.support import TestUser
from tests.wallet.simulators import provider_env


async def open_wallets(
    pool: asyncpg.Pool, count: int, currency: str, now: datetime, *, fund_minor: int = 0
) -> list[int]:
    """`count` user wallets, each funded with `fund_minor` in one batch."""
    async with transaction(pool) as conn:
        source = await ledger.platform_account(conn, AccountCode.OPENING_BALANCE, currency, now)
        wallets = [
            await ledger.wallet_account(conn, uuid.uuid4(), currency, now) for _ in range(count)
        ]
        if fund_minor:
            await ledger.create_transfers(
                conn,
                [
                    TransferSpec(
                        idempotency_key=f"fund:{w}:{uuid.uuid4()}",
                        code="opening",
                        debit_account_id=source,
                        credit_account_id=w,
                        amount_minor=fund_minor,
                        currency=currency,
                    )
                    for w in wallets
                ],
                now=now,
            )
    return wallets


# ---- provider simulators --------------------------------------------------------------


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[tuple[StripeSimulator, str]]:
    simulator = StripeSimulator()
    with serve(simulator.app()) as url:
        yield simulator, url


@pytest.fixture(scope="session")
def daraja_server() -> Iterator[tuple[DarajaSimulator, str]]:
    simulator = DarajaSimulator()
    with serve(simulator.app()) as url:
        yield simulator, url


@pytest.fixture
def stripe_sim(stripe_server: tuple[StripeSimulator, str]) -> StripeSimulator:
    return stripe_server[0]


@pytest.fixture
def daraja_sim(daraja_server: tuple[DarajaSimulator, str]) -> DarajaSimulator:
    simulator = daraja_server[0]
    simulator.reset()
    return simulator


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Any,
    stripe_server: tuple[StripeSimulator, str],
    daraja_server: tuple[DarajaSimulator, str],
) -> Settings:
    """The suite's settings, with the payment adapters pointed at the simulators."""
    return make_settings(database_url, tmp_path, **provider_env(*stripe_server, *daraja_server))


async def current_originator(pool: asyncpg.Pool, payout_id: uuid.UUID | str) -> str:
    """The OriginatorConversationID of a payout's latest M-Pesa attempt."""
    value = await pool.fetchval(
        "SELECT originator_conversation_id FROM payouts WHERE id = $1", uuid.UUID(str(payout_id))
    )
    assert value is not None, "the payout has no M-Pesa attempt"
    return str(value)


async def outbox_events(pool: asyncpg.Pool, topic: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE topic = $1 ORDER BY created_at", topic
    )
    return [r["payload"] for r in rows]


def refreshed(user: TestUser, settings: Settings, clock: ManualClock) -> TestUser:
    """The same user and session with an access token valid at the clock's current time
    (tests move the clock by days; access tokens live 15 minutes)."""
    token = issue_access_token(
        settings, user_id=user.id, role=user.role, session_id=user.session_id, now=clock.now()
    )
    return dataclasses.replace(user, token=token)
