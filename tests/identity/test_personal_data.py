"""Personal data at rest (blueprint §9): e-mail, name, phone and postal address are sealed
with AES-256-GCM bound to their user and field, e-mail and phone are found and kept unique
through keyed blind indexes, an older database's plain values are sealed by the step after
the migrations, and logs and audit entries mask addresses and numbers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
import structlog
from cryptography.exceptions import InvalidTag

from dracarys.app import create_app
from dracarys.clock import ManualClock
from dracarys.db.migrate import discover_migrations, migrate
from dracarys.identity import Role, contacts_of
from dracarys.identity.audit.service import verify_audit_chain
from dracarys.identity.passwords import hash_password
from dracarys.identity.personal import (
    EMAIL,
    NAME,
    OIDC_EMAIL,
    personal_data_cipher,
    seal_plain_personal_data,
)
from dracarys.observability import configure_logging
from dracarys.payments.sandbox import DarajaSimulator, StripeSimulator, serve
from dracarys.platform import Platform
from dracarys.settings import Settings
from tests.conftest import ADMIN_DSN, dsn_for, make_settings
from tests.identity.conftest import (
    PASSWORD,
    Client,
    login,
    new_account,
    signup,
    simulators_env,
    staff_account,
    unique_email,
)
from tests.identity.oidc_simulator import OidcProviderSimulator
from tests.messaging.simulators import SmsSimulator, SmtpSimulator
from tests.support import AppClient, stored_contact, tables_holding
from tests.wallet.simulators import provider_env
from workers.runtime import Worker

SEALING_MIGRATION = 120
SEALED_CONSTRAINTS = (
    "users_personal_data_sealed",
    "email_verification_tokens_sealed",
    "phone_verification_codes_sealed",
    "oidc_identities_sealed",
)


@pytest.fixture(scope="module")
def payment_providers() -> Iterator[tuple[DarajaSimulator, dict[str, str]]]:
    """Stripe and Daraja simulators, for the one person's payments the scan covers."""
    stripe, daraja = StripeSimulator(), DarajaSimulator()
    with serve(stripe.app()) as stripe_url, serve(daraja.app()) as daraja_url:
        yield daraja, provider_env(stripe, stripe_url, daraja, daraja_url)


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    smtp_server: SmtpSimulator,
    sms_gateway: SmsSimulator,
    oidc_server: OidcProviderSimulator,
    payment_providers: tuple[DarajaSimulator, dict[str, str]],
) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        **simulators_env(smtp_server, sms_gateway, oidc_server),
        **payment_providers[1],
    )


async def _created(response: Any) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


async def test_no_table_holds_a_users_contact_address_or_payment_details_in_plain(
    client: Client,
    worker: Worker,
    pool: asyncpg.Pool,
    smtp_server: SmtpSimulator,
    sms_gateway: SmsSimulator,
    payment_providers: tuple[DarajaSimulator, dict[str, str]],
) -> None:
    daraja = payment_providers[0]
    email = f"Wanjiru.Kamau-{uuid.uuid4().hex[:6]}@Example.com"
    name = "Wanjiru Kamau-Odhiambo"
    phone = "+254722417093"
    address = {
        "line1": "14 Riverside Lane",
        "line2": "Lakeview Apartment 7B",
        "city": "Kisumu",
        "region": "Nyanza Province",
        "postal_code": "40100",
    }
    bank_account = f"KCB 0011223344 {name}"
    # The SMS gateway refuses for now: the code's SMS stays queued while the mail goes.
    sms_gateway.failing = True
    try:
        account = await new_account(client, email=email, name=name, phone=phone)
        patched = await client.patch(
            f"/api/v1/users/{account.id}/profile",
            json={"address": address},
            headers=account.headers,
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["address"] == address
        # A verification code for a second number: the code row and the new number too.
        second_phone = "+254733918264"
        requested = await client.post(
            "/api/v1/me/phone-verification", json={"phone": second_phone}, headers=account.headers
        )
        assert requested.status_code == 202, requested.text
        (mail,) = await smtp_server.wait_for(email.lower())
        assert name in mail.get_body(preferencelist=("plain",)).get_content()
        for _ in range(200):  # the sign-up mail sent and marked so; the SMS still queued
            unsent = {
                r["channel"]: r["count"]
                for r in await pool.fetch(
                    """SELECT channel, count(*) FROM outbound_messages WHERE sent_at IS NULL
                       GROUP BY channel"""
                )
            }
            if unsent == {"sms": 1}:
                break
            await asyncio.sleep(0.05)
        assert unsent == {"sms": 1}

        # Payments: an M-Pesa top-up from their phone, confirmed by Daraja's callback (which
        # names the number), an M-Pesa payout to the second number (whose result names its
        # receiver as M-Pesa has them registered), and a bank payout to their account.
        await pool.execute("UPDATE users SET kyc_level = 2 WHERE id = $1", account.id)
        daraja.registered_names["254733918264"] = name
        wallet = f"/api/v1/wallets/{account.id}"
        deposit = await _created(
            await client.post(
                f"{wallet}/deposits",
                json={
                    "method": "mpesa",
                    "amount_minor": 500_000,
                    "currency": "KES",
                    "phone": phone,
                    "idempotency_key": "scan-deposit-1",
                },
                headers=account.headers,
            )
        )
        path, callback = daraja.stk_callback(deposit["provider_ref"])
        assert (await client.post(path, json=callback)).status_code == 200
        payouts = [
            await _created(
                await client.post(
                    f"{wallet}/withdraw",
                    json={
                        "amount_minor": 100_000,
                        "currency": "KES",
                        "method": method,
                        "destination": destination,
                        "idempotency_key": f"scan-withdraw-{method}",
                    },
                    headers=account.headers,
                )
            )
            for method, destination in (("mpesa", "0733 918 264"), ("bank", bank_account))
        ]
        originator = await pool.fetchval(
            "SELECT originator_conversation_id FROM payouts WHERE id = $1",
            uuid.UUID(payouts[0]["id"]),
        )
        path, result = daraja.b2c_result(originator)
        assert (await client.post(path, json=result)).status_code == 200
        paid = await client.get(f"/api/v1/payouts/{payouts[0]['id']}", headers=account.headers)
        assert paid.json()["status"] == "completed"

        plain = [email, email.lower(), name, phone, second_phone, *list(address.values())[:4]]
        # The numbers also as M-Pesa writes them (no plus), and the bank account.
        plain += [phone[1:], second_phone[1:], "0011223344"]
        assert await tables_holding(pool, plain) == {}
    finally:
        sms_gateway.failing = False
    me = (await client.get("/api/v1/me", headers=account.headers)).json()
    assert (me["email"], me["name"], me["phone"]) == (
        email.split("@")[0] + "@example.com",
        name,
        second_phone,
    )


async def test_sign_in_finds_the_account_by_its_email_in_any_case(client: Client) -> None:
    email = f"Amina.Njeri-{uuid.uuid4().hex[:6]}@Example.COM"
    await signup(client, email=email)
    for spelling in (email, email.lower(), email.upper(), f"  {email}  "):
        response = await login(client, spelling)
        assert response.status_code == 200, (spelling, response.text)
    assert (await login(client, "nobody-" + email)).status_code == 401
    refused = await client.post(
        "/api/v1/signup", json={"email": email.swapcase(), "password": PASSWORD}
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "email"


async def test_a_phone_number_belongs_to_one_account_only(client: Client) -> None:
    phone = "+254711" + f"{uuid.uuid4().int % 1_000_000:06d}"
    await signup(client, phone=phone)
    taken = await client.post(
        "/api/v1/signup", json={"email": unique_email(), "password": PASSWORD, "phone": phone}
    )
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "phone"
    other = await new_account(client)
    claimed = await client.post(
        "/api/v1/me/phone-verification", json={"phone": phone}, headers=other.headers
    )
    assert claimed.status_code == 409
    assert claimed.json()["errors"][0]["field"] == "phone"


async def test_the_postal_address_is_shown_to_its_owner_only_and_needs_a_street_and_city(
    client: Client,
) -> None:
    owner = await new_account(client)
    stranger = await new_account(client)
    url = f"/api/v1/users/{owner.id}/profile"
    address = {"line1": " 3 Moi Avenue ", "city": "Mombasa", "postal_code": "80100"}
    saved = await client.patch(url, json={"address": address}, headers=owner.headers)
    assert saved.status_code == 200, saved.text
    expected = {**address, "line1": "3 Moi Avenue", "line2": "", "region": ""}
    own = await client.get(f"/api/v1/users/{owner.id}", headers=owner.headers)
    assert own.json()["address"] == expected
    public = await client.get(f"/api/v1/users/{owner.id}", headers=stranger.headers)
    assert public.status_code == 200
    assert "address" not in public.json()

    for body, field in (
        ({"line1": "   ", "city": "Mombasa"}, "address.line1"),
        ({"line1": "3 Moi Avenue", "city": " "}, "address.city"),
        ({"line1": "3 Moi Avenue", "city": "Mombasa", "country": "KE"}, "address.country"),
    ):
        refused = await client.patch(url, json={"address": body}, headers=owner.headers)
        assert refused.status_code == 422, body
        assert refused.json()["errors"][0]["field"] == field, refused.json()
    again = await client.get(f"/api/v1/users/{owner.id}", headers=owner.headers)
    assert again.json()["address"] == expected


async def test_a_sealed_value_opens_only_as_the_field_of_the_user_it_was_sealed_for(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    first = await new_account(client, name="Baraka Otieno")
    second = await new_account(client, name="Baraka Otieno")
    rows = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, name_sealed, email_sealed, email_index FROM users WHERE id = ANY($1)",
            [first.id, second.id],
        )
    }
    cipher = personal_data_cipher(settings)
    sealed_name = bytes(rows[first.id]["name_sealed"])
    assert sealed_name[0] == 1  # the key version, so keys can rotate
    assert cipher.open(first.id, NAME, sealed_name) == "Baraka Otieno"
    # The same name seals differently (random nonce) and is bound to its user and field.
    assert sealed_name != bytes(rows[second.id]["name_sealed"])
    with pytest.raises(InvalidTag):
        cipher.open(second.id, NAME, sealed_name)
    with pytest.raises(InvalidTag):
        cipher.open(first.id, EMAIL, sealed_name)
    # Copied onto another account in the database, it does not open there either.
    await pool.execute("UPDATE users SET name_sealed = $2 WHERE id = $1", second.id, sealed_name)
    async with pool.acquire() as conn:
        with pytest.raises(InvalidTag):
            await contacts_of(conn, settings, [second.id])
    # The blind index is keyed: not the plain hash anyone could compute from the address.
    index = bytes(rows[first.id]["email_index"])
    assert index == cipher.email_index(first.email.upper())
    another_secret = msgspec.structs.replace(settings, secret_key="another-key-" + "y" * 32)
    other_key = personal_data_cipher(another_secret)
    assert index != other_key.email_index(first.email)


async def test_admin_free_text_in_the_audit_log_and_log_lines_mask_addresses_and_numbers(
    client: Client,
    pool: asyncpg.Pool,
    clock: ManualClock,
    platform: Platform,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = await staff_account(client, pool, clock, Role.ADMIN)
    target = await new_account(client)
    reason = "spam sent from Amina.Njeri@example.com and +254 712 345 678"
    banned = await client.post(
        f"/api/v1/admin/users/{target.id}/ban", json={"reason": reason}, headers=admin.headers
    )
    assert banned.status_code == 200, banned.text
    details = await pool.fetchval(
        "SELECT details FROM audit_log WHERE action = 'admin.ban' AND target = $1",
        f"user:{target.id}",
    )
    assert details["reason"] == "spam sent from A***@example.com and +254*******78"
    assert (await verify_audit_chain(platform)).ok

    configure_logging(settings)
    capsys.readouterr()
    log = structlog.get_logger("tests.personal_data")
    log.warning("mail_refused", to="amina.njeri@example.com", sms=["+254712345678"])
    try:
        raise RuntimeError("550 <baraka.otieno@example.co.ke> mailbox unavailable")
    except RuntimeError:
        log.exception("delivery_failed")
    logged = {}
    for line in capsys.readouterr().err.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            logged[entry["event"]] = entry
    refused, failed = logged["mail_refused"], logged["delivery_failed"]
    assert refused["to"] == "a***@example.com"
    assert refused["sms"] == ["+254*******78"]
    assert "baraka.otieno" not in failed["exception"]
    assert "b***@example.co.ke" in failed["exception"]


# ---- an older database ----------------------------------------------------------------


@pytest.fixture
async def database_before_sealing() -> AsyncIterator[str]:
    """A database migrated as an older version left it, before migration 0120."""
    name = f"dracarys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn_for(name))
    try:
        await migrate(conn, [m for m in discover_migrations() if m.version < SEALING_MIGRATION])
    finally:
        await conn.close()
    yield dsn_for(name)
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def older_people(count: int) -> list[tuple[uuid.UUID, str, str, str | None]]:
    return [
        (
            uuid.uuid4(),
            f"Older.User{i}-{uuid.uuid4().hex[:6]}@Example.org",
            f"Older User {i}",
            f"+2547{i:08d}" if i % 3 else None,
        )
        for i in range(count)
    ]


async def insert_plain_users(
    conn: asyncpg.Connection, people: list[tuple[uuid.UUID, str, str, str | None]]
) -> None:
    """As the pre-0120 code wrote them."""
    password_hash = await hash_password(PASSWORD)
    await conn.executemany(
        """INSERT INTO users (id, email, name, phone, password_hash, email_verified_at)
           VALUES ($1, $2, $3, $4, $5, now())""",
        [(*person, password_hash) for person in people],
    )
    await conn.executemany(
        "INSERT INTO user_profiles (user_id) VALUES ($1)", [(p[0],) for p in people]
    )


async def test_an_older_database_is_sealed_at_start_and_its_users_still_sign_in(
    database_before_sealing: str, tmp_path: Path
) -> None:
    people = older_people(7)
    user_id, email, _, phone = people[1]
    conn = await asyncpg.connect(database_before_sealing)
    try:
        await insert_plain_users(conn, people)
        await conn.execute(
            """INSERT INTO email_verification_tokens (token_hash, user_id, email, expires_at)
               VALUES ($1, $2, $3, now() + interval '1 day')""",
            b"t" * 32,
            user_id,
            email,
        )
        await conn.execute(
            """INSERT INTO phone_verification_codes (id, user_id, phone, code_hash, expires_at)
               VALUES ($1, $2, $3, $4, now() + interval '10 minutes')""",
            uuid.uuid4(),
            user_id,
            phone,
            b"c" * 32,
        )
        await conn.execute(
            """INSERT INTO oidc_identities (provider, subject, user_id, email, linked_at)
               VALUES ('google', 'g-older', $1, $2, now())""",
            user_id,
            email,
        )
    finally:
        await conn.close()

    settings = make_settings(database_before_sealing, tmp_path)
    # The embedded start: migrations, then the sealing step, before the first request.
    async with AppClient(create_app(settings, run_migrations=True)) as client:
        for _, their_email, _, _ in people:
            response = await login(client, their_email.lower())
            assert response.status_code == 200, response.text
        body = (await login(client, email)).json()
        me = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert (me.json()["email"], me.json()["phone"]) == (email, phone)
        taken = await client.post(
            "/api/v1/signup", json={"email": email.upper(), "password": PASSWORD}
        )
        assert taken.status_code == 409

    pool = await asyncpg.create_pool(database_before_sealing, min_size=1, max_size=2)
    try:
        plain = [value for person in people for value in person[1:] if value]
        assert await tables_holding(pool, plain) == {}
        validated = await pool.fetch(
            "SELECT conname, convalidated FROM pg_constraint WHERE conname = ANY($1)",
            list(SEALED_CONSTRAINTS),
        )
        assert {r["conname"]: r["convalidated"] for r in validated} == dict.fromkeys(
            SEALED_CONSTRAINTS, True
        )
        cipher = personal_data_cipher(settings)
        token_index = await pool.fetchval("SELECT email_index FROM email_verification_tokens")
        code_index = await pool.fetchval("SELECT phone_index FROM phone_verification_codes")
        assert phone is not None
        assert (token_index, code_index) == (cipher.email_index(email), cipher.phone_index(phone))
        oidc_email = await pool.fetchval("SELECT email_sealed FROM oidc_identities")
        assert cipher.open(user_id, OIDC_EMAIL, oidc_email) == email
    finally:
        await pool.close()


async def test_two_sealers_at_once_seal_every_plain_row_once_in_batches(
    database_before_sealing: str, tmp_path: Path
) -> None:
    people = older_people(25)
    settings = make_settings(database_before_sealing, tmp_path)
    conn = await asyncpg.connect(database_before_sealing)
    try:
        await insert_plain_users(conn, people)
        await migrate(conn)
        # From migration 0120 on, no row may be written with a plain value beside its seal.
        new_id = uuid.uuid4()
        sealed = personal_data_cipher(settings).seal_contact(
            new_id, email="new@example.com", name="New", phone=None
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                """INSERT INTO users (id, email_sealed, email_index, name_sealed, plain_email)
                   VALUES ($1, $2, $3, $4, 'new@example.com')""",
                new_id,
                sealed.email_sealed,
                sealed.email_index,
                sealed.name_sealed,
            )
    finally:
        await conn.close()

    pool = await asyncpg.create_pool(database_before_sealing, min_size=2, max_size=2)
    try:

        async def seal() -> int:
            async with pool.acquire() as sealer:
                return await seal_plain_personal_data(sealer, settings, batch_size=4)

        assert sorted(await asyncio.gather(seal(), seal())) == [0, 25]
        sealed_before = await pool.fetch("SELECT * FROM users ORDER BY id")
        async with pool.acquire() as again:
            assert await seal_plain_personal_data(again, settings) == 0
        assert await pool.fetch("SELECT * FROM users ORDER BY id") == sealed_before
        async with pool.acquire() as reader:
            contacts = await contacts_of(reader, settings, [p[0] for p in people])
        assert {user_id: (c.email, c.name, c.phone) for user_id, c in contacts.items()} == {
            user_id: (email, name, phone) for user_id, email, name, phone in people
        }
        assert all(
            r["plain_email"] is None and r["plain_name"] is None and r["plain_phone"] is None
            for r in sealed_before
        )
    finally:
        await pool.close()


async def test_a_test_account_is_written_sealed_like_any_other(
    make_user: object, pool: asyncpg.Pool, settings: Settings
) -> None:
    user = await make_user(role=Role.MENTOR, phone="+254700999111")  # type: ignore[operator]
    contact = await stored_contact(pool, settings, user.id)
    assert (contact.email, contact.name, contact.phone) == (
        user.email,
        "Test Mentor",
        "+254700999111",
    )
