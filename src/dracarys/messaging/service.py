"""Queueing and delivering messages. Domains call `queue_email` / `queue_sms` inside
their own transaction; the message leaves only if that transaction commits, through the
`email.send` / `sms.send` outbox events handled by `deliver_message`."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog

from dracarys.db import Connection
from dracarys.messaging import store
from dracarys.messaging.adapters import OutboundFiles, SmsGateway, SmtpMailer, email_message
from dracarys.messaging.events import EMAIL_SEND, SMS_SEND
from dracarys.messaging.templates import render_email, render_sms
from dracarys.outbox import DeliveryBinding, Event, emit
from dracarys.platform import Platform

log = structlog.get_logger("dracarys.messaging")

# A message still unsent this long after it was queued is assumed lost (its delivery task
# ran out of retries, e.g. during a long SMTP outage) and is put back on the outbox.
REQUEUE_AFTER = timedelta(minutes=10)
MAX_REQUEUES = 5

# Outbox consumers receive (conn, event) only; the worker binds its platform here while
# it delivers a batch, which is how a consumer reaches settings and the clock.
_delivery_platform = DeliveryBinding[Platform]("platform")


def delivering_for(platform: Platform) -> contextlib.AbstractContextManager[None]:
    return _delivery_platform.bound(platform)


def delivery_platform() -> Platform:
    return _delivery_platform.get()


async def queue_email(
    conn: Connection,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    now: datetime,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    rendered = render_email(template, context)
    message_id = uuid.uuid4()
    await store.insert_message(
        conn,
        message_id=message_id,
        channel="email",
        user_id=user_id,
        recipient=to,
        template=template,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        now=now,
    )
    await emit(conn, EMAIL_SEND, {"message_id": str(message_id)})
    return message_id


async def queue_sms(
    conn: Connection,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    now: datetime,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    message_id = uuid.uuid4()
    await store.insert_message(
        conn,
        message_id=message_id,
        channel="sms",
        user_id=user_id,
        recipient=to,
        template=template,
        subject="",
        body_text=render_sms(template, context),
        body_html=None,
        now=now,
    )
    await emit(conn, SMS_SEND, {"message_id": str(message_id)})
    return message_id


async def deliver_message(conn: Connection, event: Event) -> None:
    """Consumer of `email.send` and `sms.send`. A provider failure raises, so the task
    is retried; a message already marked sent is skipped."""
    platform = delivery_platform()
    message_id = uuid.UUID(str(event.payload["message_id"]))
    row = await store.message_for_update(conn, message_id)
    if row is None or row["sent_at"] is not None:
        return
    settings = platform.settings
    to_files = settings.outbound == "files"
    if row["channel"] == "email":
        message = email_message(
            settings,
            message_id=message_id,
            to=row["recipient"],
            subject=row["subject"],
            text=row["body_text"],
            html=row["body_html"],
        )
        if to_files:
            provider_id = await OutboundFiles(settings).write_email(message_id, message)
        else:
            provider_id = await SmtpMailer(settings).send(message)
    elif to_files:
        provider_id = await OutboundFiles(settings).write_sms(
            message_id, row["recipient"], row["body_text"]
        )
    else:
        provider_id = await SmsGateway(settings).send(to=row["recipient"], text=row["body_text"])
    await store.mark_sent(conn, message_id, provider_id, platform.clock.now())
    log.info("message_sent", channel=row["channel"], template=row["template"])


async def requeue_unsent(conn: Connection, now: datetime, *, limit: int = 500) -> int:
    """The safety net behind the consumer's retries: emit a fresh send event for every
    message unsent after `REQUEUE_AFTER`, at most `MAX_REQUEUES` times each. Delivery
    skips messages already sent, so a requeue never sends twice."""
    claimed = await store.claim_unsent(
        conn, created_before=now - REQUEUE_AFTER, max_requeues=MAX_REQUEUES, limit=limit
    )
    for row in claimed:
        topic = EMAIL_SEND if row["channel"] == "email" else SMS_SEND
        await emit(conn, topic, {"message_id": str(row["id"])})
    if claimed:
        log.warning("messages_requeued", count=len(claimed))
    return len(claimed)
