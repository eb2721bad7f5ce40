"""Signup: password policy, argon2id parameters, e-mail and phone syntax, uniqueness
under concurrency, and e-mail/phone verification through the real providers' wire
formats (SMTP to a local aiosmtpd server, HTTP to a local SMS gateway)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from argon2 import extract_parameters
from argon2.low_level import Type

from dracarys.clock import ManualClock
from dracarys.identity.passwords import common_passwords
from dracarys.settings import Settings
from tests.identity.conftest import (
    LINK,
    PASSWORD,
    Client,
    login,
    new_account,
    signup,
    unique_email,
)
from tests.messaging.simulators import SmsSimulator, SmtpSimulator
from tests.support import accounts_with_email, stored_contact
from workers.runtime import Worker


async def test_stored_password_hash_is_argon2id_with_owasp_minimum_parameters(
    client: Client, pool: asyncpg.Pool
) -> None:
    user_id, _ = await signup(client)
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.type is Type.ID
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert params.parallelism == 1
    assert PASSWORD not in stored


def test_common_password_list_ships_at_least_3000_entries() -> None:
    passwords = common_passwords()
    assert len(passwords) >= 3000
    assert {"123456", "password", "qwerty", "iloveyou", "password123"} <= passwords


async def test_common_passwords_are_rejected_whatever_their_case(client: Client) -> None:
    for password in ("password123", "Qwerty123456", "iloveyou1", "1q2w3e4r5t6y"):
        response = await client.post(
            "/api/v1/signup", json={"email": unique_email(), "password": password}
        )
        assert response.status_code == 422, password
        assert response.json()["errors"][0]["field"] == "password"


async def test_short_password_rejected_and_long_passphrase_accepted(client: Client) -> None:
    short = await client.post("/api/v1/signup", json={"email": unique_email(), "password": "Ab1!x"})
    assert short.status_code == 422
    passphrase = "a 64+ character passphrase: " + "tulips-in-nairobi-" * 5
    assert len(passphrase) >= 64
    email = unique_email()
    created = await client.post("/api/v1/signup", json={"email": email, "password": passphrase})
    assert created.status_code == 201
    assert (await login(client, email, passphrase)).status_code == 200


async def test_email_syntax_is_checked(client: Client) -> None:
    for bad in ("no-at-sign", "two@@example.com", "a@b", "space in@example.com", "x@-bad-.com"):
        response = await client.post("/api/v1/signup", json={"email": bad, "password": PASSWORD})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "email"


async def test_phone_is_normalised_to_e164_and_invalid_numbers_refused(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    user_id, _ = await signup(client, phone="+254 712 345 678")
    assert (await stored_contact(pool, settings, user_id)).phone == "+254712345678"
    for bad in ("0712345678", "+254 12", "not a number"):
        response = await client.post(
            "/api/v1/signup", json={"email": unique_email(), "password": PASSWORD, "phone": bad}
        )
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "phone"


async def test_twenty_concurrent_signups_with_one_email_create_exactly_one_account(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    email = unique_email("race")
    variants = [email if i % 2 else email.upper() for i in range(20)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/signup", json={"email": e, "password": PASSWORD}) for e in variants)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert await accounts_with_email(pool, settings, email) == 1


async def test_verification_mail_goes_through_smtp_and_its_link_verifies_once(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    user_id, email = await signup(client)
    (message,) = await smtp_server.wait_for(email)
    assert message["Subject"] == "Confirm your e-mail address for Dracarys"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match is not None
    path = f"/api/v1/verify-email?token={match['token']}"

    assert (await client.get(path)).status_code == 200
    verified = await pool.fetchval("SELECT email_verified_at FROM users WHERE id = $1", user_id)
    assert verified is not None
    emitted = await pool.fetchval(
        """SELECT count(*) FROM outbox
           WHERE topic = 'user.email_verified' AND payload->>'user_id' = $1""",
        str(user_id),
    )
    assert emitted == 1
    # Single use.
    assert (await client.get(path)).status_code == 422


async def test_verification_link_expires(
    client: Client, worker: Worker, smtp_server: SmtpSimulator, clock: ManualClock
) -> None:
    _, email = await signup(client)
    (message,) = await smtp_server.wait_for(email)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match is not None
    clock.advance(timedelta(hours=24, seconds=1))
    expired = await client.get(f"/api/v1/verify-email?token={match['token']}")
    assert expired.status_code == 422
    assert expired.json()["extra"]["reason"] == "expired"


async def test_phone_code_arrives_by_sms_and_verifies_the_number(
    client: Client,
    worker: Worker,
    sms_gateway: SmsSimulator,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    account = await new_account(client)
    number = "+254722000" + f"{abs(hash(account.email)) % 1000:03d}"
    requested = await client.post(
        "/api/v1/me/phone-verification", json={"phone": number}, headers=account.headers
    )
    assert requested.status_code == 202, requested.text
    sms = await sms_gateway.wait_for(number)
    code = next(word.rstrip(".") for word in sms["message"].split() if word.rstrip(".").isdigit())

    wrong = "000000" if code != "000000" else "111111"
    refused = await client.post(
        "/api/v1/me/phone-verification/confirm", json={"code": wrong}, headers=account.headers
    )
    assert refused.status_code == 422
    confirmed = await client.post(
        "/api/v1/me/phone-verification/confirm", json={"code": code}, headers=account.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    verified_at = await pool.fetchval(
        "SELECT phone_verified_at FROM users WHERE id = $1", account.id
    )
    assert (await stored_contact(pool, settings, account.id)).phone == number
    assert verified_at is not None


async def test_phone_code_is_locked_after_five_wrong_guesses(
    client: Client, worker: Worker, sms_gateway: SmsSimulator
) -> None:
    account = await new_account(client)
    number = "+254733000" + f"{abs(hash(account.email)) % 1000:03d}"
    await client.post(
        "/api/v1/me/phone-verification", json={"phone": number}, headers=account.headers
    )
    sms = await sms_gateway.wait_for(number)
    code = next(word.rstrip(".") for word in sms["message"].split() if word.rstrip(".").isdigit())
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await client.post(
            "/api/v1/me/phone-verification/confirm", json={"code": wrong}, headers=account.headers
        )
    late = await client.post(
        "/api/v1/me/phone-verification/confirm", json={"code": code}, headers=account.headers
    )
    assert late.status_code == 422


async def test_phone_codes_are_limited_to_one_a_minute_and_five_an_hour(
    client: Client, clock: ManualClock
) -> None:
    account = await new_account(client)
    number = "+254744000" + f"{abs(hash(account.email)) % 1000:03d}"
    url = "/api/v1/me/phone-verification"
    assert (
        await client.post(url, json={"phone": number}, headers=account.headers)
    ).status_code == 202
    assert (await client.post(url, json={}, headers=account.headers)).status_code == 429
    for _ in range(4):
        clock.advance(timedelta(seconds=61))
        assert (await client.post(url, json={}, headers=account.headers)).status_code == 202
    clock.advance(timedelta(seconds=61))
    assert (await client.post(url, json={}, headers=account.headers)).status_code == 429
    clock.advance(timedelta(hours=1))
    fresh = (await login(client, account.email)).json()["access_token"]
    again = await client.post(url, json={}, headers={"Authorization": f"Bearer {fresh}"})
    assert again.status_code == 202
