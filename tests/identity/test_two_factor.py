"""TOTP enrolment, recovery codes, two-factor at login for staff, and the step-up check."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pyotp
import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.errors import Forbidden, Unauthorized
from dracarys.identity.access import CurrentUser, Role
from dracarys.identity.service import require_step_up, verify_step_up_token
from dracarys.identity.stepup import verify_step_up
from dracarys.platform import Platform
from tests.identity.conftest import Client, enrol_totp, login, new_account, staff_account, totp_now


async def test_totp_secret_is_stored_encrypted(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    sealed = await pool.fetchval(
        "SELECT totp_secret_encrypted FROM users WHERE id = $1", account.id
    )
    assert account.totp_secret.encode() not in bytes(sealed)


async def test_staff_login_requires_the_totp_code_once_enrolled(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    reviewer = await staff_account(client, pool, clock, Role.REVIEWER)
    assert reviewer.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    missing = await login(client, reviewer.email)
    assert missing.status_code == 401
    assert missing.json()["extra"]["two_factor_required"] is True
    wrong = await login(client, reviewer.email, totp_code="000000")
    assert wrong.status_code == 401
    code = totp_now(reviewer.totp_secret, clock)
    assert (await login(client, reviewer.email, totp_code=code)).status_code == 200
    # The same code cannot be replayed.
    assert (await login(client, reviewer.email, totp_code=code)).status_code == 401


async def test_staff_without_two_factor_are_told_to_enrol(
    client: Client, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    await pool.execute("UPDATE users SET role = 'admin' WHERE id = $1", account.id)
    response = await login(client, account.email)
    assert response.status_code == 200
    assert response.json()["two_factor_enrolment_required"] is True
    queue = await client.get(
        "/api/v1/kyc/reviews",
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    )
    assert queue.status_code == 403


async def test_recovery_codes_work_once(client: Client, clock: ManualClock) -> None:
    account = await new_account(client)
    codes = await enrol_totp(client, account, clock)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    first = await login(client, account.email, recovery_code=codes[0])
    assert first.status_code == 200
    again = await login(client, account.email, recovery_code=codes[0])
    assert again.status_code == 401


async def test_step_up_needs_a_fresh_code_from_an_enrolled_user(
    client: Client, platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    account = await new_account(client)
    session_id = await pool.fetchval("SELECT id FROM auth_sessions WHERE user_id = $1", account.id)
    user = CurrentUser(id=account.id, role=Role.MENTEE, session_id=session_id)
    with pytest.raises(Forbidden):
        await require_step_up(platform, user, "123456")
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    with pytest.raises(Forbidden):
        await require_step_up(platform, user, None)
    with pytest.raises(Unauthorized):
        await require_step_up(platform, user, "000000")
    code = totp_now(account.totp_secret, clock)
    await require_step_up(platform, user, code)
    with pytest.raises(Unauthorized):
        await require_step_up(platform, user, code)


async def test_step_up_token_is_bound_to_the_session_and_expires(
    client: Client, platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    response = await client.post(
        "/api/v1/me/step-up",
        json={"code": pyotp.TOTP(account.totp_secret).at(clock.now())},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    token = response.json()["step_up_token"]
    session_id = await pool.fetchval("SELECT id FROM auth_sessions WHERE user_id = $1", account.id)
    user = CurrentUser(id=account.id, role=Role.MENTEE, session_id=session_id)
    verify_step_up_token(platform, user, token)
    other_session = CurrentUser(id=account.id, role=Role.MENTEE, session_id=uuid.uuid4())
    with pytest.raises(Forbidden):
        verify_step_up_token(platform, other_session, token)
    with pytest.raises(Forbidden):
        verify_step_up_token(platform, user, account.access_token)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Forbidden):
        verify_step_up_token(platform, user, token)


async def test_verify_step_up_runs_inside_the_callers_transaction(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, platform: Platform
) -> None:
    account = await new_account(client)
    async with transaction(pool) as conn:
        assert not await verify_step_up(conn, platform, user_id=account.id, code="123456")
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    code = totp_now(account.totp_secret, clock)
    async with transaction(pool) as conn:
        assert not await verify_step_up(conn, platform, user_id=account.id, code="000000")
        assert await verify_step_up(conn, platform, user_id=account.id, code=code)
    async with transaction(pool) as conn:
        assert not await verify_step_up(conn, platform, user_id=account.id, code=code)
