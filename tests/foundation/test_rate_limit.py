"""The per-client API rate limit: a 429 problem with Retry-After past the limit, probes
and static files not counted, signed-in users counted as themselves, X-Forwarded-For
believed only from trusted proxies, one limit shared by API processes on Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import msgspec
from redis.asyncio import Redis

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.ratelimit import LeasedCounters, Limit, RedisCounters, Reservation
from dracarys.settings import Settings
from tests.support import AppClient, TestUser

LIMIT = 5


def some_user_path() -> str:
    # A public route that costs one indexed lookup (and answers 404 here).
    return f"/api/v1/users/{uuid.uuid4()}"


def limited(settings: Settings, **changes: object) -> Settings:
    return msgspec.structs.replace(settings, rate_limit_per_minute=LIMIT, **changes)


async def test_past_the_limit_a_client_gets_a_429_problem_with_retry_after(
    settings: Settings, clock: ManualClock
) -> None:
    async with AppClient(create_app(limited(settings), clock=clock)) as client:
        for n in range(LIMIT):
            response = await client.get(some_user_path())
            assert response.status_code == 404
            assert response.headers["ratelimit-limit"] == str(LIMIT)
            assert response.headers["ratelimit-remaining"] == str(LIMIT - n - 1)
        refused = await client.get(some_user_path())
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 0 < int(refused.headers["retry-after"]) <= 60
        problem = refused.json()
        assert problem["type"].endswith("/too-many-requests")
        assert problem["detail"].startswith("too many requests from this client; try again in")
        assert problem["instance"].startswith("/api/v1/users/")
        # Probes, scrapes and static files are not counted.
        for path in ("/health", "/ready", "/metrics", "/static/css/app.css"):
            assert (await client.get(path)).status_code == 200, path


async def test_a_signed_in_user_is_counted_as_themselves_not_as_their_address(
    settings: Settings,
    clock: ManualClock,
    make_user: Callable[..., Awaitable[TestUser]],
) -> None:
    async with AppClient(create_app(limited(settings), clock=clock)) as client:
        for _ in range(LIMIT):
            await client.get(some_user_path())
        assert (await client.get(some_user_path())).status_code == 429
        alice, bob = await make_user(), await make_user()
        for _ in range(LIMIT):
            assert (await client.get("/api/v1/me", headers=alice.headers)).status_code == 200
        assert (await client.get("/api/v1/me", headers=alice.headers)).status_code == 429
        assert (await client.get("/api/v1/me", headers=bob.headers)).status_code == 200


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    settings: Settings, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    def forwarded(n: int) -> dict[str, str]:
        return {"X-Forwarded-For": f"198.51.100.{n}"}

    async with AppClient(create_app(limited(settings), clock=clock)) as client:
        statuses = [
            (await client.get(some_user_path(), headers=forwarded(n))).status_code
            for n in range(LIMIT + 1)
        ]
        assert statuses == [404] * LIMIT + [429]

    trusting = limited(settings, trusted_proxies=("127.0.0.1",))
    async with AppClient(create_app(trusting, clock=clock)) as client:
        statuses = [
            (await client.get(some_user_path(), headers=forwarded(n))).status_code
            for n in range(LIMIT + 1)
        ]
        assert statuses == [404] * (LIMIT + 1)
        signup = await client.post(
            "/api/v1/signup",
            json={"email": "proxied@example.com", "password": "correct horse battery 7"},
            headers=forwarded(77),
        )
        assert signup.status_code == 201, signup.text
    audited = await pool.fetchval("SELECT source_ip FROM audit_log WHERE action = 'user.signup'")
    assert str(audited) == "198.51.100.77"


async def test_api_processes_on_redis_share_one_limit(
    redis_settings: Settings, clock: ManualClock
) -> None:
    shared = limited(redis_settings)
    async with (
        AppClient(create_app(shared, clock=clock)) as first,
        AppClient(create_app(shared, clock=clock)) as second,
    ):
        statuses = []
        for n in range(LIMIT + 1):
            client = first if n % 2 else second
            statuses.append((await client.get(some_user_path())).status_code)
        assert statuses == [404] * LIMIT + [429]


async def test_the_apps_redis_counters_take_more_concurrent_hits_than_its_pool_has_connections(
    redis_settings: Settings, clock: ManualClock
) -> None:
    # Every API request counts in Redis: a burst beyond the connection pool's size must
    # wait for a connection, not fail with "Too many connections".
    async with AppClient(create_app(redis_settings, clock=clock)) as client:
        counters = client.app.state.platform.counters
        burst = [counters.reserve([Limit("burst", 1000, 60)]) for _ in range(300)]
        replies = await asyncio.gather(*burst, return_exceptions=True)
    assert [r for r in replies if not isinstance(r, Reservation)] == []
    counts = sorted(r.windows[0].count for r in replies if isinstance(r, Reservation))
    assert counts == list(range(1, 301))


async def test_when_redis_is_down_the_api_limit_lets_requests_through(
    settings: Settings, clock: ManualClock
) -> None:
    dead = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:1/0")
    async with AppClient(create_app(dead, clock=clock)) as client:
        assert (await client.get(some_user_path())).status_code == 404


async def test_a_large_limit_is_counted_in_blocks_that_never_pass_it_across_processes(
    redis_settings: Settings,
) -> None:
    """On Redis the API limit counts blocks of a client's requests at once (1/64 of the
    limit) so a request rarely waits on Redis; two processes sharing a client still
    admit no more than the limit, and lose at most a block each to the other."""
    redis = Redis.from_url(redis_settings.redis_url or "")
    try:
        namespace = f"{redis_settings.redis_prefix}:rate_limit"
        first = LeasedCounters(RedisCounters(redis, namespace))
        second = LeasedCounters(RedisCounters(redis, namespace))
        limit = Limit("api:user:burst", 640, 60)  # blocks of 10
        replies = await asyncio.gather(
            *(counter.reserve_one(limit) for _ in range(500) for counter in (first, second))
        )
        granted = sum(r.granted for r in replies)
        assert 640 - 2 * 10 <= granted <= 640
        assert int(await redis.get(f"{namespace}:{limit.key}") or 0) == 640
        assert all(0 < r.windows[0].ends_in_s <= 60 for r in replies)
    finally:
        await redis.aclose()


def admitted_without_waiting(counter: LeasedCounters, limit: Limit) -> Reservation | None:
    """The reservation when it completes without suspending (no Redis round trip), else
    None."""
    step = counter.reserve_one(limit)
    try:
        step.send(None)
    except StopIteration as finished:
        reservation: Reservation = finished.value
        return reservation
    step.close()
    return None


async def test_a_steady_client_is_counted_ahead_and_never_waits_for_redis(
    redis_settings: Settings,
) -> None:
    """Half a block from its end, the other half is counted in the background, so the
    block never runs out under a steady client; a process still holds at most a block."""
    redis = Redis.from_url(redis_settings.redis_url or "")
    try:
        namespace = f"{redis_settings.redis_prefix}:rate_limit"
        counter = LeasedCounters(RedisCounters(redis, namespace))
        limit = Limit("api:user:steady", 64 * 100, 60)  # blocks of 64
        key = f"{namespace}:{limit.key}"
        assert (await counter.reserve_one(limit)).granted  # counts the first block
        used = 1
        for _ in range(200):
            reservation = admitted_without_waiting(counter, limit)
            assert reservation is not None, f"request {used + 1} waited for Redis"
            assert reservation.granted
            used += 1
            await asyncio.sleep(0)  # the background count runs
            await asyncio.sleep(0.002)
            counted = int(await redis.get(key) or 0)
            assert used <= counted <= used + 64
    finally:
        await redis.aclose()
