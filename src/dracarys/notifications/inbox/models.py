"""The inbox's records and API bodies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

import msgspec

from dracarys.messaging import EmailTemplate
from dracarys.wire import Input, Schema


@dataclass(frozen=True, slots=True)
class Notice:
    """What a consumer asks to tell one person: a workflow kind, the values its templates
    take, and a key that is the same every time the same event is delivered."""

    user_id: uuid.UUID
    kind: str
    dedupe_key: str
    values: dict[str, str]
    link: str | None = None
    # The e-mail for this notice when its workflow has none of its own (points' awards).
    email: EmailTemplate | None = None
    email_values: dict[str, str] = field(default_factory=dict)
    # The values that read differently in another language (language → those values):
    # dates, and the words a consumer chooses. Amounts, names and what people wrote
    # (titles, a moderator's reason) are the same in every language.
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    # The notice's own e-mail written in another language (language → template).
    email_translations: dict[str, EmailTemplate] = field(default_factory=dict)

    def values_in(self, language: str) -> dict[str, str]:
        return {**self.values, **self.translations.get(language, {})}

    def email_in(self, language: str) -> EmailTemplate | None:
        return self.email_translations.get(language, self.email)

    def email_values_in(self, language: str) -> dict[str, str]:
        return {**(self.email_values or self.values), **self.translations.get(language, {})}


class NewNotification(msgspec.Struct, frozen=True, kw_only=True):
    """A row to write."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    dedupe_key: str
    in_app: bool
    # Its e-mail waits for the daily digest.
    digest: bool = False


class Notification(Schema):
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    in_app: bool
    created_at: datetime
    read_at: datetime | None
    archived_at: datetime | None


class NotificationView(Schema):
    id: uuid.UUID
    kind: str
    category: str
    priority: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool
    archived: bool


class InboxPage(Schema):
    items: list[NotificationView]
    unread: int
    unread_by_category: dict[str, int]
    # Pass as `before` for the next (older) page; None on the last one.
    next_before: str | None


class UnreadCount(Schema):
    unread: int
    unread_by_category: dict[str, int]


class MarkRead(Input):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=500)]


class MarkAllRead(Input):
    category: str | None = None


class Changed(Schema):
    changed: int
    unread: int
