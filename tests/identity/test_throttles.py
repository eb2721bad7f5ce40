"""Throttles hold under concurrency (the attempt is reserved before the password or code
is checked, on the memory counters and on Redis), sign-in is throttled per account and
source so an attacker elsewhere cannot lock the owner out of a known device, and
verification e-mails and SMS codes are limited per account and per source."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import msgspec
import pyotp
from redis.asyncio import BlockingConnectionPool, Redis

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.identity.throttle import DEVICE_COOKIE
from dracarys.ratelimit import Limit, MemoryCounters, RedisCounters, Window
from dracarys.settings import Settings
from tests.conftest import REDIS_URL
from tests.identity.conftest import (
    PASSWORD,
    Account,
    Client,
    enrol_totp,
    login,
    new_account,
    signup,
)
from tests.messaging.simulators import SmsSimulator, SmtpSimulator
from tests.support import AppClient
from workers.runtime import Worker

WRONG = "not the password 9"
BURST = 30


@asynccontextmanager
async def from_address(client: AppClient, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same running app, connecting from `host`, with its own
    cookie jar (no device token)."""
    transport = httpx.ASGITransport(app=client.app, client=(host, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url=client.base_url) as other:
        yield other


def assert_429(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "try again in" in response.json()["detail"]


async def burst_then(
    send_wrong: Any, send_right: Any, burst: int = BURST
) -> tuple[list[int], httpx.Response, int]:
    """`burst` wrong attempts at once; as soon as the first is answered (by then the limit
    is used), the right one, while the rest are still running."""
    wrong = [asyncio.ensure_future(send_wrong()) for _ in range(burst)]
    await asyncio.wait(wrong, return_when=asyncio.FIRST_COMPLETED)
    still_running = sum(not task.done() for task in wrong)
    right = await send_right()
    statuses = [(await task).status_code for task in wrong]
    return statuses, right, still_running


async def assert_burst_is_throttled(client: Client, limit: int) -> None:
    _, email = await signup(client)
    statuses, correct, still_running = await burst_then(
        lambda: login(client, email, WRONG), lambda: login(client, email, PASSWORD)
    )
    # Every 401 is one argon2 verification of a wrong password.
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == BURST - limit, statuses
    assert still_running > 0
    assert_429(correct)


async def test_thirty_concurrent_wrong_passwords_verify_five_and_a_correct_one_sent_inside_is_429(
    client: Client, settings: Settings
) -> None:
    await assert_burst_is_throttled(client, settings.login_max_failures_per_source)


async def test_thirty_concurrent_wrong_passwords_on_redis_verify_five_and_a_correct_one_is_429(
    redis_settings: Settings, clock: ManualClock
) -> None:
    async with AppClient(create_app(redis_settings, clock=clock)) as client:
        await assert_burst_is_throttled(client, redis_settings.login_max_failures_per_source)


async def test_two_hundred_concurrent_reservations_grant_exactly_the_tightest_limit(
    redis_settings: Settings,
) -> None:
    redis = Redis.from_pool(BlockingConnectionPool.from_url(REDIS_URL, max_connections=20))
    limits = [Limit("wide", 150, 60), Limit("tight", 120, 60)]
    try:
        for counters in (
            MemoryCounters(),
            RedisCounters(redis, f"{redis_settings.redis_prefix}:rate_limit"),
        ):
            replies = await asyncio.gather(*(counters.reserve(limits) for _ in range(200)))
            granted = [r for r in replies if r.granted]
            assert sorted(r.windows[1].count for r in granted) == list(range(1, 121))
            refused = [r for r in replies if not r.granted]
            assert {r.windows for r in refused} == {(Window(120, 60), Window(120, 60))}
            assert refused[0].wait_s(limits) == 60
            await counters.take_back("tight")
            assert (await counters.reserve(limits)).windows == (Window(121, 60), Window(120, 60))
            await counters.clear("tight")
            assert (await counters.reserve(limits)).windows[1].count == 1
    finally:
        await redis.aclose()


async def test_five_failures_lock_that_source_out_of_the_account_but_not_the_owner_elsewhere(
    client: Client, settings: Settings
) -> None:
    _, email = await signup(client)
    async with from_address(client, "203.0.113.7") as attacker:
        for _ in range(settings.login_max_failures_per_source):
            assert (await login(attacker, email, WRONG)).status_code == 401
        assert_429(await login(attacker, email, PASSWORD))
    # The owner has never signed in: a source of their own, unknown but not locked.
    assert (await login(client, email, PASSWORD)).status_code == 200


async def test_an_attacker_on_many_sources_cannot_lock_the_owner_out_of_a_known_device(
    settings: Settings, clock: ManualClock
) -> None:
    ceiling = 8
    tight = msgspec.structs.replace(settings, login_max_failures_per_account=ceiling)
    async with AppClient(create_app(tight, clock=clock)) as owner:
        _, email = await signup(owner)
        first = await login(owner, email)
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert f"{DEVICE_COOKIE}=" in cookie
        for attribute in ("HttpOnly", "Path=/api/v1/login", "SameSite=strict"):
            assert attribute.lower() in cookie.lower()

        wrong_seen = 0
        for n in range(3):
            async with from_address(owner, f"198.51.100.{n + 1}") as attacker:
                for _ in range(tight.login_max_failures_per_source):
                    response = await login(attacker, email, WRONG)
                    if response.status_code == 429:
                        break
                    assert response.status_code == 401
                    wrong_seen += 1
        # The account's ceiling across unknown sources stopped the attack...
        assert wrong_seen == ceiling
        async with from_address(owner, "192.0.2.50") as unknown_source:
            assert_429(await login(unknown_source, email, PASSWORD))
        # ...and the owner's device, which has signed in before, has its own budget.
        assert (await login(owner, email, WRONG)).status_code == 401
        assert (await login(owner, email, PASSWORD)).status_code == 200


async def test_a_device_token_of_another_account_or_a_forged_one_gives_no_budget_of_its_own(
    client: Client, settings: Settings
) -> None:
    _, victim = await signup(client)
    for _ in range(settings.login_max_failures_per_source):
        assert (await login(client, victim, WRONG)).status_code == 401
    assert_429(await login(client, victim, PASSWORD))
    await new_account(client)  # this client now holds a device token for another account
    assert DEVICE_COOKIE in client.cookies
    assert_429(await login(client, victim, PASSWORD))
    client.cookies.clear()
    client.cookies.set(DEVICE_COOKIE, "forged.device.token")
    assert_429(await login(client, victim, PASSWORD))


async def test_a_success_clears_the_count_of_its_source(client: Client, settings: Settings) -> None:
    _, email = await signup(client)
    for _ in range(2):
        for _ in range(settings.login_max_failures_per_source - 1):
            assert (await login(client, email, WRONG)).status_code == 401
        assert (await login(client, email, PASSWORD)).status_code == 200
        client.cookies.clear()  # stay an unknown source: the same count each round


# ---- second factor -------------------------------------------------------------------


async def enrolled(client: Client, clock: ManualClock) -> Account:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    clock.advance(timedelta(seconds=30))
    return account


def wrong_code(secret: str, clock: ManualClock) -> str:
    totp = pyotp.TOTP(secret)
    now = clock.now()
    valid = {
        totp.at(now - timedelta(seconds=30)),
        totp.at(now),
        totp.at(now + timedelta(seconds=30)),
    }
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


async def test_thirty_concurrent_wrong_step_up_codes_check_five_and_a_right_code_inside_is_429(
    client: Client, clock: ManualClock, settings: Settings
) -> None:
    account = await enrolled(client, clock)
    assert account.totp_secret is not None
    url = "/api/v1/me/step-up"
    wrong = wrong_code(account.totp_secret, clock)
    right = pyotp.TOTP(account.totp_secret).at(clock.now())
    statuses, response, still_running = await burst_then(
        lambda: client.post(url, json={"code": wrong}, headers=account.headers),
        lambda: client.post(url, json={"code": right}, headers=account.headers),
    )
    assert statuses.count(403) == settings.two_factor_max_failures, statuses
    assert statuses.count(429) == BURST - settings.two_factor_max_failures, statuses
    assert still_running > 0
    assert_429(response)


async def test_wrong_codes_at_step_up_and_at_sign_in_share_one_budget_per_account(
    client: Client, clock: ManualClock, settings: Settings
) -> None:
    account = await enrolled(client, clock)
    assert account.totp_secret is not None
    wrong = wrong_code(account.totp_secret, clock)
    for _ in range(settings.two_factor_max_failures - 1):
        step_up = await client.post(
            "/api/v1/me/step-up", json={"code": wrong}, headers=account.headers
        )
        assert step_up.status_code == 403
    assert (await login(client, account.email, totp_code=wrong)).status_code == 401
    right = pyotp.TOTP(account.totp_secret).at(clock.now())
    assert_429(await login(client, account.email, totp_code=right))
    assert_429(await login(client, account.email, recovery_code="abcde-12345"))


# ---- verification e-mails and SMS codes ---------------------------------------------


async def wait_until_delivered(pool: asyncpg.Pool, channel: str) -> None:
    for _ in range(200):
        pending = await pool.fetchval(
            "SELECT count(*) FROM outbound_messages WHERE channel = $1 AND sent_at IS NULL",
            channel,
        )
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{channel} messages still undelivered")


async def test_twenty_verification_email_resends_send_the_allowed_five_mails(
    client: Client,
    worker: Worker,
    smtp_server: SmtpSimulator,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    account = await new_account(client)
    url = "/api/v1/me/email-verification"
    responses = await asyncio.gather(
        *(client.post(url, headers=account.headers) for _ in range(20))
    )
    allowed = settings.verification_sends_per_hour_per_account
    assert sorted(r.status_code for r in responses) == [202] * allowed + [429] * (20 - allowed)
    assert_429(next(r for r in responses if r.status_code == 429))
    await smtp_server.wait_for(account.email, count=1 + allowed)
    await wait_until_delivered(pool, "email")
    # The sign-up mail and the allowed re-sends, nothing more.
    assert len(smtp_server.to(account.email)) == 1 + allowed


async def test_verification_emails_are_limited_per_source_across_accounts(
    settings: Settings, clock: ManualClock, worker: Worker
) -> None:
    tight = msgspec.structs.replace(settings, verification_sends_per_hour_per_ip=3)
    async with AppClient(create_app(tight, clock=clock)) as client:
        accounts = [await new_account(client) for _ in range(4)]
        statuses = [
            (await client.post("/api/v1/me/email-verification", headers=a.headers)).status_code
            for a in accounts
        ]
        assert statuses == [202, 202, 202, 429]
        async with from_address(client, "203.0.113.9") as elsewhere:
            again = await elsewhere.post(
                "/api/v1/me/email-verification", headers=accounts[3].headers
            )
            assert again.status_code == 202


async def test_phone_codes_are_limited_per_source_across_accounts(
    settings: Settings,
    clock: ManualClock,
    sms_gateway: SmsSimulator,
    worker: Worker,
) -> None:
    tight = msgspec.structs.replace(settings, verification_sends_per_hour_per_ip=2)
    async with AppClient(create_app(tight, clock=clock)) as client:
        accounts = [await new_account(client) for _ in range(3)]
        base = 710_000_000 + int(accounts[0].id.int % 900_000) * 10
        numbers = [f"+254{base + n}" for n in range(3)]
        statuses = []
        for account, number in zip(accounts, numbers, strict=True):
            response = await client.post(
                "/api/v1/me/phone-verification", json={"phone": number}, headers=account.headers
            )
            statuses.append(response.status_code)
        assert statuses == [202, 202, 429]
        await sms_gateway.wait_for(numbers[1])
        assert not [m for m in sms_gateway.sent if m["to"] == numbers[2]]
