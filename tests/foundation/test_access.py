from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
from litestar import Litestar, get, post
from litestar.di import NamedDependency

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.identity import CurrentUser, Role, requires_role
from dracarys.settings import Settings
from tests.support import AppClient, TestUser


@get("/whoami", operation_id="probeWhoami")
async def whoami(current_user: NamedDependency[CurrentUser]) -> dict[str, Any]:
    return {"id": str(current_user.id), "role": current_user.role.value}


@post("/admin-only", operation_id="probeAdminOnly", guards=[requires_role(Role.ADMIN)])
async def admin_only() -> dict[str, Any]:
    return {"ok": True}


@post("/any-writer", operation_id="probeAnyWriter")
async def any_writer(current_user: NamedDependency[CurrentUser]) -> dict[str, Any]:
    return {"ok": True}


def probe_app(settings: Settings, clock: ManualClock) -> Litestar:
    app = create_app(settings, clock=clock)
    for handler in (whoami, admin_only, any_writer):
        app.register(handler)
    return app


MakeUser = Callable[..., Awaitable[TestUser]]


async def test_bearer_token_identifies_the_caller(
    settings: Settings, clock: ManualClock, make_user: MakeUser
) -> None:
    user = await make_user(role=Role.MENTOR)
    async with AppClient(probe_app(settings, clock)) as client:
        response = await client.get("/whoami", headers=user.headers)
        anonymous = await client.get("/whoami")
    assert response.json() == {"id": str(user.id), "role": "mentor"}
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


async def test_expired_token_is_refused(
    settings: Settings, clock: ManualClock, make_user: MakeUser
) -> None:
    user = await make_user()
    clock.advance(timedelta(minutes=15, seconds=1))
    async with AppClient(probe_app(settings, clock)) as client:
        response = await client.get("/whoami", headers=user.headers)
    assert response.status_code == 401


async def test_revoked_session_and_banned_user_are_refused(
    settings: Settings, clock: ManualClock, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    revoked = await make_user()
    banned = await make_user()
    await pool.execute(
        "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1", revoked.session_id
    )
    await pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", banned.id)
    async with AppClient(probe_app(settings, clock)) as client:
        assert (await client.get("/whoami", headers=revoked.headers)).status_code == 401
        assert (await client.get("/whoami", headers=banned.headers)).status_code == 401


async def test_role_guard_and_a_published_role_change_take_effect_at_once(
    settings: Settings, clock: ManualClock, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    user = await make_user(role=Role.MENTEE)
    app = probe_app(settings, clock)
    async with AppClient(app) as client:
        sessions = app.state.platform.session_cache
        assert (await client.post("/admin-only", headers=user.headers)).status_code == 403
        # Changed and then published, as the identity services do after their commit.
        await pool.execute("UPDATE users SET role = 'admin' WHERE id = $1", user.id)
        await sessions.publish_user_change(user.id)
        # Promoted, the session still needs two-factor before acting as staff.
        assert (await client.post("/admin-only", headers=user.headers)).status_code == 403
        await pool.execute(
            "UPDATE auth_sessions SET two_factor_at = now() WHERE id = $1", user.session_id
        )
        await sessions.publish_session_change(user.session_id)
        assert (await client.post("/admin-only", headers=user.headers)).status_code == 201


async def test_observer_reads_but_never_writes(
    settings: Settings, clock: ManualClock, make_user: MakeUser
) -> None:
    observer = await make_user(role=Role.OBSERVER)
    async with AppClient(probe_app(settings, clock)) as client:
        assert (await client.get("/whoami", headers=observer.headers)).status_code == 200
        denied = await client.post("/any-writer", headers=observer.headers)
    assert denied.status_code == 403
    assert "read-only" in denied.json()["detail"]


async def test_staff_without_two_factor_cannot_act_as_staff_anywhere(
    settings: Settings, clock: ManualClock, make_user: MakeUser
) -> None:
    unverified = await make_user(role=Role.ADMIN, two_factor=False)
    verified = await make_user(role=Role.ADMIN)
    async with AppClient(probe_app(settings, clock)) as client:
        refused = await client.post("/admin-only", headers=unverified.headers)
        allowed = await client.post("/admin-only", headers=verified.headers)
        own = await client.get("/whoami", headers=unverified.headers)
    assert refused.status_code == 403
    assert refused.json()["extra"]["two_factor_required"] is True
    assert allowed.status_code == 201
    assert own.status_code == 200  # outside staff routes (e.g. to enrol) they may act
