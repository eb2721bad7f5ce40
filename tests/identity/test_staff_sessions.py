"""Staff look into a member's signed-in sessions and end one: the session is over (its
refresh fails), the audit log names the member of staff, and a mentee cannot. A member's
audit trail holds what they did as well as what was done to them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from dracarys.identity import Role
from tests.support import AppClient, TestUser, audit_trail

MakeUser = Callable[..., Awaitable[TestUser]]
PASSWORD = "correct horse battery staple 9"


async def _member_signed_in_twice(client: AppClient) -> tuple[str, str, list[str]]:
    """A member who signed up and in on two devices: (id, e-mail, refresh tokens)."""
    email = f"two.devices-{uuid.uuid4().hex[:6]}@example.com"
    signup = await client.post(
        "/api/v1/signup", json={"email": email, "password": PASSWORD, "name": "Two Devices"}
    )
    assert signup.status_code == 201, signup.text
    refresh_tokens = []
    for _ in range(2):
        login = await client.post("/api/v1/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        refresh_tokens.append(login.json()["refresh_token"])
    return signup.json()["user_id"], email, refresh_tokens


async def test_a_reviewer_ends_one_of_a_members_sessions_and_the_audit_names_the_reviewer(
    client: AppClient, make_user: MakeUser, pool: asyncpg.Pool
) -> None:
    reviewer = await make_user(role=Role.REVIEWER)
    member_id, _, refresh_tokens = await _member_signed_in_twice(client)

    listed = await client.get(f"/api/v1/admin/users/{member_id}/sessions", headers=reviewer.headers)
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert len(sessions) == 2
    assert not any(s["current"] for s in sessions)

    ended_id = sessions[0]["id"]
    ended = await client.delete(
        f"/api/v1/admin/users/{member_id}/sessions/{ended_id}", headers=reviewer.headers
    )
    assert ended.status_code == 204, ended.text
    # The two sign-ins share the test clock's instant: which device it was shows in which
    # refresh token stops working. One does, the other still works.
    refreshed = [
        (await client.post("/api/v1/token/refresh", json={"refresh_token": token})).status_code
        for token in refresh_tokens
    ]
    assert sorted(refreshed) == [200, 401]
    left = await client.get(f"/api/v1/admin/users/{member_id}/sessions", headers=reviewer.headers)
    assert [s["id"] for s in left.json()] == [sessions[1]["id"]]

    [(actor, target, details)] = await audit_trail(pool, "admin.session_revoked")
    assert (actor, target, details) == (
        reviewer.id,
        f"user:{member_id}",
        {"session_id": ended_id},
    )
    again = await client.delete(
        f"/api/v1/admin/users/{member_id}/sessions/{ended_id}", headers=reviewer.headers
    )
    assert again.status_code == 404


async def test_a_mentee_cannot_list_or_end_a_members_sessions(
    client: AppClient, make_user: MakeUser
) -> None:
    mentee = await make_user()
    member_id, _, _ = await _member_signed_in_twice(client)
    listed = await client.get(f"/api/v1/admin/users/{member_id}/sessions", headers=mentee.headers)
    assert listed.status_code == 403
    ended = await client.delete(
        f"/api/v1/admin/users/{member_id}/sessions/{uuid.uuid4()}", headers=mentee.headers
    )
    assert ended.status_code == 403


async def test_a_members_audit_trail_holds_what_they_did_as_staff_too(
    client: AppClient, make_user: MakeUser
) -> None:
    admin = await make_user(role=Role.ADMIN)
    other_admin = await make_user(role=Role.ADMIN)
    member = await make_user()
    banned = await client.post(
        f"/api/v1/admin/users/{member.id}/ban",
        json={"reason": "chargebacks"},
        headers=admin.headers,
    )
    assert banned.status_code == 200, banned.text

    trail = await client.get(f"/api/v1/admin/users/{admin.id}/audit", headers=other_admin.headers)
    assert trail.status_code == 200, trail.text
    [entry] = trail.json()
    assert (entry["action"], entry["actor_id"], entry["target"]) == (
        "admin.ban",
        str(admin.id),
        f"user:{member.id}",
    )
    member_trail = await client.get(
        f"/api/v1/admin/users/{member.id}/audit", headers=other_admin.headers
    )
    assert [e["action"] for e in member_trail.json()] == ["admin.ban"]
