"""Calendar sync: an ICS invitation per session and a per-user iCal feed. Calendar apps
cannot send bearer tokens, so the feed URL carries its own secret token (stored hashed;
asking for a new link revokes the old one)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

import icalendar

from dracarys.db import transaction
from dracarys.errors import NotFound
from dracarys.identity import Contact, account_of, contacts_of
from dracarys.identity.access import CurrentUser
from dracarys.mentorship.calendar import store
from dracarys.mentorship.calendar.models import CalendarEntry, FeedLink
from dracarys.mentorship.sessions.service import room_url
from dracarys.platform import Platform

PRODID = "-//Dracarys//Mentorship//EN"
# The feed shows sessions that ended up to this long ago.
FEED_HISTORY = timedelta(days=30)


def _event(platform: Platform, entry: CalendarEntry) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{entry.id}@dracarys")
    event.add("dtstamp", entry.created_at)
    event.add("dtstart", entry.starts_at)
    event.add("dtend", entry.ends_at)
    event.add("summary", entry.title)
    cancelled = entry.status == "cancelled"
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        url = room_url(platform, entry.room_name)
        event.add("location", url)
        event.add("url", url)
        event.add("description", f"Join the video room: {url}")
    return event


def _address(contact: Contact, role: str | None = None) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{contact.email}")
    address.params["cn"] = icalendar.vText(contact.name or contact.email)
    if role:
        address.params["role"] = icalendar.vText(role)
    return address


def _calendar(
    platform: Platform,
    entries: Sequence[CalendarEntry],
    *,
    method: str | None,
    people: tuple[Contact, Contact] | None = None,
) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Dracarys sessions")
    if method:
        calendar.add("method", method)
    for entry in entries:
        event = _event(platform, entry)
        if people is not None:
            # The invitee alone: a group session's other mentees stay private.
            organizer, invitee = people
            event.add("organizer", _address(organizer))
            event.add("attendee", _address(invitee, "REQ-PARTICIPANT"))
        calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics


async def session_invitation(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID
) -> bytes:
    async with platform.pool.acquire() as conn:
        entry = await store.entry(conn, session_id)
        participant = entry is not None and (
            actor.id == entry.mentor_id or await store.is_booked_by(conn, session_id, actor.id)
        )
        if entry is None or not participant:
            raise NotFound("no such session", field="session_id")
        contacts = await contacts_of(conn, platform.settings, [entry.mentor_id, actor.id])
    people = (contacts[entry.mentor_id], contacts[actor.id])
    return _calendar(platform, [entry], method="REQUEST", people=people)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def new_feed_link(platform: Platform, actor: CurrentUser) -> FeedLink:
    token = secrets.token_urlsafe(32)
    async with transaction(platform.pool) as conn:
        await store.set_feed_token(conn, actor.id, _hash(token), platform.clock.now())
    base = platform.settings.public_url.rstrip("/")
    return FeedLink(url=f"{base}/api/v1/calendar/feeds/{token}.ics")


async def feed(platform: Platform, token: str) -> bytes:
    async with platform.pool.acquire() as conn:
        user_id = await store.owner_of_feed_token(conn, _hash(token))
        # A banned account's feed goes dark with the account.
        account = await account_of(conn, user_id) if user_id is not None else None
        if account is None or not account.is_active:
            raise NotFound("no such calendar feed")
        entries = await store.entries_of(conn, account.id, platform.clock.now() - FEED_HISTORY)
    return _calendar(platform, entries, method=None)
