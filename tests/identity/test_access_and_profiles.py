"""Roles, object-level access, public vs private fields, mass assignment, and profiles."""

from __future__ import annotations

import asyncpg

from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.settings import Settings
from tests.identity.conftest import Client, new_account, staff_account
from tests.support import TestUser, accounts_with_email

PRIVATE_FIELDS = {"email", "phone", "kyc_level", "timezone", "status", "two_factor_enabled"}


async def test_public_view_hides_private_fields_and_owner_sees_them(client: Client) -> None:
    owner = await new_account(client, phone="+254711222333")
    other = await new_account(client)
    public = (await client.get(f"/api/v1/users/{owner.id}", headers=other.headers)).json()
    anonymous = (await client.get(f"/api/v1/users/{owner.id}")).json()
    private = (await client.get(f"/api/v1/users/{owner.id}", headers=owner.headers)).json()
    assert not PRIVATE_FIELDS & public.keys()
    assert not PRIVATE_FIELDS & anonymous.keys()
    assert private.keys() >= PRIVATE_FIELDS
    assert private["phone"] == "+254711222333"


async def test_staff_and_observers_see_private_fields(client: Client, make_user: object) -> None:
    owner = await new_account(client)
    observer: TestUser = await make_user(role=Role.OBSERVER)  # type: ignore[operator]
    seen = (await client.get(f"/api/v1/users/{owner.id}", headers=observer.headers)).json()
    assert seen["email"] == owner.email


async def test_a_user_cannot_edit_another_users_profile(client: Client, pool: asyncpg.Pool) -> None:
    owner = await new_account(client)
    intruder = await new_account(client)
    response = await client.patch(
        f"/api/v1/users/{owner.id}/profile", json={"headline": "pwned"}, headers=intruder.headers
    )
    assert response.status_code == 403
    assert (
        await pool.fetchval("SELECT headline FROM user_profiles WHERE user_id = $1", owner.id) == ""
    )


async def test_observer_is_read_only(client: Client, make_user: object) -> None:
    observer: TestUser = await make_user(role=Role.OBSERVER)  # type: ignore[operator]
    response = await client.patch(
        f"/api/v1/users/{observer.id}/profile", json={"headline": "x"}, headers=observer.headers
    )
    assert response.status_code == 403


async def test_server_owned_fields_in_a_body_are_a_422_and_change_nothing(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    account = await new_account(client)
    before = await pool.fetchrow("SELECT * FROM users WHERE id = $1", account.id)
    profile_before = await pool.fetchrow(
        "SELECT * FROM user_profiles WHERE user_id = $1", account.id
    )
    attempts = [
        {"headline": "hi", "role": "admin"},
        {"headline": "hi", "kyc_level": 3},
        {"headline": "hi", "reputation_score": 100},
        {"headline": "hi", "verified": True},
        {"headline": "hi", "user_id": "00000000-0000-0000-0000-000000000001"},
    ]
    for body in attempts:
        response = await client.patch(
            f"/api/v1/users/{account.id}/profile", json=body, headers=account.headers
        )
        assert response.status_code == 422, body
        extra = next(k for k in body if k != "headline")
        assert response.json()["errors"][0]["field"] == extra
    signup = await client.post(
        "/api/v1/signup",
        json={"email": "mass@example.com", "password": "a fine pass phrase 42", "role": "admin"},
    )
    assert signup.status_code == 422
    assert await accounts_with_email(pool, settings, "mass@example.com") == 0
    assert dict(await pool.fetchrow("SELECT * FROM users WHERE id = $1", account.id)) == dict(
        before
    )
    after = await pool.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", account.id)
    assert dict(after) == dict(profile_before)


async def test_mentor_cannot_set_verified_or_probation_on_own_mentor_profile(
    client: Client, make_user: object, pool: asyncpg.Pool
) -> None:
    mentor: TestUser = await make_user(role=Role.MENTOR)  # type: ignore[operator]
    for body in ({"verified": True}, {"on_probation": False}, {"rating_average": 5.0}):
        response = await client.patch(
            f"/api/v1/users/{mentor.id}/mentor-profile", json=body, headers=mentor.headers
        )
        assert response.status_code == 422, body
    assert (
        await pool.fetchval("SELECT count(*) FROM mentor_profiles WHERE user_id = $1", mentor.id)
        == 0
    )


async def test_profile_update_validates_timezone_and_emits_profile_completed_once(
    client: Client, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    url = f"/api/v1/users/{account.id}/profile"
    bad = await client.patch(url, json={"timezone": "Mars/Olympus_Mons"}, headers=account.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "timezone"
    complete = {
        "headline": "Swing trader learning options",
        "bio": "Ten years in logistics, two in markets.",
        "specialties": ["options", "swing_trading"],
        "social_links": {"x": "https://x.com/someone"},
        "timezone": "Africa/Nairobi",
        "experience_level": "intermediate",
        "trading_style": "swing_trader",
    }
    response = await client.patch(url, json=complete, headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "Africa/Nairobi"
    assert body["specialties"] == ["options", "swing_trading"]
    await client.patch(url, json={"headline": "Now a day trader"}, headers=account.headers)
    emitted = await pool.fetchval(
        """SELECT count(*) FROM outbox
           WHERE topic = 'profile.completed' AND payload->>'user_id' = $1""",
        str(account.id),
    )
    assert emitted == 1
    not_https = await client.patch(
        url, json={"social_links": {"x": "javascript:alert(1)"}}, headers=account.headers
    )
    assert not_https.status_code == 422


async def test_new_mentors_start_on_probation_and_unverified(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    account = await new_account(client)
    promoted = await client.put(
        f"/api/v1/admin/users/{account.id}/role", json={"role": "mentor"}, headers=admin.headers
    )
    assert promoted.status_code == 200, promoted.text
    rate = await client.patch(
        f"/api/v1/users/{account.id}/mentor-profile",
        json={"hourly_rate_minor": 250000, "currency": "KES", "specialties": ["forex"]},
        headers=account.headers,
    )
    assert rate.status_code == 200, rate.text
    mentor = rate.json()["mentor"]
    assert mentor["on_probation"] is True
    assert mentor["verified"] is False
    assert mentor["verified_badge"] is False
    assert mentor["hourly_rate_minor"] == 250000
    bad_currency = await client.patch(
        f"/api/v1/users/{account.id}/mentor-profile",
        json={"currency": "kes"},
        headers=account.headers,
    )
    assert bad_currency.status_code == 422
    audited = await pool.fetchrow(
        "SELECT actor_id, details FROM audit_log WHERE action = 'admin.role_changed'"
    )
    assert audited is not None
    assert audited["actor_id"] == admin.id
    assert audited["details"] == {"from": "mentee", "to": "mentor"}


async def test_admin_routes_refuse_other_roles_and_staff_without_two_factor(
    client: Client, pool: asyncpg.Pool, make_user: object
) -> None:
    target = await new_account(client)
    mentor: TestUser = await make_user(role=Role.MENTOR)  # type: ignore[operator]
    admin_without_2fa: TestUser = await make_user(role=Role.ADMIN, two_factor=False)  # type: ignore[operator]
    url = f"/api/v1/admin/users/{target.id}/ban"
    body = {"reason": "spam accounts"}
    assert (await client.post(url, json=body, headers=mentor.headers)).status_code == 403
    no_2fa = await client.post(url, json=body, headers=admin_without_2fa.headers)
    assert no_2fa.status_code == 403
    assert no_2fa.json()["extra"]["two_factor_required"] is True
    assert await pool.fetchval("SELECT status FROM users WHERE id = $1", target.id) == "active"


async def test_ban_revokes_sessions_and_unban_restores_login(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    target = await new_account(client)
    banned = await client.post(
        f"/api/v1/admin/users/{target.id}/ban", json={"reason": "fraud ring"}, headers=admin.headers
    )
    assert banned.status_code == 200
    assert (await client.get("/api/v1/me", headers=target.headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": target.refresh_token}
    )
    assert refresh.status_code == 401
    login = await client.post(
        "/api/v1/login", json={"email": target.email, "password": target.password}
    )
    assert login.status_code == 403
    await client.post(f"/api/v1/admin/users/{target.id}/unban", headers=admin.headers)
    login = await client.post(
        "/api/v1/login", json={"email": target.email, "password": target.password}
    )
    assert login.status_code == 200
    actions = [
        r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY position")
    ]
    assert "admin.ban" in actions
    assert "admin.unban" in actions


async def test_admin_reads_a_users_audit_trail_and_others_cannot(
    client: Client, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    target = await new_account(client)
    await client.post(
        f"/api/v1/admin/users/{target.id}/ban",
        json={"reason": "chargebacks"},
        headers=admin.headers,
    )
    trail = await client.get(f"/api/v1/admin/users/{target.id}/audit", headers=admin.headers)
    assert trail.status_code == 200
    actions = [e["action"] for e in trail.json()]
    assert actions[0] == "admin.ban"
    assert "auth.login" in actions
    assert "user.signup" in actions
    assert trail.json()[0]["actor_id"] == str(admin.id)
    other = await new_account(client)
    denied = await client.get(f"/api/v1/admin/users/{target.id}/audit", headers=other.headers)
    assert denied.status_code == 403
