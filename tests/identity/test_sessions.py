"""Sessions: login, JWT validation failures, rotating refresh tokens with family
revocation on reuse, logout, uniform failures for unknown users, and throttling."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import argon2
import asyncpg
import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio import Redis

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.identity.access import AUDIENCE, issuer
from dracarys.identity.passwords import dummy_hash
from dracarys.settings import Settings
from tests.identity.conftest import PASSWORD, Client, login, new_account, signup, unique_email
from tests.support import AppClient


def _claims(
    settings: Settings, clock: ManualClock, user_id: str, sid: str, **changes: object
) -> dict[str, object]:
    now = int(clock.now().timestamp())
    claims: dict[str, object] = {
        "sub": user_id,
        "role": "mentee",
        "sid": sid,
        "typ": "access",
        "iss": issuer(settings),
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return claims


async def _session_of(pool: asyncpg.Pool, user_id: uuid.UUID) -> str:
    return str(await pool.fetchval("SELECT id FROM auth_sessions WHERE user_id = $1", user_id))


async def test_login_returns_short_lived_access_token_bound_to_audience_and_issuer(
    client: Client, settings: Settings
) -> None:
    account = await new_account(client)
    claims = jwt.decode(
        account.access_token,
        settings.secret_key,
        algorithms=["HS256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["iss"] == issuer(settings)
    assert claims["exp"] - claims["iat"] <= 15 * 60
    me = await client.get("/api/v1/me", headers=account.headers)
    assert me.status_code == 200
    assert me.json()["email"] == account.email


async def test_forged_or_misused_tokens_are_refused(
    client: Client, settings: Settings, clock: ManualClock, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    sid = await _session_of(pool, account.id)
    user_id = str(account.id)
    key = settings.secret_key
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {
        "alg=none": jwt.encode(_claims(settings, clock, user_id, sid), None, algorithm="none"),
        "other key": jwt.encode(
            _claims(settings, clock, user_id, sid), "another-secret-" + "y" * 32, algorithm="HS256"
        ),
        "RS256 key": jwt.encode(
            _claims(settings, clock, user_id, sid), private_key, algorithm="RS256"
        ),
        "expired": jwt.encode(
            _claims(settings, clock, user_id, sid, exp=int(clock.now().timestamp()) - 1),
            key,
            algorithm="HS256",
        ),
        "future nbf": jwt.encode(
            _claims(settings, clock, user_id, sid, nbf=int(clock.now().timestamp()) + 120),
            key,
            algorithm="HS256",
        ),
        "wrong audience": jwt.encode(
            _claims(settings, clock, user_id, sid, aud="someone-else"), key, algorithm="HS256"
        ),
        "wrong issuer": jwt.encode(
            _claims(settings, clock, user_id, sid, iss="https://evil.example"),
            key,
            algorithm="HS256",
        ),
        "refresh token as access": account.refresh_token,
        "step-up token as access": jwt.encode(
            _claims(settings, clock, user_id, sid, typ="step_up"), key, algorithm="HS256"
        ),
    }
    # The control: the same claims, correctly signed, are accepted.
    good = jwt.encode(_claims(settings, clock, user_id, sid), key, algorithm="HS256")
    assert (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200
    for name, token in forged.items():
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name


async def test_access_token_expires_after_fifteen_minutes(
    client: Client, clock: ManualClock
) -> None:
    account = await new_account(client)
    clock.advance(timedelta(minutes=15))
    assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 401


async def test_refresh_rotates_and_reuse_of_a_spent_token_revokes_the_family(
    client: Client, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    first = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != account.refresh_token
    stored = await pool.fetch("SELECT token_hash FROM refresh_tokens")
    assert all(rotated["refresh_token"].encode() not in bytes(r["token_hash"]) for r in stored)

    replay = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert replay.status_code == 401
    # The whole family is gone: the newest refresh token and its access token too.
    newest = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert newest.status_code == 401
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
    )
    assert me.status_code == 401
    actions = await pool.fetch("SELECT action FROM audit_log ORDER BY position")
    assert "auth.refresh_reuse_detected" in [r["action"] for r in actions]


async def test_other_sessions_survive_a_reuse_in_one_family(client: Client) -> None:
    account = await new_account(client)
    second = (await login(client, account.email)).json()
    await client.post("/api/v1/token/refresh", json={"refresh_token": account.refresh_token})
    await client.post("/api/v1/token/refresh", json={"refresh_token": account.refresh_token})
    other = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert other.status_code == 200


async def test_logout_revokes_the_session_and_its_refresh_token(client: Client) -> None:
    account = await new_account(client)
    assert (await client.post("/api/v1/logout", headers=account.headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401


async def test_unknown_user_and_wrong_password_look_the_same(client: Client) -> None:
    _, email = await signup(client)
    unknown = await login(client, unique_email("ghost"), "whatever password 1")
    wrong = await login(client, email, "whatever password 1")
    assert unknown.status_code == wrong.status_code == 401
    strip = ("instance", "request_id")
    assert {k: v for k, v in unknown.json().items() if k not in strip} == {
        k: v for k, v in wrong.json().items() if k not in strip
    }
    assert unknown.headers.get("www-authenticate") == wrong.headers.get("www-authenticate")


async def test_unknown_user_and_wrong_password_cost_the_same_argon2_work(
    client: Client, pool: asyncpg.Pool
) -> None:
    """No timing side channel: an unknown account costs one argon2id verification, of a
    dummy hash with the same parameters as a real one, exactly as a wrong password does.
    (Counted, not timed: a timed assertion would flake on a busy machine.)"""
    user_id, email = await signup(client)

    async def verifications() -> dict[str, float]:
        text = (await client.get("/metrics")).text
        found = re.findall(
            r'^dracarys_password_verifications_total\{against="(\w+)"\} (\S+)$', text, re.M
        )
        return {against: float(value) for against, value in found}

    before = await verifications()
    assert (await login(client, email, "not the password 9")).status_code == 401
    after_known = await verifications()
    assert (await login(client, unique_email("ghost"), "not the password 9")).status_code == 401
    after_unknown = await verifications()
    assert after_known.get("account", 0) - before.get("account", 0) == 1
    assert after_known.get("dummy", 0) == before.get("dummy", 0)
    assert after_unknown.get("dummy", 0) - after_known.get("dummy", 0) == 1
    assert after_unknown.get("account", 0) == after_known.get("account", 0)
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    assert argon2.extract_parameters(dummy_hash()) == argon2.extract_parameters(stored)


async def test_repeated_failures_lock_the_account_with_429_but_not_other_accounts(
    client: Client, settings: Settings
) -> None:
    _, victim = await signup(client)
    _, bystander = await signup(client)
    for _ in range(settings.login_max_failures_per_source):
        assert (await login(client, victim, "wrong password 123")).status_code == 401
    blocked = await login(client, victim, PASSWORD)
    assert blocked.status_code == 429
    assert "retry-after" in blocked.headers
    assert (await login(client, bystander, PASSWORD)).status_code == 200


async def test_repeated_failures_from_one_ip_get_429_across_accounts(
    client: Client, settings: Settings
) -> None:
    _, email = await signup(client)
    for _ in range(settings.login_max_failures_per_ip):
        await login(client, unique_email("spray"), "wrong password 123")
    assert (await login(client, email, PASSWORD)).status_code == 429


async def test_the_lock_lifts_when_the_window_ends(settings: Settings, clock: ManualClock) -> None:
    short = msgspec.structs.replace(settings, login_failure_window_s=1)
    async with AppClient(create_app(short, clock=clock)) as short_client:
        _, email = await signup(short_client)
        for _ in range(short.login_max_failures_per_source):
            await login(short_client, email, "wrong password 123")
        assert (await login(short_client, email, PASSWORD)).status_code == 429
        await asyncio.sleep(1.2)
        assert (await login(short_client, email, PASSWORD)).status_code == 200


async def test_failures_are_counted_in_redis_when_redis_is_configured(
    redis_settings: Settings, clock: ManualClock
) -> None:
    async with AppClient(create_app(redis_settings, clock=clock)) as redis_client:
        _, email = await signup(redis_client)
        for _ in range(redis_settings.login_max_failures_per_source):
            await login(redis_client, email, "wrong password 123")
        assert (await login(redis_client, email, PASSWORD)).status_code == 429
    redis = Redis.from_url(redis_settings.redis_url or "")
    try:
        keys = [
            k async for k in redis.scan_iter(match=f"{redis_settings.redis_prefix}:rate_limit*")
        ]
    finally:
        await redis.aclose()
    assert keys


async def test_every_login_is_audited_with_source_ip(client: Client, pool: asyncpg.Pool) -> None:
    account = await new_account(client)
    row = await pool.fetchrow(
        "SELECT actor_id, target, source_ip FROM audit_log WHERE action = 'auth.login'"
    )
    assert row is not None
    assert row["actor_id"] == account.id
    assert row["target"] == f"user:{account.id}"
    assert row["source_ip"]


async def test_rotation_does_not_extend_a_session_past_its_lifetime(
    client: Client, clock: ManualClock, settings: Settings
) -> None:
    account = await new_account(client)
    token = account.refresh_token
    step = timedelta(days=settings.refresh_token_ttl_days // 3 - 1)
    for _ in range(3):
        clock.advance(step)
        response = await client.post("/api/v1/token/refresh", json={"refresh_token": token})
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    # Each token alone would live on; the session, opened at sign-in, has ended.
    clock.advance(timedelta(days=settings.refresh_token_ttl_days) - 3 * step + timedelta(seconds=1))
    late = await client.post("/api/v1/token/refresh", json={"refresh_token": token})
    assert late.status_code == 401
