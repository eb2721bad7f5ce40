"""E-mail and SMS of notifications, through messaging's outbox (`queue_email`,
`queue_sms`), and push, through `push.queue_pushes`: a new notification's message goes at
once, or waits until the person's quiet hours end (never a critical one), or (low
priority, e-mail) waits for their daily digest. SMS goes to verified phones only, push to
the devices the person subscribed. Each delivery is a row, so a held message is sent once
by whichever worker claims it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from dracarys.db import Connection, transaction
from dracarys.identity import Contact, contacts_of
from dracarys.messaging import EmailTemplate, SmsTemplate, queue_email, queue_sms
from dracarys.notifications.delivery import store
from dracarys.notifications.delivery.models import DigestItem, NewDelivery
from dracarys.notifications.preferences.service import Person, people
from dracarys.notifications.push.service import queue_pushes
from dracarys.notifications.templates.service import TextBook, text_book
from dracarys.notifications.templates.swahili import DIGEST_SUBJECT, DIGEST_TEXT
from dracarys.notifications.workflows import WORKFLOWS, Channel, Priority, Workflow
from dracarys.platform import Platform
from dracarys.points import award_email

log = structlog.get_logger("dracarys.notifications")

# A person's digest goes once their local clock has passed this hour.
DIGEST_HOUR = 8
# People with digest items waiting that one query reads.
DIGEST_PAGE = 1000
_BATCH = 500

# A held push's stored template: a push is the notification's own title, body and link.
PUSH_TEMPLATE = "push"

DIGEST = EmailTemplate(
    name="notify.digest",
    subject="Your Dracarys digest: $count update(s)",
    text="Here is what happened since your last digest:\n\n$items\n\n"
    "See them all: $base_url/notifications\n"
    "Choose what we send you: $base_url/notifications/preferences",
)
DIGESTS = {
    "en": DIGEST,
    "sw": EmailTemplate(name="notify.digest", subject=DIGEST_SUBJECT, text=DIGEST_TEXT),
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A new notification's e-mail/SMS to plan: its workflow, the templates (the texts
    delivered now in the person's language, or the notice's own e-mail) and the values."""

    notification_id: uuid.UUID
    user_id: uuid.UUID
    workflow: Workflow
    email: EmailTemplate | None
    email_values: dict[str, str]
    sms_values: dict[str, str]
    sms: SmsTemplate | None = None


async def _queue(
    conn: Connection,
    platform: Platform,
    channel: str,
    template: EmailTemplate | SmsTemplate,
    context: dict[str, Any],
    contact: Contact | None,
    user_id: uuid.UUID,
    now: datetime,
) -> uuid.UUID | None:
    """Hand one message to messaging; None when the person has no address for it."""
    if contact is None:
        return None
    values = {"base_url": platform.settings.public_url, **context}
    if channel == Channel.EMAIL and isinstance(template, EmailTemplate):
        return await queue_email(
            conn,
            platform.settings,
            to=contact.email,
            template=template,
            context=values,
            now=now,
            user_id=user_id,
        )
    if channel == Channel.SMS and isinstance(template, SmsTemplate) and contact.phone:
        return await queue_sms(
            conn,
            platform.settings,
            to=contact.phone,
            template=template,
            context=values,
            now=now,
            user_id=user_id,
        )
    return None


async def plan_deliveries(
    conn: Connection,
    platform: Platform,
    outgoing: Sequence[Outgoing],
    recipients: dict[uuid.UUID, Person],
    now: datetime,
) -> None:
    """In the caller's transaction: queue, hold or gather each new notification's e-mail,
    SMS and push the person wants."""
    await _plan_pushes(conn, outgoing, recipients, now)
    wanted: list[tuple[Outgoing, Channel, EmailTemplate | SmsTemplate, dict[str, str]]] = []
    for item in outgoing:
        person = recipients[item.user_id]
        # Low priority: the e-mail waits for the digest (marked on the notification itself).
        if (
            item.email is not None
            and item.workflow.priority is not Priority.LOW
            and person.wants(item.workflow, Channel.EMAIL)
        ):
            wanted.append((item, Channel.EMAIL, item.email, item.email_values))
        if item.sms is not None and person.wants(item.workflow, Channel.SMS):
            wanted.append((item, Channel.SMS, item.sms, item.sms_values))
    if not wanted:
        return
    contacts = await contacts_of(
        conn,
        platform.settings,
        sorted({item.user_id for item, _, _, _ in wanted}),
        active_only=True,
        verified_phones=True,
    )
    rows: list[NewDelivery] = []
    for item, channel, template, values in wanted:
        person = recipients[item.user_id]
        state, due_at, message_id = "sent", None, None
        if not item.workflow.critical and (until := person.quiet_until(now)) is not None:
            state, due_at = "deferred", until
        else:
            message_id = await _queue(
                conn,
                platform,
                channel,
                template,
                values,
                contacts.get(item.user_id),
                item.user_id,
                now,
            )
            if message_id is None:
                state = "dropped"  # no address (SMS: no verified phone) or account closed
        rows.append(
            NewDelivery(
                notification_id=item.notification_id,
                channel=channel.value,
                user_id=item.user_id,
                state=state,
                due_at=due_at,
                template=f"{channel.value}:{template.name}",
                context=values,
                message_id=message_id,
            )
        )
    await store.insert_deliveries(conn, rows, now)


async def _plan_pushes(
    conn: Connection,
    outgoing: Sequence[Outgoing],
    recipients: dict[uuid.UUID, Person],
    now: datetime,
) -> None:
    wanted = [o for o in outgoing if recipients[o.user_id].wants(o.workflow, Channel.PUSH)]
    if not wanted:
        return
    held = {
        o.notification_id: until
        for o in wanted
        if not o.workflow.critical and (until := recipients[o.user_id].quiet_until(now))
    }
    now_going = [o for o in wanted if o.notification_id not in held]
    pushed = await queue_pushes(
        conn, [o.notification_id for o in now_going], [o.user_id for o in now_going], now
    )
    await store.insert_deliveries(
        conn,
        [
            NewDelivery(
                notification_id=o.notification_id,
                channel=Channel.PUSH.value,
                user_id=o.user_id,
                # Dropped: the person opted in but has no device subscribed.
                state="deferred"
                if o.notification_id in held
                else "sent"
                if o.notification_id in pushed
                else "dropped",
                due_at=held.get(o.notification_id),
                template=PUSH_TEMPLATE,
                context={},
                message_id=None,
            )
            for o in wanted
        ],
        now,
    )


def _template_named(name: str, book: TextBook, language: str) -> EmailTemplate | SmsTemplate | None:
    """A held delivery's template by its stored name: a workflow's, as delivered now (an
    admin may have saved a new version meanwhile) in the person's language; or one a
    notice brought itself (points' award e-mails, in the person's language too)."""
    channel, _, template = name.partition(":")
    kind = template.removeprefix("notify.")
    workflow = WORKFLOWS.get(kind)
    if workflow is not None and channel == Channel.EMAIL and workflow.email is not None:
        return book.email(kind, language)
    if workflow is not None and channel == Channel.SMS and workflow.sms is not None:
        return book.sms(kind, language)
    return award_email(template, language) if channel == Channel.EMAIL else None


async def release_deferred(platform: Platform) -> int:
    """Cron: send what waited for quiet hours to end; returns how many went."""
    now = platform.clock.now()
    released = 0
    while True:
        async with transaction(platform.pool) as conn:
            due = await store.claim_due(conn, now, _BATCH)
            if not due:
                return released
            contacts = await contacts_of(
                conn,
                platform.settings,
                sorted({d.user_id for d in due}),
                active_only=True,
                verified_phones=True,
            )
            # A push tells of something new; one the person read in the app during their
            # quiet hours is not sent when they end (an e-mail still goes: it is a record).
            pushes = [held for held in due if held.channel == Channel.PUSH]
            unread = [p for p in pushes if p.read_at is None]
            pushed = await queue_pushes(
                conn, [p.notification_id for p in unread], [p.user_id for p in unread], now
            )
            for held in pushes:
                await store.settle(
                    conn,
                    held.notification_id,
                    held.channel,
                    state="sent" if held.notification_id in pushed else "dropped",
                    message_id=None,
                    at=now,
                )
            book = await text_book(conn)
            recipients = await people(conn, {d.user_id for d in due})
            for held in due:
                if held.channel == Channel.PUSH:
                    continue
                template = _template_named(held.template, book, recipients[held.user_id].language)
                message_id = (
                    await _queue(
                        conn,
                        platform,
                        held.channel,
                        template,
                        held.context,
                        contacts.get(held.user_id),
                        held.user_id,
                        now,
                    )
                    if template
                    else None
                )
                await store.settle(
                    conn,
                    held.notification_id,
                    held.channel,
                    state="sent" if message_id else "dropped",
                    message_id=message_id,
                    at=now,
                )
            released += len(due)
        if len(due) < _BATCH:
            return released


def _digest_lines(items: Sequence[DigestItem]) -> str:
    return "\n".join(f"- {item.title}: {item.body}" for item in items)


async def _send_digest(platform: Platform, person: Person, now: datetime) -> bool:
    """One person's digest for their local day, if it is time and none went today."""
    user_id = person.user_id
    local = now.astimezone(person.zone)
    # A digest is non-critical e-mail: it waits for quiet hours to end, like the rest.
    if local.hour < DIGEST_HOUR or person.quiet_until(now) is not None:
        return False
    async with transaction(platform.pool) as conn:
        items = await store.claim_digest_items(conn, user_id)
        if not items or not await store.claim_digest_day(
            conn, user_id, local.date(), len(items), now
        ):
            return False
        contact = (await contacts_of(conn, platform.settings, [user_id], active_only=True)).get(
            user_id
        )
        message_id = await _queue(
            conn,
            platform,
            Channel.EMAIL,
            DIGESTS.get(person.language, DIGEST),
            {"count": str(len(items)), "items": _digest_lines(items)},
            contact,
            user_id,
            now,
        )
        if message_id is None:  # the account closed meanwhile: nothing to send to
            await store.settle_digest_items(conn, [i.notification_id for i in items], "dropped")
            return False
        await store.record_digest_message(conn, user_id, local.date(), message_id)
        await store.settle_digest_items(conn, [i.notification_id for i in items], "sent")
        return True


async def send_digests(platform: Platform, *, page_size: int = DIGEST_PAGE) -> int:
    """Cron (hourly): each person with low-priority e-mail waiting gets one digest a day
    (their local day, once their clock passed `DIGEST_HOUR` and outside their quiet hours);
    returns how many went.
    Running it again the same day sends nothing more: the day is claimed with the send.
    Everyone waiting is looked at, page by page: one page a run starved whoever sorted
    after people who were skipped (already sent today, before their hour, quiet)."""
    now = platform.clock.now()
    sent = 0
    after: uuid.UUID | None = None
    while True:
        async with platform.pool.acquire() as conn:
            waiting = await store.digest_recipients(conn, after, page_size)
            recipients = await people(conn, waiting)
        for user_id in waiting:
            if await _send_digest(platform, recipients[user_id], now):
                sent += 1
        if len(waiting) < page_size:
            break
        after = waiting[-1]
    if sent:
        log.info("digests_sent", count=sent)
    return sent
