"""Queueing and delivering messages. Domains call `queue_email` / `queue_sms` inside
their own transaction, with a template of their own; the message leaves only if that
transaction commits, through the `email.send` / `sms.send` outbox events handled by
`deliver_message`. Recipients and contents are stored sealed (`sealing`), opened to
deliver and by `list_messages`; once sent, a message keeps only its sealed recipient,
template name, times and provider id."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog

from dracarys.crypto import outbound_message_cipher
from dracarys.db import Connection
from dracarys.messaging import store
from dracarys.messaging.adapters import OutboundFiles, SmsGateway, SmtpMailer, email_message
from dracarys.messaging.events import MessageQueued, send_event
from dracarys.messaging.models import MessageContent, OutboundMessage
from dracarys.messaging.sealing import open_message, seal_content, seal_recipient
from dracarys.messaging.templates import EmailTemplate, SmsTemplate, render_email, render_sms
from dracarys.outbox import Event, emit_event
from dracarys.platform import Platform
from dracarys.settings import Settings

log = structlog.get_logger("dracarys.messaging")

# A message still unsent this long after it was queued is assumed lost (its delivery task
# ran out of retries, e.g. during a long SMTP outage) and is put back on the outbox.
REQUEUE_AFTER = timedelta(minutes=10)
MAX_REQUEUES = 5


async def queue_email(
    conn: Connection,
    settings: Settings,
    *,
    to: str,
    template: EmailTemplate,
    context: dict[str, Any],
    now: datetime,
    user_id: uuid.UUID | None = None,
    headers: dict[str, str] | None = None,
) -> uuid.UUID:
    rendered = render_email(template, context)
    content = MessageContent(
        subject=rendered.subject, text=rendered.text, html=rendered.html, headers=headers or {}
    )
    return await _queue(
        conn,
        settings,
        "email",
        to=to,
        template=template.name,
        content=content,
        now=now,
        user_id=user_id,
    )


async def queue_sms(
    conn: Connection,
    settings: Settings,
    *,
    to: str,
    template: SmsTemplate,
    context: dict[str, Any],
    now: datetime,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    content = MessageContent(subject="", text=render_sms(template, context))
    return await _queue(
        conn,
        settings,
        "sms",
        to=to,
        template=template.name,
        content=content,
        now=now,
        user_id=user_id,
    )


async def _queue(
    conn: Connection,
    settings: Settings,
    channel: str,
    *,
    to: str,
    template: str,
    content: MessageContent,
    now: datetime,
    user_id: uuid.UUID | None,
) -> uuid.UUID:
    cipher = outbound_message_cipher(settings)
    message_id = uuid.uuid4()
    await store.insert_message(
        conn,
        message_id=message_id,
        channel=channel,
        user_id=user_id,
        recipient_sealed=seal_recipient(cipher, message_id, to),
        template=template,
        content_sealed=seal_content(cipher, message_id, content),
        now=now,
    )
    await emit_event(conn, send_event(channel, message_id))
    return message_id


async def deliver_message(conn: Connection, platform: Platform, event: Event) -> None:
    """Consumer of `email.send` and `sms.send`, with the delivering worker's platform (its
    settings name the providers). A provider failure raises, so the task is retried; a
    message already marked sent is skipped. The recipient and content are opened here,
    for the provider (or the outbound file), and nowhere else on this path; the log line
    names the message, never its recipient."""
    message_id = msgspec.convert(event.payload, MessageQueued).message_id
    queued = await store.message_for_update(conn, message_id)
    if queued is None or queued.sent_at is not None:
        return
    settings = platform.settings
    message = open_message(outbound_message_cipher(settings), queued)
    assert message.content is not None  # the content goes only with the sending
    content = message.content
    to_files = settings.outbound == "files"
    if message.channel == "email":
        mail = email_message(
            settings,
            message_id=message_id,
            to=message.recipient,
            subject=content.subject,
            text=content.text,
            html=content.html,
            headers=content.headers,
        )
        if to_files:
            provider_id = await OutboundFiles(settings).write_email(message_id, mail)
        else:
            provider_id = await SmtpMailer(settings).send(mail)
    elif to_files:
        provider_id = await OutboundFiles(settings).write_sms(
            message_id, message.recipient, content.text
        )
    else:
        provider_id = await SmsGateway(settings).send(to=message.recipient, text=content.text)
    await store.mark_sent(conn, message_id, provider_id, platform.clock.now())
    log.info(
        "message_sent",
        message_id=str(message_id),
        channel=message.channel,
        template=message.template,
    )


async def list_messages(
    conn: Connection,
    settings: Settings,
    *,
    user_id: uuid.UUID | None = None,
    channel: str | None = None,
    unsent_only: bool = False,
    limit: int = 500,
) -> list[OutboundMessage]:
    """Messages oldest first, opened: for one user, one channel, or the unsent only."""
    cipher = outbound_message_cipher(settings)
    queued = await store.messages(
        conn, user_id=user_id, channel=channel, unsent_only=unsent_only, limit=limit
    )
    return [open_message(cipher, message) for message in queued]


async def requeue_unsent(conn: Connection, now: datetime, *, limit: int = 500) -> int:
    """The safety net behind the consumer's retries: emit a fresh send event for every
    message unsent after `REQUEUE_AFTER`, at most `MAX_REQUEUES` times each. Delivery
    skips messages already sent, so a requeue never sends twice."""
    claimed = await store.claim_unsent(
        conn, created_before=now - REQUEUE_AFTER, max_requeues=MAX_REQUEUES, limit=limit
    )
    for message in claimed:
        await emit_event(conn, send_event(message.channel, message.id))
    if claimed:
        log.warning("messages_requeued", count=len(claimed))
    return len(claimed)
