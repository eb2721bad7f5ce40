"""Notifications written and read. `deliver_notices` is the one path every workflow
takes: in the consumer's transaction it writes each notice once per (person, dedupe
key), plans its e-mail/SMS (`delivery`), and, once that transaction has committed,
publishes a live frame on `notifications:{user_id}` for the rows it actually inserted. A
batch delivered again inserts nothing and so publishes nothing; a batch that fails or
rolls back, even at its commit, published nothing, so a retried batch never repeats a
live notification nor announces one that was never stored."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, after_commit, transaction
from dracarys.errors import InvalidInput, NotFound
from dracarys.identity import CurrentUser
from dracarys.notifications.delivery.service import Outgoing, plan_deliveries
from dracarys.notifications.inbox import store
from dracarys.notifications.inbox.models import (
    Changed,
    InboxPage,
    MarkAllRead,
    MarkRead,
    NewNotification,
    Notice,
    Notification,
    NotificationView,
    UnreadCount,
)
from dracarys.notifications.preferences.service import people
from dracarys.notifications.templates.service import text_book
from dracarys.notifications.workflows import WORKFLOWS, Category, Channel, Priority
from dracarys.platform import Platform
from dracarys.realtime import NotificationFrame
from streams import channels


async def deliver_notices(
    conn: Connection, platform: Platform, notices: Sequence[Notice]
) -> list[Notification]:
    """Write, plan and publish; returns the notifications new to this call."""
    if not notices:
        return []
    now = platform.clock.now()
    recipients = await people(conn, {n.user_id for n in notices})
    # Each person's language, and an admin's newest version of a text over the code's.
    book = await text_book(conn)
    rows: list[NewNotification] = []
    by_key: dict[tuple[uuid.UUID, str], Notice] = {}
    for notice in notices:
        workflow = WORKFLOWS[notice.kind]
        if (notice.user_id, notice.dedupe_key) in by_key:
            continue
        by_key[(notice.user_id, notice.dedupe_key)] = notice
        person = recipients[notice.user_id]
        title, body = book.in_app(notice.kind, person.language, notice.values_in(person.language))
        rows.append(
            NewNotification(
                id=uuid.uuid4(),
                user_id=notice.user_id,
                kind=notice.kind,
                category=workflow.category.value,
                priority=workflow.priority.value,
                title=title,
                body=body,
                link=notice.link,
                dedupe_key=notice.dedupe_key,
                in_app=person.wants(workflow, Channel.IN_APP),
                digest=workflow.priority is Priority.LOW
                and (workflow.email or notice.email_in(person.language)) is not None
                and person.wants(workflow, Channel.EMAIL),
            )
        )
    fresh = await store.insert_notifications(conn, rows, now)
    inserted = [
        Notification(
            id=row.id,
            user_id=row.user_id,
            kind=row.kind,
            category=row.category,
            priority=row.priority,
            title=row.title,
            body=row.body,
            link=row.link,
            in_app=row.in_app,
            created_at=now,
            read_at=None,
            archived_at=None,
        )
        for row in rows
        if row.id in fresh
    ]
    outgoing = []
    for notification, row in zip(inserted, (r for r in rows if r.id in fresh), strict=True):
        notice = by_key[(row.user_id, row.dedupe_key)]
        workflow = WORKFLOWS[notice.kind]
        language = recipients[row.user_id].language
        outgoing.append(
            Outgoing(
                notification_id=notification.id,
                user_id=notification.user_id,
                workflow=workflow,
                email=(book.email(notice.kind, language) if workflow.email else None)
                or notice.email_in(language),
                sms=book.sms(notice.kind, language) if workflow.sms else None,
                email_values=notice.email_values_in(language),
                sms_values=notice.values_in(language),
            )
        )
    await plan_deliveries(conn, platform, outgoing, recipients, now)
    live = [n for n in inserted if n.in_app]
    if live:
        after_commit(conn, lambda: _publish(platform, live))
    return inserted


def frame_of(notification: Notification) -> NotificationFrame:
    return NotificationFrame(
        id=notification.id,
        kind=notification.kind,
        title=notification.title,
        body=notification.body,
        created_at=notification.created_at,
    )


async def _publish(platform: Platform, notifications: Sequence[Notification]) -> None:
    """One batched publish for the lot (a signal's thousands of followers are a few Redis
    round trips); each person's frames keep their order."""
    await platform.streams.publish_many(
        [(channels.notifications(n.user_id), frame_of(n)) for n in notifications]
    )


# ---- reading ---------------------------------------------------------------------------


def _view(n: Notification) -> NotificationView:
    return NotificationView(
        id=n.id,
        kind=n.kind,
        category=n.category,
        priority=n.priority,
        title=n.title,
        body=n.body,
        link=n.link,
        created_at=n.created_at,
        read=n.read_at is not None,
        archived=n.archived_at is not None,
    )


def _cursor(n: Notification) -> str:
    return base64.urlsafe_b64encode(f"{n.created_at.isoformat()}|{n.id}".encode()).decode()


def _position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        at, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(id_)
    except ValueError:
        raise InvalidInput(
            "That page marker is not one this inbox gave out; start from the first page.",
            field="before",
        ) from None


def _category(value: str | None, field: str) -> str | None:
    if value is None or value in {c.value for c in Category}:
        return value
    raise InvalidInput(
        f"There is no notification category called \u201c{value}\u201d.", field=field
    )


async def inbox_page(
    platform: Platform,
    user: CurrentUser,
    *,
    category: str | None,
    archived: bool,
    before: str | None,
    limit: int,
) -> InboxPage:
    position = _position(before)
    async with platform.pool.acquire() as conn:
        items = await store.inbox(
            conn,
            user.id,
            category=_category(category, "category"),
            archived=archived,
            before=position,
            limit=limit,
        )
        unread = await store.unread_by_category(conn, user.id)
    return InboxPage(
        items=[_view(n) for n in items],
        unread=sum(unread.values()),
        unread_by_category=unread,
        next_before=_cursor(items[-1]) if len(items) == limit else None,
    )


async def unread_count(platform: Platform, user: CurrentUser) -> UnreadCount:
    async with platform.pool.acquire() as conn:
        unread = await store.unread_by_category(conn, user.id)
    return UnreadCount(unread=sum(unread.values()), unread_by_category=unread)


async def mark_read(platform: Platform, user: CurrentUser, data: MarkRead) -> Changed:
    async with transaction(platform.pool) as conn:
        changed = await store.mark_read(conn, user.id, data.ids, platform.clock.now())
        unread = await store.unread_by_category(conn, user.id)
    return Changed(changed=changed, unread=sum(unread.values()))


async def mark_all_read(platform: Platform, user: CurrentUser, data: MarkAllRead) -> Changed:
    category = _category(data.category, "category")
    async with transaction(platform.pool) as conn:
        changed = await store.mark_all_read(conn, user.id, category, platform.clock.now())
        unread = await store.unread_by_category(conn, user.id)
    return Changed(changed=changed, unread=sum(unread.values()))


async def archive(platform: Platform, user: CurrentUser, notification_id: uuid.UUID) -> Changed:
    async with transaction(platform.pool) as conn:
        if not await store.archive(conn, user.id, notification_id, platform.clock.now()):
            raise NotFound("You have no such notification.", field="notification_id")
        unread = await store.unread_by_category(conn, user.id)
    return Changed(changed=1, unread=sum(unread.values()))
