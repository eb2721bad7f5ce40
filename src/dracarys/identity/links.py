"""Single-use links mailed to an address (e-mail verification, password reset): the three
ways such a link is refused, told apart so a page can say which (`extra.reason` of the
422 is `unknown`, `already_used` or `expired`; the field is `token`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from dracarys.errors import InvalidInput


class LinkRefusal(StrEnum):
    UNKNOWN = "unknown"
    ALREADY_USED = "already_used"
    EXPIRED = "expired"


class MailedLink(Protocol):
    @property
    def used_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime: ...


def refusal_of(link: MailedLink | None, now: datetime) -> LinkRefusal | None:
    """Why the link cannot be used now, or None when it can. A used link says so even
    after it would have expired: the person most likely opened it twice."""
    if link is None:
        return LinkRefusal.UNKNOWN
    if link.used_at is not None:
        return LinkRefusal.ALREADY_USED
    if link.expires_at <= now:
        return LinkRefusal.EXPIRED
    return None


def link_refused(refusal: LinkRefusal, messages: dict[LinkRefusal, str]) -> InvalidInput:
    return InvalidInput(messages[refusal], field="token", extra={"reason": refusal.value})
