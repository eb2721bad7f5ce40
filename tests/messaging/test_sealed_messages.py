"""Messages at rest: the recipient and the rendered content are sealed to their message
and field under a key of their own, opened only to deliver (or by `list_messages`); the
content goes once the message is sent; an older database's plain messages are sealed by
the upgrade step; a refused delivery logs neither the address nor the number."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from cryptography.exceptions import InvalidTag

from dracarys.clock import ManualClock
from dracarys.crypto import outbound_message_cipher
from dracarys.db import Database, transaction
from dracarys.db.migrate import migrate
from dracarys.identity.personal import personal_data_cipher
from dracarys.messaging import (
    EmailTemplate,
    MessageContent,
    SmsTemplate,
    deliver_message,
    list_messages,
    queue_email,
    queue_sms,
    seal_plain_messages,
)
from dracarys.messaging.sealing import CONTENT, RECIPIENT
from dracarys.observability import configure_logging
from dracarys.outbox import Event
from dracarys.platform import Platform
from tests.conftest import database_migrated_without, make_settings
from tests.messaging.simulators import SmsSimulator, SmtpSimulator
from tests.support import tables_holding
from workers.runtime import Worker

SEALING_MIGRATION = 802

WELCOME = EmailTemplate(
    name="test_welcome",
    subject="Welcome, $name",
    text="Hello $name, your code is $code: $link",
    html="<p>Hello $name, your code is <b>$code</b>: $link</p>",
)
PHONE_CODE = SmsTemplate(
    name="phone_code",
    text="Your Dracarys verification code is $code. It expires in $minutes minutes.",
)


async def _raw_messages(pool: asyncpg.Pool) -> dict[uuid.UUID, asyncpg.Record]:
    return {r["id"]: r for r in await pool.fetch("SELECT * FROM outbound_messages")}


async def _wait_until_sent(pool: asyncpg.Pool, message_id: uuid.UUID) -> None:
    for _ in range(200):
        if await pool.fetchval("SELECT sent_at FROM outbound_messages WHERE id = $1", message_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"message {message_id} was not marked sent")


async def test_a_message_is_sealed_to_its_id_and_field_and_its_content_goes_once_sent(
    platform: Platform, worker: Worker, mail_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    to = f"Njeri.Wambui-{uuid.uuid4().hex[:6]}@example.com"
    number = "+2547" + f"{uuid.uuid4().int % 10**8:08d}"
    context = {"name": "Njeri Wambui", "code": "731904", "link": "https://x.test/v?t=s3cr3t"}
    # Queued in one transaction the worker cannot see until it commits.
    async with transaction(pool) as conn:
        mail_id = await queue_email(
            conn,
            platform.settings,
            to=to,
            template=WELCOME,
            context=context,
            now=platform.clock.now(),
        )
        sms_id = await queue_sms(
            conn,
            platform.settings,
            to=number,
            template=PHONE_CODE,
            context={"code": "482913", "minutes": 10},
            now=platform.clock.now(),
        )
        queued = await tables_holding_in(conn, [to, number, "Njeri Wambui", "731904", "s3cr3t"])
        assert queued == set(), queued
        opened = {m.id: m for m in await list_messages(conn, platform.settings)}
    mail, sms = opened[mail_id], opened[sms_id]
    assert (mail.channel, mail.recipient, sms.channel, sms.recipient) == (
        "email",
        to,
        "sms",
        number,
    )
    assert mail.content == MessageContent(
        subject="Welcome, Njeri Wambui",
        text="Hello Njeri Wambui, your code is 731904: https://x.test/v?t=s3cr3t",
        html="<p>Hello Njeri Wambui, your code is <b>731904</b>: https://x.test/v?t=s3cr3t</p>",
    )

    # Sent through the provider with the opened values...
    (delivered,) = await mail_server.wait_for(to)
    assert delivered["Subject"] == "Welcome, Njeri Wambui"
    assert "your code is 731904" in delivered.get_body(preferencelist=("plain",)).get_content()
    await _wait_until_sent(pool, mail_id)
    await _wait_until_sent(pool, sms_id)
    # ...after which only the sealed recipient is kept, as the record of it.
    rows = await _raw_messages(pool)
    assert rows[mail_id]["content_sealed"] is None
    assert rows[sms_id]["content_sealed"] is None
    async with pool.acquire() as conn:
        sent = {m.id: m for m in await list_messages(conn, platform.settings)}
    assert (sent[mail_id].recipient, sent[mail_id].content) == (to, None)
    assert sent[mail_id].provider_id
    assert sent[mail_id].sent_at is not None
    assert await tables_holding(pool, [to, number, "Njeri Wambui", "731904", "s3cr3t"]) == {}

    # Bound to its message and field, under a key of its own.
    cipher = outbound_message_cipher(platform.settings)
    sealed_to = bytes(rows[mail_id]["recipient_sealed"])
    assert sealed_to[0] == 1  # the key version
    assert cipher.open(mail_id, RECIPIENT, sealed_to) == to
    for record, field in ((sms_id, RECIPIENT), (mail_id, CONTENT)):
        with pytest.raises(InvalidTag):
            cipher.open(record, field, sealed_to)
    with pytest.raises(InvalidTag):
        personal_data_cipher(platform.settings).open(mail_id, RECIPIENT, sealed_to)
    # Copied onto the other message in the database, it does not open there either.
    await pool.execute(
        "UPDATE outbound_messages SET recipient_sealed = $2 WHERE id = $1", sms_id, sealed_to
    )
    async with pool.acquire() as conn:
        with pytest.raises(InvalidTag):
            await list_messages(conn, platform.settings, channel="sms")


async def tables_holding_in(conn: asyncpg.Connection, values: list[str]) -> set[str]:
    """`values` found in plain in any row of outbound_messages, read inside `conn`'s
    own transaction (rows not yet committed included)."""
    found = set()
    for row in await conn.fetch("SELECT r::text AS row FROM outbound_messages r"):
        found |= {v for v in values if v.lower() in row["row"].lower()}
    return found


# ---- an older database ----------------------------------------------------------------


async def test_an_older_databases_plain_messages_are_sealed_once_and_a_queued_one_still_goes(
    tmp_path: object, mail_server: SmtpSimulator, sms_server: SmsSimulator
) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    queued = [
        (uuid.uuid4(), "email", f"older-{i}-{uuid.uuid4().hex[:6]}@example.org", f"Older User {i}")
        for i in range(9)
    ]
    sent_id, sent_to = uuid.uuid4(), f"sent-{uuid.uuid4().hex[:6]}@example.org"
    sms_id, sms_to = uuid.uuid4(), "+254711" + f"{uuid.uuid4().int % 10**6:06d}"
    async with database_migrated_without({SEALING_MIGRATION}) as dsn:
        settings = make_settings(
            dsn,
            tmp_path,
            DRACARYS_SMTP_PORT=str(mail_server.port),
            DRACARYS_SMS_API_URL=sms_server.url,
            DRACARYS_SMS_USERNAME=sms_server.username,
            DRACARYS_SMS_API_KEY=sms_server.api_key,
        )
        conn = await asyncpg.connect(dsn)
        try:
            # As the code before migration 0802 wrote them.
            await conn.executemany(
                """INSERT INTO outbound_messages (id, channel, recipient, template, subject,
                       body_text, body_html, created_at, sent_at, provider_id)
                   VALUES ($1, $2, $3, 'test_welcome', $4, $5, $6, $7, $8, $9)""",
                [
                    (
                        m_id,
                        channel,
                        to,
                        f"Welcome, {name}",
                        f"Hello {name}",
                        f"<p>{name}</p>",
                        now,
                        None,
                        None,
                    )
                    for m_id, channel, to, name in queued
                ]
                + [
                    (
                        sent_id,
                        "email",
                        sent_to,
                        "Welcome, Sent Person",
                        "Hello Sent Person",
                        None,
                        now,
                        now,
                        "<sent@dracarys.local>",
                    ),
                    (sms_id, "sms", sms_to, "", "Your code is 100200", None, now, None, None),
                ],
            )
            await migrate(conn)
        finally:
            await conn.close()

        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=2)
        try:

            async def seal() -> int:
                async with pool.acquire() as sealer:
                    return await seal_plain_messages(sealer, settings, batch_size=4)

            assert sorted(await asyncio.gather(seal(), seal())) == [0, len(queued) + 2]
            before = await pool.fetch("SELECT * FROM outbound_messages ORDER BY id")
            async with pool.acquire() as again:
                assert await seal_plain_messages(again, settings) == 0
            assert await pool.fetch("SELECT * FROM outbound_messages ORDER BY id") == before
            assert await pool.fetchval(
                "SELECT convalidated FROM pg_constraint WHERE conname = 'outbound_messages_sealed'"
            )
            plain = [to for _, _, to, _ in queued] + [name for *_, name in queued]
            assert await tables_holding(pool, [*plain, sent_to, sms_to, "Sent Person"]) == {}

            async with pool.acquire() as reader:
                messages = {m.id: m for m in await list_messages(reader, settings)}
            assert (messages[sent_id].recipient, messages[sent_id].content) == (sent_to, None)
            assert messages[sms_id].content == MessageContent(
                subject="", text="Your code is 100200"
            )
            first_id, _, first_to, first_name = queued[0]
            assert messages[first_id].recipient == first_to

            # A message queued before the upgrade is still delivered, as it was written.
            platform = Platform(
                settings=settings, database=Database(pool=pool, dsn=dsn), clock=ManualClock()
            )
            for message_id, topic in ((first_id, "email.send"), (sms_id, "sms.send")):
                async with transaction(pool) as conn:
                    await deliver_message(
                        conn,
                        platform,
                        Event(
                            id=uuid.uuid4(),
                            topic=topic,
                            payload={"message_id": str(message_id)},
                            created_at=now,
                        ),
                    )
            (mail,) = await mail_server.wait_for(first_to)
            assert mail["Subject"] == f"Welcome, {first_name}"
            assert (await sms_server.wait_for(sms_to))["message"] == "Your code is 100200"
        finally:
            await pool.close()


# ---- logs -----------------------------------------------------------------------------


async def test_a_refused_delivery_logs_neither_the_address_nor_the_number(
    platform: Platform,
    mail_server: SmtpSimulator,
    sms_server: SmsSimulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    to = f"gone.away-{uuid.uuid4().hex[:6]}@example.com"
    number = "+2547" + f"{uuid.uuid4().int % 10**8:08d}"
    mail_server.inbox.unknown_mailboxes.add(to.lower())
    sms_server.failing = True
    configure_logging(msgspec.structs.replace(platform.settings, log_level="DEBUG"))
    capsys.readouterr()
    worker = Worker(platform)
    await worker.start()
    lines: list[str] = []
    try:
        async with transaction(platform.pool) as conn:
            await queue_email(
                conn,
                platform.settings,
                to=to,
                template=WELCOME,
                context={"name": "Gone Away", "code": "1", "link": "l"},
                now=platform.clock.now(),
            )
            await queue_sms(
                conn,
                platform.settings,
                to=number,
                template=PHONE_CODE,
                context={"code": "2", "minutes": 10},
                now=platform.clock.now(),
            )
        # The taskiq receiver logs each failed task with its traceback (the SMTP refusal
        # quotes the address), besides our own `consumer_failed` lines.
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            lines += capsys.readouterr().err.splitlines()
            failed = [line for line in lines if "Exception found while executing" in line]
            if len(failed) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await worker.stop()
        sms_server.failing = False
        mail_server.inbox.unknown_mailboxes.discard(to.lower())
    lines += capsys.readouterr().err.splitlines()
    output = "\n".join(lines)
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    tasks_failed = [e for e in entries if e["event"] == "Exception found while executing function."]
    assert len(tasks_failed) >= 2, output
    assert any("Recipient address rejected" in e.get("exception", "") for e in tasks_failed)
    assert "g***@example.com" in output
    for plain in (to, to.split("@")[0], number, number[1:], "Gone Away"):
        assert plain not in output, plain
