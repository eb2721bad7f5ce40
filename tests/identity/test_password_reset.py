"""Forgotten passwords: the same answer for every address, throttled per address and per
source; a mailed link that works once and for 30 minutes; the reset sets the password by
the sign-up rules and ends every session of the account (access and refresh tokens,
cached sessions included), audited and announced."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import httpx
import msgspec

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.settings import Settings
from tests.identity.conftest import PASSWORD, Client, login, new_account, signup, unique_email
from tests.messaging.simulators import SmtpSimulator
from tests.support import AppClient
from workers.runtime import Worker

NEW_PASSWORD = "a brand new passphrase 31"
RESET_SUBJECT = "Reset your Dracarys password"
RESET_LINK = re.compile(r"https?://\S+/reset-password\?token=(?P<token>[A-Za-z0-9_\-]+)")


@asynccontextmanager
async def from_address(client: AppClient, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same running app, connecting from `host`."""
    transport = httpx.ASGITransport(app=client.app, client=(host, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url=client.base_url) as other:
        yield other


async def forgot(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/v1/password/forgot", json={"email": email})


async def reset(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/password/reset", json={"token": token, "password": password})


async def mailed_reset_tokens(smtp: SmtpSimulator, email: str, count: int = 1) -> list[str]:
    """The tokens of the reset links mailed to `email`, oldest first, once `count` came."""
    for _ in range(200):
        mails = [m for m in smtp.to(email) if m["Subject"] == RESET_SUBJECT]
        if len(mails) >= count:
            tokens = []
            for mail in mails:
                body = mail.get_body(preferencelist=("plain",))
                assert body is not None
                match = RESET_LINK.search(body.get_content())
                assert match is not None
                tokens.append(match["token"])
            return tokens
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} reset mails reached {email}")


async def wait_until_mail_delivered(pool: asyncpg.Pool) -> None:
    for _ in range(200):
        pending = await pool.fetchval(
            "SELECT count(*) FROM outbound_messages WHERE channel = 'email' AND sent_at IS NULL"
        )
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("mail still undelivered")


async def test_forgot_answers_the_same_for_a_known_and_an_unknown_address_and_mails_only_one(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    _, known = await signup(client)
    unknown = unique_email("nobody")
    known_answer = await forgot(client, known)
    unknown_answer = await forgot(client, unknown)
    assert known_answer.status_code == 202
    assert unknown_answer.status_code == 202
    assert known_answer.json() == unknown_answer.json()
    assert len(await mailed_reset_tokens(smtp_server, known)) == 1
    await wait_until_mail_delivered(pool)
    assert smtp_server.to(unknown) == []
    sent = await pool.fetchval(
        "SELECT count(*) FROM outbound_messages WHERE template = 'password_reset'"
    )
    assert sent == 1


async def test_forgot_refuses_an_address_that_is_not_one_naming_the_field(client: Client) -> None:
    response = await forgot(client, "not an address")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"


async def test_forgot_is_throttled_per_address_known_or_not(
    client: Client, settings: Settings
) -> None:
    _, known = await signup(client)
    allowed = settings.verification_sends_per_hour_per_account
    for address in (known, unique_email("nobody")):
        statuses = [(await forgot(client, address)).status_code for _ in range(allowed + 1)]
        assert statuses == [202] * allowed + [429]
    refused = await forgot(client, known.upper())
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "try again in" in refused.json()["detail"]


async def test_forgot_is_throttled_per_source_across_addresses(
    settings: Settings, clock: ManualClock
) -> None:
    tight = msgspec.structs.replace(settings, verification_sends_per_hour_per_ip=3)
    async with AppClient(create_app(tight, clock=clock)) as client:
        addresses = [unique_email("many") for _ in range(4)]
        statuses = [(await forgot(client, a)).status_code for a in addresses]
        assert statuses == [202, 202, 202, 429]
        async with from_address(client, "203.0.113.7") as elsewhere:
            assert (await forgot(elsewhere, addresses[3])).status_code == 202


async def test_a_reset_link_sets_the_password_once_and_proves_the_address(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    user_id, email = await signup(client)
    await forgot(client, email)
    (token,) = await mailed_reset_tokens(smtp_server, email)
    (stored,) = await pool.fetch(
        "SELECT token_hash FROM password_reset_tokens WHERE user_id = $1", user_id
    )
    # Only the hash is kept.
    assert stored["token_hash"] == hashlib.sha256(token.encode()).digest()

    assert (await reset(client, token, NEW_PASSWORD)).status_code == 200
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    assert (await login(client, email, PASSWORD)).status_code == 401
    again = await reset(client, token, "yet another passphrase 5")
    assert again.status_code == 422
    assert again.json()["extra"]["reason"] == "already_used"
    assert again.json()["errors"][0]["field"] == "token"
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    verified = await pool.fetchval("SELECT email_verified_at FROM users WHERE id = $1", user_id)
    assert verified is not None


async def test_a_reset_link_expires_after_thirty_minutes(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, clock: ManualClock
) -> None:
    _, email = await signup(client)
    await forgot(client, email)
    (first,) = await mailed_reset_tokens(smtp_server, email)
    clock.advance(timedelta(minutes=30))
    expired = await reset(client, first, NEW_PASSWORD)
    assert expired.status_code == 422
    assert expired.json()["extra"]["reason"] == "expired"

    await forgot(client, email)
    _, second = await mailed_reset_tokens(smtp_server, email, count=2)
    clock.advance(timedelta(minutes=29, seconds=59))
    assert (await reset(client, second, NEW_PASSWORD)).status_code == 200


async def test_an_unknown_reset_token_is_refused_as_unknown(client: Client) -> None:
    response = await reset(client, "not-a-token-we-issued", NEW_PASSWORD)
    assert response.status_code == 422
    assert response.json()["extra"]["reason"] == "unknown"


async def test_a_weak_new_password_is_refused_and_the_link_still_works(
    client: Client, worker: Worker, smtp_server: SmtpSimulator
) -> None:
    _, email = await signup(client)
    await forgot(client, email)
    (token,) = await mailed_reset_tokens(smtp_server, email)
    for weak in ("short", "password123", email):
        refused = await reset(client, token, weak)
        assert refused.status_code == 422, weak
        assert refused.json()["errors"][0]["field"] == "password"
    assert (await login(client, email, PASSWORD)).status_code == 200
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 200


async def test_a_reset_ends_every_session_access_and_refresh_alike(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    account = await new_account(client)
    second = (await login(client, account.email)).json()
    # Both sessions are in use (and so in the session cache) before the reset.
    assert (await client.get("/api/v1/me", headers=account.headers)).status_code == 200
    other_headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await client.get("/api/v1/me", headers=other_headers)).status_code == 200

    await forgot(client, account.email)
    (token,) = await mailed_reset_tokens(smtp_server, account.email)
    assert (await reset(client, token, NEW_PASSWORD)).status_code == 200

    for headers in (account.headers, other_headers):
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    for refresh_token in (account.refresh_token, second["refresh_token"]):
        refused = await client.post("/api/v1/token/refresh", json={"refresh_token": refresh_token})
        assert refused.status_code == 401
    live = await pool.fetchval(
        "SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL", account.id
    )
    assert live == 0

    audit = await pool.fetchrow(
        """SELECT actor_id, details FROM audit_log
           WHERE action = 'auth.password_reset' AND target = $1""",
        f"user:{account.id}",
    )
    assert audit is not None
    assert audit["actor_id"] == account.id
    assert audit["details"] == {"sessions_revoked": 2}
    requested = await pool.fetchval(
        """SELECT count(*) FROM audit_log
           WHERE action = 'auth.password_reset_requested' AND target = $1""",
        f"user:{account.id}",
    )
    assert requested == 1
    emitted = await pool.fetchval(
        """SELECT count(*) FROM outbox
           WHERE topic = 'user.password_reset' AND payload->>'user_id' = $1""",
        str(account.id),
    )
    assert emitted == 1
    await smtp_server.wait_for(account.email, count=3)
    subjects = [m["Subject"] for m in smtp_server.to(account.email)]
    assert "Your Dracarys password was changed" in subjects


async def test_two_concurrent_resets_with_one_link_set_one_password(
    client: Client, worker: Worker, smtp_server: SmtpSimulator
) -> None:
    _, email = await signup(client)
    await forgot(client, email)
    (token,) = await mailed_reset_tokens(smtp_server, email)
    candidates = [f"concurrent passphrase {i} {uuid.uuid4().hex[:6]}" for i in range(5)]
    responses = await asyncio.gather(*(reset(client, token, p) for p in candidates))
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [200] + [422] * 4
    winner = candidates[statuses.index(200)]
    assert (await login(client, email, winner)).status_code == 200
    for loser in (p for p in candidates if p != winner):
        assert (await login(client, email, loser)).status_code == 401


async def test_a_suspended_account_gets_no_link_and_the_same_answer(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    user_id, email = await signup(client)
    await pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", user_id)
    response = await forgot(client, email)
    assert response.status_code == 202
    await wait_until_mail_delivered(pool)
    assert [m for m in smtp_server.to(email) if m["Subject"] == RESET_SUBJECT] == []
