"""The login-session cache of `AccessMiddleware`: an authenticated read makes no auth
query while its entry is fresh, every change to a session is pushed to every API process
at once, and a push that is lost is bounded by the cache's TTL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
import msgspec
import pytest
from litestar import Litestar

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.errors import Unauthorized
from dracarys.identity import CurrentUser, Role
from dracarys.identity.session_cache import LoginSessionCache
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.identity.conftest import Account, Client, new_account, staff_account
from tests.support import AppClient

TTL_S = 5.0


def platform_of(client: AppClient) -> Platform:
    platform: Platform = client.app.state.platform
    return platform


async def until(condition: Callable[[], Awaitable[bool]], *, within_s: float = 2.0) -> bool:
    """Poll `condition` on the wall clock (the platform's clock stays where it is, so no
    cache entry can expire meanwhile)."""
    deadline = time.monotonic() + within_s
    while True:
        if await condition():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)


@asynccontextmanager
async def api_processes(
    settings: Settings, clock: ManualClock, count: int
) -> AsyncIterator[list[AppClient]]:
    """`count` app instances over one database and one Redis prefix, as API processes
    behind a load balancer are, each subscribed to the session pushes."""
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(AppClient(create_app(settings, clock=clock)))
            for _ in range(count)
        ]

        async def all_subscribed() -> bool:
            return all(platform_of(c).session_cache.live for c in clients)

        assert await until(all_subscribed, within_s=10.0)
        yield clients


@pytest.fixture
def shared_redis_settings(settings: Settings, redis_prefix: str, redis_cleanup: None) -> Settings:
    return make_settings(
        settings.database_url or "",
        Path(settings.data_dir),
        REDIS_URL=REDIS_URL,
        DRACARYS_REDIS_PREFIX=redis_prefix,
    )


async def me_status(client: Client, account: Account) -> int:
    return (await client.get("/api/v1/me", headers=account.headers)).status_code


# ---- what ends a session or changes what it may do -------------------------------------
# Each: performed through the API on one process; then a check that says whether the
# account's (old) access token is now refused.


async def log_out(client: Client, _: Account, target: Account) -> None:
    assert (await client.post("/api/v1/logout", headers=target.headers)).status_code == 200


async def reuse_refresh_token(client: Client, _: Account, target: Account) -> None:
    body = {"refresh_token": target.refresh_token}
    assert (await client.post("/api/v1/token/refresh", json=body)).status_code == 200
    assert (await client.post("/api/v1/token/refresh", json=body)).status_code == 401


async def ban(client: Client, admin: Account, target: Account) -> None:
    url = f"/api/v1/admin/users/{target.id}/ban"
    response = await client.post(url, json={"reason": "fraud ring"}, headers=admin.headers)
    assert response.status_code == 200, response.text


async def make_observer(client: Client, admin: Account, target: Account) -> None:
    url = f"/api/v1/admin/users/{target.id}/role"
    response = await client.put(url, json={"role": "observer"}, headers=admin.headers)
    assert response.status_code == 200, response.text


async def session_refused(client: Client, target: Account) -> bool:
    return await me_status(client, target) == 401


async def writes_refused(client: Client, target: Account) -> bool:
    response = await client.patch(
        f"/api/v1/users/{target.id}/profile",
        json={"headline": "Swing trader"},
        headers=target.headers,
    )
    return response.status_code == 403 and "read-only" in response.json()["detail"]


Action = Callable[[Client, Account, Account], Awaitable[None]]
Refused = Callable[[Client, Account], Awaitable[bool]]
CHANGES: dict[str, tuple[Action, Refused]] = {
    "logout": (log_out, session_refused),
    "refresh_token_reuse": (reuse_refresh_token, session_refused),
    "ban": (ban, session_refused),
    "role_change": (make_observer, writes_refused),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_change_takes_effect_on_the_next_request_here_and_at_once_on_another_process(
    change: str, shared_redis_settings: Settings, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    act, refused = CHANGES[change]
    async with api_processes(shared_redis_settings, clock, 2) as (here, there):
        admin = await staff_account(here, pool, clock, Role.ADMIN)
        target = await new_account(here)
        for process in (here, there):  # both cache the session, still allowed
            assert await me_status(process, target) == 200
            assert not await refused(process, target)
            assert not await refused(process, target)
        await act(here, admin, target)
        assert await refused(here, target)

        async def refused_there() -> bool:
            return await refused(there, target)

        # The clock stands still: only the push can have ended the cached entry.
        assert await until(refused_there)


async def test_a_change_whose_push_is_lost_takes_effect_within_the_cache_ttl(
    shared_redis_settings: Settings, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    async with api_processes(shared_redis_settings, clock, 2) as processes:
        account = await new_account(processes[0])
        for process in processes:
            assert await me_status(process, account) == 200
        # Changed in the database with no push: as if the publisher died after its commit.
        await pool.execute(
            "UPDATE auth_sessions SET revoked_at = now() WHERE user_id = $1", account.id
        )
        clock.advance(timedelta(seconds=TTL_S - 0.01))
        assert [await me_status(p, account) for p in processes] == [200, 200]
        clock.advance(timedelta(seconds=0.01))
        assert [await me_status(p, account) for p in processes] == [401, 401]


async def test_without_redis_a_lost_change_is_also_bounded_by_the_ttl(
    client: Client, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    assert await me_status(client, account) == 200
    await pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", account.id)
    assert await me_status(client, account) == 200
    clock.advance(timedelta(seconds=TTL_S))
    assert await me_status(client, account) == 401


async def test_a_read_overtaken_by_a_change_is_not_kept(
    client: Client, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    """A request reads the session as live; before its read returns, a change to that
    session is pushed. The request may use what it read, but the next one reads again."""
    account = await new_account(client)
    platform = platform_of(client)
    async with pool.acquire() as blocker:
        # Hold the session's table so the next request's session read waits mid-flight.
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE auth_sessions IN ACCESS EXCLUSIVE MODE")
        reading = asyncio.create_task(me_status(client, account))

        async def read_waiting() -> bool:
            waiting = await pool.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock'
                     AND query LIKE '%auth_sessions%'"""
            )
            return bool(waiting)

        assert await until(read_waiting, within_s=10.0)
        await platform.session_cache.publish_user_change(account.id)
        await transaction.rollback()
        assert await reading == 200
    # Revoked without a push: only a read kept from before the push could still pass.
    await pool.execute("UPDATE auth_sessions SET revoked_at = now() WHERE user_id = $1", account.id)
    assert await me_status(client, account) == 401


async def test_me_refuses_a_caller_without_a_token(client: Client) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


# ---- queries per request ----------------------------------------------------------------


@pytest.fixture
def one_connection_settings(settings: Settings) -> Settings:
    """One pooled connection, so a query logger on it sees every statement the app runs."""
    return make_settings(
        settings.database_url or "",
        Path(settings.data_dir),
        DRACARYS_DB_POOL_MIN_SIZE="1",
        DRACARYS_DB_POOL_MAX_SIZE="1",
    )


async def test_a_warm_me_makes_one_query_and_an_expired_session_one_read_for_all_in_flight(
    one_connection_settings: Settings, clock: ManualClock
) -> None:
    app: Litestar = create_app(one_connection_settings, clock=clock)
    async with AppClient(app) as client:
        account = await new_account(client)
        statements: list[str] = []
        async with platform_of(client).pool.acquire() as conn:
            # asyncpg's own clean-up when a connection goes back to its pool, not ours.
            reset = conn.get_reset_query()
            conn.add_query_logger(
                lambda logged: statements.append(logged.query) if logged.query != reset else None
            )

        async def statements_of_one_me() -> list[str]:
            statements.clear()
            assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 200
            return list(statements)

        cold = await statements_of_one_me()
        warm = [await statements_of_one_me() for _ in range(3)]
        # Expired, with ten requests of the session in flight at once.
        clock.advance(timedelta(seconds=TTL_S))
        statements.clear()
        together = await asyncio.gather(
            *(client.get("/api/v1/me", headers=account.headers) for _ in range(10))
        )
        assert [r.status_code for r in together] == [200] * 10
        expired = list(statements)
    assert len(cold) == 2  # the session's state, then the caller's record
    assert all(len(w) == 1 and "auth_sessions" not in w[0] for w in warm), warm
    assert len(expired) == 11
    assert sum("auth_sessions" in statement for statement in expired) == 1


async def test_sessions_are_read_on_every_request_when_the_ttl_is_zero(
    settings: Settings, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    no_cache = make_settings(
        settings.database_url or "", Path(settings.data_dir), DRACARYS_SESSION_CACHE_TTL_S="0"
    )
    async with AppClient(create_app(no_cache, clock=clock)) as client:
        account = await new_account(client)
        assert await me_status(client, account) == 200
        await pool.execute(
            "UPDATE auth_sessions SET revoked_at = now() WHERE user_id = $1", account.id
        )
        assert await me_status(client, account) == 401


# ---- the cache itself, with a session read the test controls -----------------------------


class GatedRead:
    """A session read that answers `result` once released, counting its calls."""

    def __init__(self, result: CurrentUser) -> None:
        self.result = result
        self.calls = 0
        self.released = asyncio.Event()

    async def __call__(self, claimed: CurrentUser) -> CurrentUser:
        self.calls += 1
        await self.released.wait()
        return self.result


async def never_read(claimed: CurrentUser) -> CurrentUser:
    raise AssertionError("the cached entry should have answered")


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def a_session() -> CurrentUser:
    return CurrentUser(id=uuid.uuid4(), role=Role.MENTEE, session_id=uuid.uuid4())


async def test_requests_of_one_session_that_miss_together_share_one_read_until_the_ttl() -> None:
    cache = LoginSessionCache(ttl_s=TTL_S, redis=None, channel="unused")
    user = a_session()
    read = GatedRead(user)
    waiting = [asyncio.create_task(cache.resolve(user, 100.0, read)) for _ in range(20)]
    await settle()
    read.released.set()
    assert await asyncio.gather(*waiting) == [user] * 20
    assert read.calls == 1
    assert await cache.resolve(user, 100.0 + TTL_S - 0.001, never_read) is user
    assert await cache.resolve(user, 100.0 + TTL_S, read) is user
    assert read.calls == 2


async def test_a_request_after_a_change_does_not_wait_for_a_read_begun_before_it() -> None:
    cache = LoginSessionCache(ttl_s=TTL_S, redis=None, channel="unused")
    user = a_session()
    before = GatedRead(user)
    first = asyncio.create_task(cache.resolve(user, 100.0, before))
    await settle()
    await cache.publish_user_change(user.id)  # e.g. made an observer, committed
    after = GatedRead(msgspec.structs.replace(user, role=Role.OBSERVER))
    second = asyncio.create_task(cache.resolve(user, 100.0, after))
    await settle()
    before.released.set()
    after.released.set()
    assert (await first).role is Role.MENTEE  # began before the change: used, not kept
    assert (await second).role is Role.OBSERVER
    assert (before.calls, after.calls) == (1, 1)
    assert (await cache.resolve(user, 101.0, never_read)).role is Role.OBSERVER


async def test_a_failed_read_is_shared_and_not_kept() -> None:
    cache = LoginSessionCache(ttl_s=TTL_S, redis=None, channel="unused")
    user = a_session()
    calls = 0

    async def ended(claimed: CurrentUser) -> CurrentUser:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise Unauthorized("this session has ended; sign in again")

    outcomes = await asyncio.gather(
        *(cache.resolve(user, 100.0, ended) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, Unauthorized) for o in outcomes)
    assert calls == 1
    with pytest.raises(Unauthorized):
        await cache.resolve(user, 100.0, ended)
    assert calls == 2
