"""Outbox-driven delivery: a queued mail or SMS leaves only when its transaction commits,
reaches the provider in its wire format, and a redelivered send event sends nothing twice."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from datetime import timedelta

import asyncpg
import msgspec
import pytest

from dracarys.clock import ManualClock
from dracarys.db import transaction
from dracarys.errors import ServiceUnavailable
from dracarys.messaging import (
    EmailTemplate,
    SmsTemplate,
    deliver_message,
    outbound_directory,
    queue_email,
    queue_sms,
    render_email,
    requeue_unsent,
)
from dracarys.messaging.adapters import SmsGateway
from dracarys.messaging.service import MAX_REQUEUES, REQUEUE_AFTER
from dracarys.outbox import Event
from dracarys.platform import Platform
from tests.messaging.simulators import SmsSimulator, SmtpSimulator
from workers.runtime import Worker

POINTS_AWARDED = EmailTemplate(
    name="test_points_awarded",
    subject="You earned $points points",
    text="Hi $name, $points points for $reason.",
    html="<p>Hi $name, <b>$points</b> points for $reason.</p>",
)
PHONE_CODE = SmsTemplate(
    name="phone_code",
    text="Your Dracarys verification code is $code. It expires in $minutes minutes.",
)


def test_templates_escape_html_but_not_the_text_part() -> None:
    rendered = render_email(
        POINTS_AWARDED, {"name": "<script>x</script>", "points": 10, "reason": "a & b"}
    )
    assert rendered.subject == "You earned 10 points"
    assert "<script>x</script>" in rendered.text
    assert rendered.html is not None
    assert "&lt;script&gt;" in rendered.html
    assert "<script>" not in rendered.html


def test_a_missing_template_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        render_email(POINTS_AWARDED, {"name": "Ann"})


async def test_queued_mail_is_sent_over_smtp_after_commit(
    platform: Platform, worker: Worker, mail_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    to = f"mail-{uuid.uuid4().hex[:8]}@example.com"
    async with transaction(pool) as conn:
        message_id = await queue_email(
            conn,
            platform.settings,
            to=to,
            template=POINTS_AWARDED,
            context={"name": "Wanjiru", "points": 25, "reason": "your first session"},
            now=platform.clock.now(),
        )
    (mail,) = await mail_server.wait_for(to)
    assert mail["Subject"] == "You earned 25 points"
    assert mail["X-Dracarys-Message"] == str(message_id)
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    assert "<b>25</b>" in html.get_content()
    # The consumer marks the message sent when its transaction commits, just after SMTP.
    for _ in range(100):
        sent_at = await pool.fetchval(
            "SELECT sent_at FROM outbound_messages WHERE id = $1", message_id
        )
        if sent_at is not None:
            break
        await asyncio.sleep(0.05)
    assert sent_at is not None


async def test_rolled_back_transaction_sends_nothing(
    platform: Platform, worker: Worker, mail_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    to = f"never-{uuid.uuid4().hex[:8]}@example.com"
    with pytest.raises(RuntimeError):
        async with transaction(pool) as conn:
            await queue_email(
                conn,
                platform.settings,
                to=to,
                template=POINTS_AWARDED,
                context={"name": "A", "points": 1, "reason": "r"},
                now=platform.clock.now(),
            )
            raise RuntimeError("the business change failed")
    control = f"control-{uuid.uuid4().hex[:8]}@example.com"
    async with transaction(pool) as conn:
        await queue_email(
            conn,
            platform.settings,
            to=control,
            template=POINTS_AWARDED,
            context={"name": "B", "points": 2, "reason": "r"},
            now=platform.clock.now(),
        )
    await mail_server.wait_for(control)
    assert mail_server.to(to) == []


async def test_redelivered_send_event_does_not_send_twice(
    platform: Platform, mail_server: SmtpSimulator, pool: asyncpg.Pool
) -> None:
    to = f"once-{uuid.uuid4().hex[:8]}@example.com"
    async with transaction(pool) as conn:
        message_id = await queue_email(
            conn,
            platform.settings,
            to=to,
            template=POINTS_AWARDED,
            context={"name": "C", "points": 3, "reason": "r"},
            now=platform.clock.now(),
        )
    event = Event(
        id=uuid.uuid4(),
        topic="email.send",
        payload={"message_id": str(message_id)},
        created_at=platform.clock.now(),
    )
    for _ in range(2):
        async with transaction(pool) as conn:
            await deliver_message(conn, platform, event)
    await mail_server.wait_for(to)
    assert len(mail_server.to(to)) == 1


async def test_with_outbound_files_mail_and_sms_are_written_once_and_nothing_is_sent(
    platform: Platform, mail_server: SmtpSimulator, sms_server: SmsSimulator, pool: asyncpg.Pool
) -> None:
    files = Platform(
        settings=msgspec.structs.replace(platform.settings, outbound="files"),
        database=platform.database,
        clock=platform.clock,
    )
    to = f"drop-{uuid.uuid4().hex[:8]}@example.com"
    async with transaction(pool) as conn:
        mail_id = await queue_email(
            conn,
            platform.settings,
            to=to,
            template=POINTS_AWARDED,
            context={"name": "Achieng", "points": 7, "reason": "a lesson"},
            now=platform.clock.now(),
        )
        sms_id = await queue_sms(
            conn,
            platform.settings,
            to="+254700000009",
            template=PHONE_CODE,
            context={"code": "123456", "minutes": 10},
            now=platform.clock.now(),
        )
    for message_id, topic in (
        (mail_id, "email.send"),
        (sms_id, "sms.send"),
        (mail_id, "email.send"),
    ):
        event = Event(
            id=uuid.uuid4(),
            topic=topic,
            payload={"message_id": str(message_id)},
            created_at=platform.clock.now(),
        )
        async with transaction(pool) as conn:
            await deliver_message(conn, files, event)
    directory = outbound_directory(files.settings)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{mail_id}.eml", f"{sms_id}.sms.txt"]
    )
    mail = email.message_from_bytes(
        (directory / f"{mail_id}.eml").read_bytes(), policy=email.policy.default
    )
    assert (mail["To"], mail["Subject"]) == (to, "You earned 7 points")
    assert mail["X-Dracarys-Message"] == str(mail_id)
    html = mail.get_body(preferencelist=("html",))
    assert html is not None
    assert "<b>7</b>" in html.get_content()
    assert (directory / f"{sms_id}.sms.txt").read_text() == (
        "To: +254700000009\n\n"
        "Your Dracarys verification code is 123456. It expires in 10 minutes.\n"
    )
    rows = await pool.fetch(
        "SELECT id, provider_id, sent_at FROM outbound_messages WHERE id = ANY($1::uuid[])",
        [mail_id, sms_id],
    )
    assert {r["id"]: r["provider_id"] for r in rows} == {
        mail_id: f"file:{mail_id}.eml",
        sms_id: f"file:{sms_id}.sms.txt",
    }
    assert all(r["sent_at"] is not None for r in rows)
    assert mail_server.to(to) == []


async def test_sms_goes_to_the_gateway_with_credentials_and_sender_id(
    platform: Platform, worker: Worker, sms_server: SmsSimulator
) -> None:
    number = "+2547" + f"{uuid.uuid4().int % 10**8:08d}"
    async with transaction(platform.pool) as conn:
        await queue_sms(
            conn,
            platform.settings,
            to=number,
            template=PHONE_CODE,
            context={"code": "482913", "minutes": 10},
            now=platform.clock.now(),
        )
    sms = await sms_server.wait_for(number)
    assert sms["message"] == "Your Dracarys verification code is 482913. It expires in 10 minutes."
    assert sms["from"] == "DRACARYS"


async def test_gateway_refusals_and_bad_credentials_raise_for_retry(
    platform: Platform, sms_server: SmsSimulator
) -> None:
    import msgspec

    bad_key = msgspec.structs.replace(platform.settings, sms_api_key="wrong")
    with pytest.raises(ServiceUnavailable):
        await SmsGateway(bad_key).send(to="+254700000001", text="x")
    sms_server.failing = True
    try:
        with pytest.raises(ServiceUnavailable):
            await SmsGateway(platform.settings).send(to="+254700000002", text="x")
    finally:
        sms_server.failing = False
    unconfigured = msgspec.structs.replace(platform.settings, sms_api_url="")
    with pytest.raises(ServiceUnavailable):
        await SmsGateway(unconfigured).send(to="+254700000003", text="x")


async def test_a_lost_delivery_is_requeued_by_the_sweeper_and_sent_once(
    platform: Platform, mail_server: SmtpSimulator, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    to = f"lost-{uuid.uuid4().hex[:8]}@example.com"
    async with transaction(pool) as conn:
        message_id = await queue_email(
            conn,
            platform.settings,
            to=to,
            template=POINTS_AWARDED,
            context={"name": "D", "points": 4, "reason": "r"},
            now=clock.now(),
        )
    # The relay published the event but its delivery task gave up (e.g. SMTP was down).
    await pool.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
    async with transaction(pool) as conn:
        assert await requeue_unsent(conn, clock.now()) == 0  # too early to call it lost
    clock.advance(REQUEUE_AFTER + timedelta(seconds=1))
    async with transaction(pool) as conn:
        assert await requeue_unsent(conn, clock.now()) == 1
    running = Worker(platform)
    await running.start()
    try:
        await mail_server.wait_for(to)
        for _ in range(100):
            if await pool.fetchval(
                "SELECT sent_at FROM outbound_messages WHERE id = $1", message_id
            ):
                break
            await asyncio.sleep(0.05)
    finally:
        await running.stop()
    async with transaction(pool) as conn:
        assert await requeue_unsent(conn, clock.now()) == 0  # sent: nothing to requeue
    assert len(mail_server.to(to)) == 1


async def test_the_sweeper_gives_up_after_the_maximum_requeues(
    platform: Platform, pool: asyncpg.Pool, clock: ManualClock
) -> None:
    async with transaction(pool) as conn:
        await queue_email(
            conn,
            platform.settings,
            to="nowhere@example.com",
            template=POINTS_AWARDED,
            context={"name": "E", "points": 5, "reason": "r"},
            now=clock.now(),
        )
    clock.advance(REQUEUE_AFTER + timedelta(seconds=1))
    counts = []
    for _ in range(MAX_REQUEUES + 2):
        async with transaction(pool) as conn:
            counts.append(await requeue_unsent(conn, clock.now()))
    assert counts == [1] * MAX_REQUEUES + [0, 0]
