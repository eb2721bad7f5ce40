"""TOTP enrolment, recovery codes, two-factor at login for staff, turning it off, and the
one step-up check (a fresh code or the token `POST /me/step-up` issues)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.identity import CurrentUser, Role, StepUpRequired, require_step_up
from dracarys.platform import Platform
from tests.identity.conftest import (
    Account,
    Client,
    enrol_totp,
    login,
    new_account,
    staff_account,
    totp_now,
)


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


async def session_of(pool: asyncpg.Pool, account: Account) -> CurrentUser:
    session_id = await pool.fetchval("SELECT id FROM auth_sessions WHERE user_id = $1", account.id)
    return CurrentUser(id=account.id, role=Role.MENTEE, session_id=session_id)


async def step_up_token(client: Client, account: Account, clock: ManualClock) -> str:
    assert account.totp_secret is not None
    response = await client.post(
        "/api/v1/me/step-up",
        json={"code": totp_now(account.totp_secret, clock)},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["step_up_token"]
    return token


def refused_on(refusal: pytest.ExceptionInfo[StepUpRequired], field: str) -> bool:
    """The one contract: 403, `step-up-required`, naming the field."""
    error = refusal.value
    return (
        error.status == 403
        and error.slug == "step-up-required"
        and error.extra == {"step_up_required": True}
        and [e.field for e in error.errors] == [field]
    )


async def test_step_up_needs_a_fresh_code_from_an_enrolled_user(
    client: Client, platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    account = await new_account(client)
    user = await session_of(pool, account)
    with pytest.raises(StepUpRequired) as not_enrolled:
        await require_step_up(platform, user, totp_code="123456", step_up_token=None)
    assert refused_on(not_enrolled, "totp_code")
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    with pytest.raises(StepUpRequired) as missing:
        await require_step_up(platform, user, totp_code=None, step_up_token=None)
    assert refused_on(missing, "totp_code")
    with pytest.raises(StepUpRequired) as wrong:
        await require_step_up(platform, user, totp_code="000000", step_up_token=None)
    assert refused_on(wrong, "totp_code")
    code = totp_now(account.totp_secret, clock)
    await require_step_up(platform, user, totp_code=code, step_up_token=None)
    with pytest.raises(StepUpRequired) as replayed:
        await require_step_up(platform, user, totp_code=code, step_up_token=None)
    assert refused_on(replayed, "totp_code")


async def test_step_up_token_is_bound_to_the_session_and_expires(
    client: Client, platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    clock.advance(timedelta(seconds=30))
    token = await step_up_token(client, account, clock)
    user = await session_of(pool, account)
    await require_step_up(platform, user, totp_code=None, step_up_token=token)
    other_session = CurrentUser(id=account.id, role=Role.MENTEE, session_id=uuid.uuid4())
    refusals = []
    for who, presented in (
        (other_session, token),
        (user, account.access_token),  # a token, but not a step-up token
        (user, token + "x"),
    ):
        with pytest.raises(StepUpRequired) as refused:
            await require_step_up(platform, who, totp_code=None, step_up_token=presented)
        assert refused_on(refused, "step_up_token")
        refusals.append(refused.value.detail)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(StepUpRequired) as expired:
        await require_step_up(platform, user, totp_code=None, step_up_token=token)
    assert refused_on(expired, "step_up_token")
    assert set(refusals) == {expired.value.detail}


async def test_step_up_runs_inside_the_callers_transaction(
    client: Client, pool: asyncpg.Pool, clock: ManualClock, platform: Platform
) -> None:
    account = await new_account(client)
    user = await session_of(pool, account)
    async with transaction(pool) as conn:
        with pytest.raises(StepUpRequired):
            await require_step_up(platform, user, totp_code="123456", step_up_token=None, conn=conn)
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    code = totp_now(account.totp_secret, clock)
    async with transaction(pool) as conn:
        with pytest.raises(StepUpRequired):
            await require_step_up(platform, user, totp_code="000000", step_up_token=None, conn=conn)
        await require_step_up(platform, user, totp_code=code, step_up_token=None, conn=conn)
    async with transaction(pool) as conn:
        with pytest.raises(StepUpRequired):
            await require_step_up(platform, user, totp_code=code, step_up_token=None, conn=conn)
    # A code checked in a transaction that rolls back is not spent.
    clock.advance(timedelta(seconds=60))
    fresh = totp_now(account.totp_secret, clock)
    with pytest.raises(RuntimeError):
        async with transaction(pool) as conn:
            await require_step_up(platform, user, totp_code=fresh, step_up_token=None, conn=conn)
            raise RuntimeError("the guarded action failed")
    await require_step_up(platform, user, totp_code=fresh, step_up_token=None)


# ---- turning two-factor off (behind the step-up) --------------------------------------


async def test_the_token_from_post_me_step_up_turns_two_factor_off(
    client: Client, clock: ManualClock
) -> None:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    clock.advance(timedelta(seconds=30))
    token = await step_up_token(client, account, clock)
    response = await client.post(
        "/api/v1/me/totp/disable", json={"step_up_token": token}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    me = await client.get("/api/v1/me", headers=account.headers)
    assert me.json()["two_factor_enabled"] is False
    # Signing in needs the password alone again.
    assert (await login(client, account.email)).status_code == 200


async def test_a_fresh_code_turns_two_factor_off_too(client: Client, clock: ManualClock) -> None:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    response = await client.post(
        "/api/v1/me/totp/disable",
        json={"totp_code": totp_now(account.totp_secret, clock)},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert (await login(client, account.email)).status_code == 200


async def test_an_expired_or_another_users_step_up_token_is_refused_with_the_same_error(
    client: Client, clock: ManualClock
) -> None:
    owner, other = await new_account(client), await new_account(client)
    for account in (owner, other):
        await enrol_totp(client, account, clock)
    clock.advance(timedelta(seconds=30))
    others_token = await step_up_token(client, other, clock)
    owners_token = await step_up_token(client, owner, clock)
    url = "/api/v1/me/totp/disable"
    foreign = await client.post(url, json={"step_up_token": others_token}, headers=owner.headers)
    clock.advance(timedelta(minutes=5, seconds=1))
    expired = await client.post(url, json={"step_up_token": owners_token}, headers=owner.headers)
    missing = await client.post(url, json={}, headers=owner.headers)
    for response in (foreign, expired, missing):
        assert response.status_code == 403, response.text
        problem = response.json()
        assert problem["type"].endswith("/step-up-required")
        assert problem["extra"] == {"step_up_required": True}
    assert foreign.json()["errors"] == expired.json()["errors"]
    assert foreign.json()["detail"] == expired.json()["detail"]
    assert [e["field"] for e in foreign.json()["errors"]] == ["step_up_token"]
    assert [e["field"] for e in missing.json()["errors"]] == ["totp_code"]
    me = await client.get("/api/v1/me", headers=owner.headers)
    assert me.json()["two_factor_enabled"] is True


async def test_staff_cannot_turn_two_factor_off(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    assert admin.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    response = await client.post(
        "/api/v1/me/totp/disable",
        json={"totp_code": totp_now(admin.totp_secret, clock)},
        headers=admin.headers,
    )
    assert response.status_code == 403
    assert "staff" in response.json()["detail"]


async def test_turning_two_factor_off_drops_the_second_factor_of_every_session(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    account = await new_account(client)
    await enrol_totp(client, account, clock)
    assert account.totp_secret is not None
    clock.advance(timedelta(seconds=30))
    token = await step_up_token(client, account, clock)
    response = await client.post(
        "/api/v1/me/totp/disable", json={"step_up_token": token}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    left = await pool.fetchval(
        "SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND two_factor_at IS NOT NULL",
        account.id,
    )
    assert left == 0
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM totp_recovery_codes WHERE user_id = $1", account.id
        )
        == 0
    )
