"""Account facts other domains read through identity's public surface."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from dracarys.identity import (
    Role,
    account_of,
    accounts_of,
    active_accounts_with_role,
    live_sessions,
)
from tests.support import TestUser

MakeUser = Callable[..., Awaitable[TestUser]]


async def test_an_account_reads_role_status_and_kyc_level_and_unknown_ids_are_absent(
    pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    mentor = await make_user(role=Role.MENTOR, kyc_level=2)
    mentee = await make_user()
    async with pool.acquire() as conn:
        one = await account_of(conn, mentor.id)
        assert one is not None
        assert (one.role, one.kyc_level, one.is_active) == (Role.MENTOR, 2, True)
        assert await account_of(conn, uuid.uuid4()) is None
        both = await accounts_of(conn, [mentor.id, mentee.id, uuid.uuid4()])
    assert {i: a.role for i, a in both.items()} == {mentor.id: Role.MENTOR, mentee.id: Role.MENTEE}


async def test_active_accounts_with_role_filter_by_kyc_and_skip_banned_ones(
    pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    verified = await make_user(role=Role.MENTOR, kyc_level=2)
    unverified = await make_user(role=Role.MENTOR, kyc_level=1)
    banned = await make_user(role=Role.MENTOR, kyc_level=3)
    await pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", banned.id)
    async with pool.acquire() as conn:
        found = await active_accounts_with_role(conn, Role.MENTOR, min_kyc_level=2)
        everyone = await active_accounts_with_role(conn, Role.MENTOR)
    assert [a.id for a in found] == [verified.id]
    assert {a.id for a in everyone} == {verified.id, unverified.id}


async def test_live_sessions_leave_out_revoked_ones_and_banned_users(
    pool: asyncpg.Pool, make_user: MakeUser
) -> None:
    users = [await make_user() for _ in range(3)]
    await pool.execute(
        "UPDATE auth_sessions SET revoked_at = now() WHERE id = $1", users[1].session_id
    )
    await pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", users[2].id)
    async with pool.acquire() as conn:
        found = await live_sessions(conn, [u.session_id for u in users])
    assert list(found) == [users[0].session_id]
    assert found[users[0].session_id].user_id == users[0].id
