"""Throttles under concurrency: the attempt is reserved before the password is checked."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Litestar

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.settings import Settings
from tests.identity.conftest import PASSWORD, Client, login, signup
from tests.support import AppClient

WRONG = "not the password 9"


async def _burst_then_correct(client: Client, email: str, burst: int) -> tuple[list[int], Any, int]:
    wrong = [asyncio.ensure_future(login(client, email, WRONG)) for _ in range(burst)]
    for first in asyncio.as_completed(wrong):
        if (await first).status_code == 429:
            break
    still_running = sum(not task.done() for task in wrong)
    correct = await login(client, email, PASSWORD)
    statuses = [(await task).status_code for task in wrong]
    return statuses, correct, still_running


async def _check(client: Client, limit: int) -> None:
    _, email = await signup(client)
    statuses, correct, still_running = await _burst_then_correct(client, email, 30)
    assert statuses.count(401) <= limit, statuses
    assert statuses.count(429) >= 30 - limit, statuses
    assert correct.status_code == 429, correct.text
    assert "retry-after" in correct.headers


async def test_thirty_concurrent_wrong_guesses_verify_at_most_the_limit_and_a_correct_one_inside_is_refused(
    client: Client, settings: Settings
) -> None:
    await _check(client, settings.login_max_failures_per_account)


async def test_thirty_concurrent_wrong_guesses_on_redis_verify_at_most_the_limit(
    redis_settings: Settings, clock: ManualClock
) -> None:
    async with AppClient(create_app(redis_settings, clock=clock)) as client:
        await _check(client, redis_settings.login_max_failures_per_account)
