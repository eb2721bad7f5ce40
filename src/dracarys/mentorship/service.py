"""Mentorship rules: schedules and session types, slots in the viewer's timezone, booking
(hold the slot, take payment into escrow, confirm), cancellation and reschedule under the
refund policy, attendance, completion, ratings, reminders and cohort live sessions.

Double booking is refused by the database: every live session holds its mentor's time in
an exclusion constraint, so of any number of concurrent bookings for one slot exactly one
inserts and the rest get a 409."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import structlog

from dracarys.curriculum import store as curriculum_store
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from dracarys.identity import contact_of
from dracarys.identity.access import CurrentUser, Role
from dracarys.mentorship import events, store
from dracarys.mentorship.availability import Schedule, generate_slots, resolve_timezone
from dracarys.mentorship.models import (
    BookingInput,
    BookingView,
    LiveSessionInput,
    PublicReview,
    RatingInput,
    RecordingInput,
    ReviewView,
    ScheduleInput,
    ScheduleView,
    SessionKind,
    SessionTypeInput,
    SessionTypeView,
    SessionView,
    SlotList,
    SlotView,
)
from dracarys.messaging.service import queue_email
from dracarys.messaging.templates import EmailTemplate, register_email_template
from dracarys.outbox import emit
from dracarys.platform import Platform
from dracarys.wallet import MentorMonth, hold_escrow, refund_escrow, release_escrow

log = structlog.get_logger("dracarys.mentorship")

FULL_REFUND_BPS = 10_000
# Participants may open the room this long before the start.
JOIN_EARLY = timedelta(minutes=15)
# Escrow releases on its own this long after the session ends unless disputed first.
ESCROW_RELEASE_GRACE = timedelta(hours=48)
REMINDER_LEADS: tuple[tuple[str, timedelta], ...] = (
    ("24h", timedelta(hours=24)),
    ("1h", timedelta(hours=1)),
)
SESSION_REMINDER_TEMPLATE = "mentorship.session_reminder"
register_email_template(
    SESSION_REMINDER_TEMPLATE,
    EmailTemplate(
        subject="Reminder: $title starts $lead",
        text='Your Dracarys session "$title" starts $lead, at $starts_at.\n'
        "Open the session page to join the video room when it opens.",
    ),
)


# ---- views ----------------------------------------------------------------------------


def room_url(platform: Platform, room_name: str) -> str:
    return f"{platform.settings.jitsi_base_url.rstrip('/')}/{room_name}"


def session_view(platform: Platform, row: asyncpg.Record, *, show_room: bool) -> SessionView:
    return SessionView(
        id=row["id"],
        mentor_id=row["mentor_id"],
        kind=SessionKind(row["kind"]),
        title=row["title"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        status=row["status"],
        capacity=row["capacity"],
        booked=int(row["booked"]) if "booked" in row else 0,
        cohort_id=row["cohort_id"],
        lesson_id=row["lesson_id"],
        recording_url=row["recording_url"],
        room_url=room_url(platform, row["room_name"]) if show_room else None,
    )


def _schedule_view(row: asyncpg.Record) -> ScheduleView:
    return ScheduleView(
        id=row["id"],
        mentor_id=row["mentor_id"],
        name=row["name"],
        timezone=row["timezone"],
        is_default=row["is_default"],
        weekly_hours=list(row["weekly_hours"]),
        date_overrides=list(row["date_overrides"]),
    )


def _type_view(row: asyncpg.Record) -> SessionTypeView:
    return SessionTypeView(
        id=row["id"],
        mentor_id=row["mentor_id"],
        title=row["title"],
        kind=SessionKind(row["kind"]),
        duration_minutes=row["duration_minutes"],
        price_minor=row["price_minor"],
        currency=row["currency"],
        capacity=row["capacity"],
        schedule_id=row["schedule_id"],
        min_notice_minutes=row["min_notice_minutes"],
        active=row["active"],
    )


def schedule_of(row: asyncpg.Record) -> Schedule:
    return Schedule(row["timezone"], row["weekly_hours"], row["date_overrides"])


def _ensure_mentor(actor: CurrentUser) -> None:
    if actor.role is not Role.MENTOR:
        raise Forbidden("only mentors manage schedules and session types")


# ---- schedules and session types ------------------------------------------------------


def _schedule_fields(
    data: ScheduleInput,
) -> tuple[str, list[dict[str, object]], list[dict[str, object]]]:
    zone = resolve_timezone(data.timezone)
    weekly: list[dict[str, object]] = [
        {"weekday": w.weekday, "start": w.start, "end": w.end} for w in data.weekly_hours
    ]
    overrides: list[dict[str, object]] = [
        {
            "date": o.date.isoformat(),
            "intervals": [{"start": i.start, "end": i.end} for i in o.intervals],
        }
        for o in data.date_overrides
    ]
    Schedule(str(zone.key), weekly, overrides)  # validates intervals
    return str(zone.key), weekly, overrides


async def create_schedule(
    platform: Platform, actor: CurrentUser, data: ScheduleInput
) -> ScheduleView:
    _ensure_mentor(actor)
    timezone, weekly, overrides = _schedule_fields(data)
    schedule_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        # Serialise one mentor's schedule edits so exactly one stays the default.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"schedules:{actor.id}")
        first = await store.count_schedules(conn, actor.id) == 0
        is_default = data.is_default or first
        if is_default:
            await store.clear_default_schedule(conn, actor.id)
        await store.insert_schedule(
            conn,
            schedule_id=schedule_id,
            mentor_id=actor.id,
            name=data.name,
            timezone=timezone,
            is_default=is_default,
            weekly_hours=weekly,
            date_overrides=overrides,
            now=platform.clock.now(),
        )
        row = await store.schedule(conn, schedule_id)
    assert row is not None
    return _schedule_view(row)


async def update_schedule(
    platform: Platform, actor: CurrentUser, schedule_id: uuid.UUID, data: ScheduleInput
) -> ScheduleView:
    timezone, weekly, overrides = _schedule_fields(data)
    async with transaction(platform.pool) as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"schedules:{actor.id}")
        row = await store.schedule(conn, schedule_id)
        if row is None or row["mentor_id"] != actor.id:
            raise NotFound("no such schedule", field="schedule_id")
        is_default = data.is_default or row["is_default"]
        if data.is_default:
            await store.clear_default_schedule(conn, actor.id)
        await store.update_schedule(
            conn,
            schedule_id,
            name=data.name,
            timezone=timezone,
            is_default=is_default,
            weekly_hours=weekly,
            date_overrides=overrides,
        )
        updated = await store.schedule(conn, schedule_id)
    assert updated is not None
    return _schedule_view(updated)


async def list_schedules(platform: Platform, mentor_id: uuid.UUID) -> list[ScheduleView]:
    async with platform.pool.acquire() as conn:
        return [_schedule_view(r) for r in await store.schedules_of(conn, mentor_id)]


async def create_session_type(
    platform: Platform, actor: CurrentUser, data: SessionTypeInput
) -> SessionTypeView:
    _ensure_mentor(actor)
    if data.kind is SessionKind.ONE_ON_ONE and data.capacity != 1:
        raise InvalidInput("a 1:1 session has a capacity of one", field="capacity")
    if data.kind is not SessionKind.ONE_ON_ONE and data.capacity < 2:
        raise InvalidInput("a group session or workshop seats at least two", field="capacity")
    type_id = uuid.uuid4()
    async with transaction(platform.pool) as conn:
        if data.schedule_id is not None:
            schedule = await store.schedule(conn, data.schedule_id)
            if schedule is None or schedule["mentor_id"] != actor.id:
                raise NotFound("no such schedule of yours", field="schedule_id")
        await store.insert_session_type(
            conn,
            type_id=type_id,
            mentor_id=actor.id,
            title=data.title,
            kind=data.kind.value,
            duration_minutes=data.duration_minutes,
            price_minor=data.price_minor,
            currency=data.currency,
            capacity=data.capacity,
            schedule_id=data.schedule_id,
            min_notice_minutes=data.min_notice_minutes,
            now=platform.clock.now(),
        )
        row = await store.session_type(conn, type_id)
    assert row is not None
    return _type_view(row)


async def list_session_types(platform: Platform, mentor_id: uuid.UUID) -> list[SessionTypeView]:
    async with platform.pool.acquire() as conn:
        return [_type_view(r) for r in await store.session_types_of(conn, [mentor_id])]


# ---- slots ----------------------------------------------------------------------------


async def _schedule_for_type(conn: Connection, type_row: asyncpg.Record) -> Schedule | None:
    if type_row["schedule_id"] is not None:
        row = await store.schedule(conn, type_row["schedule_id"])
    else:
        row = (await store.default_schedules(conn, [type_row["mentor_id"]])).get(
            type_row["mentor_id"]
        )
    return schedule_of(row) if row is not None else None


async def open_slots(
    conn: Connection,
    type_row: asyncpg.Record,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[tuple[datetime, datetime, int]]:
    """(start, end, spots left) of every bookable slot of this session type in the range."""
    schedule = await _schedule_for_type(conn, type_row)
    if schedule is None:
        return []
    earliest = now + timedelta(minutes=type_row["min_notice_minutes"])
    start = max(start, earliest)
    if end <= start:
        return []
    duration = timedelta(minutes=type_row["duration_minutes"])
    sessions = await store.busy_sessions(conn, type_row["mentor_id"], start - duration, end)
    joinable: dict[datetime, int] = {}
    busy: list[tuple[datetime, datetime]] = []
    for s in sessions:
        if s["session_type_id"] == type_row["id"] and type_row["kind"] != "one_on_one":
            joinable[s["starts_at"]] = s["capacity"] - int(s["booked"])
        busy.append((s["starts_at"], s["ends_at"]))
    free = generate_slots(schedule, start=start, end=end, duration=duration, busy=busy)
    slots = [(a, b, type_row["capacity"]) for a, b in free]
    slots += [
        (a, a + duration, left) for a, left in joinable.items() if left > 0 and start <= a < end
    ]
    slots.sort()
    return slots


async def list_slots(
    platform: Platform,
    session_type_id: uuid.UUID,
    *,
    timezone: str,
    start_date: date | None,
    days: int,
) -> SlotList:
    """Slots from the start of `start_date` (in the viewer's zone; today by default) for
    `days` days, shown in the viewer's zone."""
    zone = resolve_timezone(timezone)
    if not 1 <= days <= platform.settings.mentorship_slot_horizon_days:
        raise InvalidInput(
            f"ask for 1 to {platform.settings.mentorship_slot_horizon_days} days", field="days"
        )
    now = platform.clock.now()
    first_day = start_date or now.astimezone(zone).date()
    start = datetime.combine(first_day, time(0, 0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(first_day + timedelta(days=days), time(0, 0), tzinfo=zone).astimezone(
        UTC
    )
    async with platform.pool.acquire() as conn:
        type_row = await store.session_type(conn, session_type_id)
        if type_row is None or not type_row["active"]:
            raise NotFound("no such session type", field="session_type_id")
        slots = await open_slots(conn, type_row, start=start, end=end, now=now)
    return SlotList(
        session_type_id=session_type_id,
        timezone=str(zone.key),
        slots=[
            SlotView(starts_at=a.astimezone(zone), ends_at=b.astimezone(zone), spots_left=left)
            for a, b, left in slots
        ],
    )


# ---- booking --------------------------------------------------------------------------


def _new_room_name() -> str:
    # 144 random bits: a room nobody can guess from the outside.
    return f"dracarys-{secrets.token_urlsafe(18)}"


async def _booking_view(
    platform: Platform, conn: Connection, booking_row: asyncpg.Record
) -> BookingView:
    session_row = await store.session(conn, booking_row["session_id"])
    assert session_row is not None
    return BookingView(
        id=booking_row["id"],
        session=session_view(platform, session_row, show_room=booking_row["status"] == "confirmed"),
        mentee_id=booking_row["mentee_id"],
        status=booking_row["status"],
        amount_minor=booking_row["amount_minor"],
        currency=booking_row["currency"],
        escrow_id=booking_row["escrow_id"],
        refunded_minor=booking_row["refunded_minor"],
    )


async def _ensure_valid_start(
    conn: Connection, type_row: asyncpg.Record, starts_at: datetime, now: datetime
) -> None:
    if starts_at.tzinfo is None:
        raise InvalidInput("give starts_at with its UTC offset", field="starts_at")
    earliest = now + timedelta(minutes=type_row["min_notice_minutes"])
    if starts_at < earliest:
        raise InvalidInput(
            f"book at least {type_row['min_notice_minutes']} minutes ahead", field="starts_at"
        )
    schedule = await _schedule_for_type(conn, type_row)
    duration = timedelta(minutes=type_row["duration_minutes"])
    slots = (
        generate_slots(schedule, start=starts_at, end=starts_at + duration, duration=duration)
        if schedule is not None
        else []
    )
    if (starts_at, starts_at + duration) not in slots:
        raise InvalidInput("the mentor does not offer a slot at that time", field="starts_at")


async def _take_session_seat(
    conn: Connection, platform: Platform, type_row: asyncpg.Record, starts_at: datetime
) -> asyncpg.Record:
    """The session at `starts_at`: a new one on the mentor's calendar, or (group and
    workshop) the existing one with a free seat. Locked for the rest of the transaction."""
    ends_at = starts_at + timedelta(minutes=type_row["duration_minutes"])
    shared = type_row["kind"] != SessionKind.ONE_ON_ONE.value
    if shared:
        existing = await store.lock_open_session_of_type(conn, type_row["id"], starts_at)
        if existing is not None:
            return await _with_free_seat(conn, existing)
    session_id = uuid.uuid4()
    try:
        async with conn.transaction():
            await store.insert_session(
                conn,
                session_id=session_id,
                mentor_id=type_row["mentor_id"],
                session_type_id=type_row["id"],
                kind=type_row["kind"],
                title=type_row["title"],
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=type_row["capacity"],
                price_minor=type_row["price_minor"],
                currency=type_row["currency"],
                room_name=_new_room_name(),
                cohort_id=None,
                now=platform.clock.now(),
            )
    except asyncpg.ExclusionViolationError:
        if shared:
            # Another booker created this group session a moment ago: join it.
            existing = await store.lock_open_session_of_type(conn, type_row["id"], starts_at)
            if existing is not None:
                return await _with_free_seat(conn, existing)
        raise Conflict("this slot was just taken; choose another time", field="starts_at") from None
    row = await store.lock_session(conn, session_id)
    assert row is not None
    return row


async def _with_free_seat(conn: Connection, session_row: asyncpg.Record) -> asyncpg.Record:
    if await store.live_booking_count(conn, session_row["id"]) >= session_row["capacity"]:
        raise Conflict("this session is full; choose another time", field="starts_at")
    return session_row


async def book_session(
    platform: Platform, actor: CurrentUser, data: BookingInput, idempotency_key: str
) -> BookingView:
    """Hold the slot, take the price into escrow, confirm — in one transaction, so a
    failed payment leaves the slot free and nothing half-done."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            f"booking:{actor.id}:{idempotency_key}",
        )
        previous = await store.booking_by_key(conn, actor.id, idempotency_key)
        if previous is not None:
            prior_session = await store.session(conn, previous["session_id"])
            assert prior_session is not None
            if (
                prior_session["session_type_id"] != data.session_type_id
                or prior_session["starts_at"] != data.starts_at
            ):
                raise InvalidInput(
                    "this idempotency key was used for a different booking",
                    field="idempotency_key",
                )
            return await _booking_view(platform, conn, previous)
        type_row = await store.session_type(conn, data.session_type_id)
        if type_row is None or not type_row["active"]:
            raise NotFound("no such session type", field="session_type_id")
        if type_row["mentor_id"] == actor.id:
            raise InvalidInput("you cannot book your own session", field="session_type_id")
        starts_at = data.starts_at.astimezone(UTC)
        await _ensure_valid_start(conn, type_row, starts_at, now)
        session_row = await _take_session_seat(conn, platform, type_row, starts_at)
        booking_id = uuid.uuid4()
        try:
            async with conn.transaction():
                await store.insert_booking(
                    conn,
                    booking_id=booking_id,
                    session_id=session_row["id"],
                    mentee_id=actor.id,
                    status="held",
                    amount_minor=type_row["price_minor"],
                    currency=type_row["currency"],
                    idempotency_key=idempotency_key,
                    now=now,
                )
        except asyncpg.UniqueViolationError:
            raise Conflict("you already have a seat in this session") from None
        escrow_id = None
        if type_row["price_minor"] > 0:
            escrow = await hold_escrow(
                conn,
                settings=platform.settings,
                now=now,
                payer_id=actor.id,
                mentor_id=type_row["mentor_id"],
                amount_minor=type_row["price_minor"],
                currency=type_row["currency"],
                reference=f"session:{session_row['id']}",
                idempotency_key=f"booking:{booking_id}",
                release_after=session_row["ends_at"] - now + ESCROW_RELEASE_GRACE,
            )
            escrow_id = escrow.id
        await store.confirm_booking(conn, booking_id, escrow_id)
        common = {
            "session_id": str(session_row["id"]),
            "mentee_id": str(actor.id),
            "mentor_id": str(type_row["mentor_id"]),
        }
        await emit(
            conn,
            events.SESSION_BOOKED,
            {**common, "booking_id": str(booking_id), "starts_at": starts_at.isoformat()},
        )
        if escrow_id is not None:
            await emit(
                conn,
                events.SESSION_PAID,
                {
                    **common,
                    "amount_minor": type_row["price_minor"],
                    "currency": type_row["currency"],
                },
            )
        confirmed = await store.booking(conn, booking_id)
        assert confirmed is not None
        return await _booking_view(platform, conn, confirmed)


async def get_booking(platform: Platform, actor: CurrentUser, booking_id: uuid.UUID) -> BookingView:
    async with platform.pool.acquire() as conn:
        row = await store.booking(conn, booking_id)
        session_row = await store.session(conn, row["session_id"]) if row else None
        if (
            row is None
            or session_row is None
            # Its two parties and staff; not observers: a booking says who meets whom, when.
            or not (actor.id in (row["mentee_id"], session_row["mentor_id"]) or actor.is_staff)
        ):
            raise NotFound("no such booking", field="booking_id")
        return await _booking_view(platform, conn, row)


async def my_bookings(platform: Platform, actor: CurrentUser) -> list[BookingView]:
    async with platform.pool.acquire() as conn:
        return [
            await _booking_view(platform, conn, row)
            for row in await store.bookings_of_mentee(conn, actor.id)
        ]


# ---- cancellation and reschedule ------------------------------------------------------


def refund_bps(platform: Platform, *, by_mentee: bool, starts_at: datetime, now: datetime) -> int:
    """Mentor or staff cancels: everything back. Mentee cancels at least the configured
    hours ahead: everything back; later: the configured part."""
    if not by_mentee:
        return FULL_REFUND_BPS
    window = timedelta(hours=platform.settings.mentorship_full_refund_hours)
    if starts_at - now >= window:
        return FULL_REFUND_BPS
    return platform.settings.mentorship_late_refund_bps


async def _cancel_one(
    conn: Connection,
    platform: Platform,
    booking_row: asyncpg.Record,
    session_row: asyncpg.Record,
    *,
    actor: CurrentUser,
    bps: int,
    now: datetime,
) -> int:
    refunded = 0
    if booking_row["escrow_id"] is not None:
        escrow = await refund_escrow(
            conn,
            booking_row["escrow_id"],
            settings=platform.settings,
            now=now,
            fraction_bps=bps,
        )
        refunded = escrow.refunded_minor
    await store.cancel_booking(
        conn, booking_row["id"], cancelled_by=actor.id, refunded_minor=refunded, now=now
    )
    await emit(
        conn,
        events.SESSION_CANCELLED,
        {
            "session_id": str(session_row["id"]),
            "booking_id": str(booking_row["id"]),
            "mentee_id": str(booking_row["mentee_id"]),
            "cancelled_by": str(actor.id),
        },
    )
    if refunded > 0:
        await emit(
            conn,
            events.SESSION_REFUNDED,
            {
                "session_id": str(session_row["id"]),
                "mentee_id": str(booking_row["mentee_id"]),
                "amount_minor": refunded,
                "currency": booking_row["currency"],
            },
        )
    return refunded


async def cancel_booking(
    platform: Platform, actor: CurrentUser, booking_id: uuid.UUID
) -> BookingView:
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        row = await store.booking(conn, booking_id)
        if row is None:
            raise NotFound("no such booking", field="booking_id")
        # Lock order everywhere: session, then its bookings.
        session_row = await store.lock_session(conn, row["session_id"])
        row = await store.lock_booking(conn, booking_id)
        assert session_row is not None
        assert row is not None
        by_mentee = actor.id == row["mentee_id"]
        if not (by_mentee or actor.id == session_row["mentor_id"] or actor.is_staff):
            raise NotFound("no such booking", field="booking_id")
        if row["status"] == "cancelled":
            return await _booking_view(platform, conn, row)
        if session_row["status"] != "scheduled" or now >= session_row["starts_at"]:
            raise Conflict("a session that has started or ended cannot be cancelled")
        bps = refund_bps(platform, by_mentee=by_mentee, starts_at=session_row["starts_at"], now=now)
        await _cancel_one(conn, platform, row, session_row, actor=actor, bps=bps, now=now)
        if await store.live_booking_count(conn, session_row["id"]) == 0:
            # Nobody left: the mentor's time is free again.
            await store.set_session_status(conn, session_row["id"], "cancelled", now)
        cancelled = await store.booking(conn, booking_id)
        assert cancelled is not None
        return await _booking_view(platform, conn, cancelled)


async def cancel_session(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID
) -> SessionView:
    """The mentor (or staff) calls a session off: every booking is refunded in full."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session_row = await store.lock_session(conn, session_id)
        if session_row is None or not (actor.id == session_row["mentor_id"] or actor.is_staff):
            raise NotFound("no such session", field="session_id")
        if session_row["status"] != "scheduled" or now >= session_row["starts_at"]:
            raise Conflict("a session that has started or ended cannot be cancelled")
        for booking_row in await store.live_bookings_of_session(conn, session_id):
            await _cancel_one(
                conn, platform, booking_row, session_row, actor=actor, bps=FULL_REFUND_BPS, now=now
            )
        await store.set_session_status(conn, session_id, "cancelled", now)
        row = await store.session(conn, session_id)
        assert row is not None
        return session_view(platform, row, show_room=False)


async def reschedule_booking(
    platform: Platform, actor: CurrentUser, booking_id: uuid.UUID, new_start: datetime
) -> BookingView:
    """Move a 1:1 session to another free slot; allowed while a cancellation would still be
    refunded in full (later, cancel under the refund policy instead)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        row = await store.booking(conn, booking_id)
        if row is None:
            raise NotFound("no such booking", field="booking_id")
        session_row = await store.lock_session(conn, row["session_id"])
        assert session_row is not None
        if actor.id not in (row["mentee_id"], session_row["mentor_id"]):
            raise NotFound("no such booking", field="booking_id")
        if row["status"] != "confirmed" or session_row["status"] != "scheduled":
            raise Conflict("only a confirmed, scheduled booking can be rescheduled")
        if session_row["kind"] != SessionKind.ONE_ON_ONE.value:
            raise Conflict("group sessions and workshops keep their time; cancel instead")
        window = timedelta(hours=platform.settings.mentorship_full_refund_hours)
        if session_row["starts_at"] - now < window:
            raise Conflict(
                f"sessions can be moved until {platform.settings.mentorship_full_refund_hours} h "
                "before they start; cancel under the refund policy instead"
            )
        type_row = await store.session_type(conn, session_row["session_type_id"])
        assert type_row is not None
        new_start = new_start.astimezone(UTC)
        await _ensure_valid_start(conn, type_row, new_start, now)
        new_end = new_start + (session_row["ends_at"] - session_row["starts_at"])
        try:
            async with conn.transaction():
                await store.move_session(conn, session_row["id"], new_start, new_end)
        except asyncpg.ExclusionViolationError:
            raise Conflict("that time was just taken; choose another", field="starts_at") from None
        await conn.execute("DELETE FROM session_reminders WHERE session_id = $1", session_row["id"])
        await emit(
            conn,
            events.SESSION_RESCHEDULED,
            {
                "session_id": str(session_row["id"]),
                "starts_at": new_start.isoformat(),
                "ends_at": new_end.isoformat(),
            },
        )
        moved = await store.booking(conn, booking_id)
        assert moved is not None
        return await _booking_view(platform, conn, moved)


# ---- joining, attendance, completion, ratings -----------------------------------------


async def get_session(platform: Platform, actor: CurrentUser, session_id: uuid.UUID) -> SessionView:
    async with platform.pool.acquire() as conn:
        row = await store.session(conn, session_id)
        if row is None:
            raise NotFound("no such session", field="session_id")
        participant = actor.id == row["mentor_id"] or (
            await store.live_booking_of(conn, session_id, actor.id) is not None
        )
        if not participant and not await _visible_to_others(conn, actor, row):
            raise NotFound("no such session", field="session_id")
        return session_view(platform, row, show_room=participant and row["status"] != "cancelled")


async def _visible_to_others(conn: Connection, actor: CurrentUser, row: asyncpg.Record) -> bool:
    """Who besides its mentor and mentees may see a session: staff always; a 1:1 session
    nobody else (its time and mentor are its two parties' business); a cohort's live
    session the cohort's members, as its listing shows them; an open group session or
    workshop anyone, as the slot list already does."""
    if actor.is_staff:
        return True
    if row["kind"] == SessionKind.ONE_ON_ONE.value:
        return False
    if row["cohort_id"] is not None:
        return await curriculum_store.enrolment(conn, row["cohort_id"], actor.id) is not None
    return True


async def join_session(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID
) -> SessionView:
    """Open the room: from 15 minutes before the start to the end. When the mentor and a
    mentee have both joined, that mentee's attendance is recorded (`session.attended`)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session_row = await store.lock_session(conn, session_id)
        if session_row is None or session_row["status"] == "cancelled":
            raise NotFound("no such session", field="session_id")
        if not session_row["starts_at"] - JOIN_EARLY <= now < session_row["ends_at"]:
            raise Conflict("the room opens 15 minutes before the start and closes at the end")
        if actor.id == session_row["mentor_id"]:
            await store.mark_mentor_joined(conn, session_id, now)
        else:
            booking_row = await store.live_booking_of(conn, session_id, actor.id)
            if booking_row is None and session_row["cohort_id"] is not None:
                booking_row = await _cohort_seat(conn, session_row, actor.id, now)
            if booking_row is None or booking_row["status"] != "confirmed":
                raise NotFound("no such session", field="session_id")
            await store.mark_booking_joined(conn, booking_row["id"], now)
        session_row = await store.lock_session(conn, session_id)
        assert session_row is not None
        if session_row["mentor_joined_at"] is not None:
            for booking_row in await store.live_bookings_of_session(conn, session_id):
                if booking_row["joined_at"] is not None and await store.mark_attended(
                    conn, booking_row["id"], now
                ):
                    await emit(
                        conn,
                        events.SESSION_ATTENDED,
                        {
                            "session_id": str(session_id),
                            "mentor_id": str(session_row["mentor_id"]),
                            "mentee_id": str(booking_row["mentee_id"]),
                        },
                    )
        row = await store.session(conn, session_id)
        assert row is not None
        return session_view(platform, row, show_room=True)


async def _cohort_seat(
    conn: Connection, session_row: asyncpg.Record, user_id: uuid.UUID, now: datetime
) -> asyncpg.Record | None:
    """Members of a cohort take a free seat in its live sessions when they first join."""
    if await curriculum_store.enrolment(conn, session_row["cohort_id"], user_id) is None:
        return None
    booking_id = uuid.uuid4()
    await store.insert_booking(
        conn,
        booking_id=booking_id,
        session_id=session_row["id"],
        mentee_id=user_id,
        status="confirmed",
        amount_minor=0,
        currency=session_row["currency"],
        idempotency_key=f"cohort-seat:{session_row['id']}",
        now=now,
    )
    return await store.booking(conn, booking_id)


async def complete_session(
    platform: Platform, actor: CurrentUser | None, session_id: uuid.UUID
) -> SessionView:
    """After the end: the session is completed and its escrowed payments released to the
    mentor. `actor` None is the scheduler."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session_row = await store.lock_session(conn, session_id)
        if session_row is None or (
            actor is not None and actor.id != session_row["mentor_id"] and not actor.is_staff
        ):
            raise NotFound("no such session", field="session_id")
        if session_row["status"] == "cancelled":
            raise Conflict("this session was cancelled")
        if session_row["status"] == "scheduled":
            if now < session_row["ends_at"]:
                raise Conflict("a session can be completed once it has ended")
            bookings = await store.live_bookings_of_session(conn, session_id)
            for booking_row in bookings:
                if booking_row["escrow_id"] is None:
                    continue
                try:
                    await release_escrow(
                        conn, booking_row["escrow_id"], settings=platform.settings, now=now
                    )
                except Conflict:
                    # Disputed: an admin's resolution settles that payment, not completion.
                    log.info("escrow_disputed_at_completion", booking_id=str(booking_row["id"]))
            await store.set_session_status(conn, session_id, "completed", now)
            await emit(
                conn,
                events.SESSION_COMPLETED,
                {
                    "session_id": str(session_id),
                    "mentor_id": str(session_row["mentor_id"]),
                    "mentee_ids": [str(b["mentee_id"]) for b in bookings],
                },
            )
        row = await store.session(conn, session_id)
        assert row is not None
        return session_view(platform, row, show_room=False)


async def complete_ended_sessions(
    platform: Platform, *, after: timedelta = timedelta(hours=2)
) -> int:
    """Complete scheduled sessions that ended more than `after` ago (the mentor forgot)."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        due = await conn.fetch(
            """SELECT id FROM mentor_sessions WHERE status = 'scheduled' AND ends_at <= $1
               ORDER BY ends_at LIMIT 500""",
            now - after,
        )
    completed = 0
    for row in due:
        try:
            await complete_session(platform, None, row["id"])
            completed += 1
        except DomainError as exc:  # one session's problem holds back nobody else
            log.warning("session_not_completed", session_id=str(row["id"]), reason=exc.detail)
    return completed


async def rate_session(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID, data: RatingInput
) -> ReviewView:
    """Both sides rate a completed session once (1–5 and a comment); identity turns
    `session.rated` into the mentor's rating average and reputation."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session_row = await store.lock_session(conn, session_id)
        if session_row is None:
            raise NotFound("no such session", field="session_id")
        bookings = await store.live_bookings_of_session(conn, session_id)
        mentees = {b["mentee_id"] for b in bookings if b["status"] == "confirmed"}
        if actor.id == session_row["mentor_id"]:
            rated = data.rated_id or (next(iter(mentees)) if len(mentees) == 1 else None)
            if rated is None or rated not in mentees:
                raise InvalidInput("name the mentee you are rating", field="rated_id")
        elif actor.id in mentees:
            rated = session_row["mentor_id"]
            if data.rated_id not in (None, rated):
                raise InvalidInput("mentees rate the session's mentor", field="rated_id")
        else:
            raise NotFound("no such session", field="session_id")
        if session_row["status"] != "completed":
            raise Conflict("a session can be rated once it is completed", field="session_id")
        inserted = await store.insert_review(
            conn,
            session_id=session_id,
            rater_id=actor.id,
            rated_id=rated,
            rating=data.rating,
            comment=data.comment,
            now=now,
        )
        if not inserted:
            raise Conflict("you have already rated this session")
        await emit(
            conn,
            events.SESSION_RATED,
            {
                "session_id": str(session_id),
                "rater_id": str(actor.id),
                "rated_id": str(rated),
                "rating": data.rating,
            },
        )
    return ReviewView(
        session_id=session_id,
        rater_id=actor.id,
        rated_id=rated,
        rating=data.rating,
        comment=data.comment,
        created_at=now,
    )


async def reviews_of(platform: Platform, user_id: uuid.UUID, limit: int = 50) -> list[PublicReview]:
    """Anyone may read them, so they name neither the rater nor the session: who met whom
    is the two parties' business."""
    async with platform.pool.acquire() as conn:
        rows = await store.reviews_of(conn, user_id, limit)
    return [
        PublicReview(
            rated_id=r["rated_id"],
            rating=r["rating"],
            comment=r["comment"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


# ---- reminders ------------------------------------------------------------------------


async def emit_due_reminders(platform: Platform) -> int:
    """`session.reminder` for every participant 24 h and 1 h before; a reminder is
    recorded with its event, so running this again (or twice at once) sends nothing twice."""
    now = platform.clock.now()
    sent = 0
    async with transaction(platform.pool) as conn:
        for lead, ahead in REMINDER_LEADS:
            for row in await store.due_reminders(conn, now=now, lead=lead, horizon=now + ahead):
                if await store.record_reminder(conn, row["session_id"], row["user_id"], lead, now):
                    contact = await contact_of(conn, platform.settings, row["user_id"])
                    assert contact is not None  # participants are users (foreign keys)
                    await queue_email(
                        conn,
                        platform.settings,
                        to=contact.email,
                        template=SESSION_REMINDER_TEMPLATE,
                        context={
                            "title": row["title"],
                            "lead": "in 24 hours" if lead == "24h" else "in 1 hour",
                            "starts_at": row["starts_at"].strftime("%Y-%m-%d %H:%M UTC"),
                        },
                        now=now,
                        user_id=row["user_id"],
                    )
                    await emit(
                        conn,
                        events.SESSION_REMINDER,
                        {
                            "session_id": str(row["session_id"]),
                            "user_id": str(row["user_id"]),
                            "lead": lead,
                            "starts_at": row["starts_at"].isoformat(),
                            "title": row["title"],
                        },
                    )
                    sent += 1
    return sent


# ---- cohort live sessions -------------------------------------------------------------


async def create_live_session(
    platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID, data: LiveSessionInput
) -> SessionView:
    """A group live session for a cohort, on the program owner's calendar."""
    now = platform.clock.now()
    starts_at = data.starts_at.astimezone(UTC)
    if starts_at <= now:
        raise InvalidInput("a live session starts in the future", field="starts_at")
    async with transaction(platform.pool) as conn:
        cohort = await curriculum_store.cohort(conn, cohort_id)
        if cohort is None or (cohort["owner_id"] != actor.id and not actor.is_staff):
            raise NotFound("no such cohort of yours", field="cohort_id")
        session_id = uuid.uuid4()
        try:
            async with conn.transaction():
                await store.insert_session(
                    conn,
                    session_id=session_id,
                    mentor_id=cohort["owner_id"],
                    session_type_id=None,
                    kind=SessionKind.GROUP.value,
                    title=data.title,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=data.duration_minutes),
                    capacity=cohort["capacity"],
                    price_minor=0,
                    currency=cohort["currency"],
                    room_name=_new_room_name(),
                    cohort_id=cohort_id,
                    now=now,
                )
        except asyncpg.ExclusionViolationError:
            raise Conflict("the mentor has another session then", field="starts_at") from None
        row = await store.session(conn, session_id)
    assert row is not None
    return session_view(platform, row, show_room=True)


async def cohort_live_sessions(
    platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID
) -> list[SessionView]:
    async with platform.pool.acquire() as conn:
        cohort = await curriculum_store.cohort(conn, cohort_id)
        if cohort is None:
            raise NotFound("no such cohort", field="cohort_id")
        member = (
            actor.id == cohort["owner_id"]
            or actor.is_staff
            or await curriculum_store.enrolment(conn, cohort_id, actor.id) is not None
        )
        if not member:
            raise Forbidden("join the cohort to see its live sessions")
        rows = await store.cohort_sessions(conn, cohort_id)
    return [session_view(platform, r, show_room=r["status"] == "scheduled") for r in rows]


async def attach_recording(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID, data: RecordingInput
) -> SessionView:
    async with transaction(platform.pool) as conn:
        session_row = await store.lock_session(conn, session_id)
        if session_row is None or session_row["mentor_id"] != actor.id:
            raise NotFound("no such session of yours", field="session_id")
        if session_row["cohort_id"] is None:
            raise Conflict("recordings belong to cohort live sessions")
        cohort = await curriculum_store.cohort(conn, session_row["cohort_id"])
        program_id = await curriculum_store.lesson_program_id(conn, data.lesson_id)
        if cohort is None or program_id != cohort["program_id"]:
            raise InvalidInput("the lesson is not in this cohort's program", field="lesson_id")
        await store.set_recording(conn, session_id, data.recording_url, data.lesson_id)
        row = await store.session(conn, session_id)
    assert row is not None
    return session_view(platform, row, show_room=False)


# ---- monthly mentor bonus inputs --------------------------------------------------------


async def mentor_months(conn: Connection, month: str) -> list[MentorMonth]:
    """The wallet's monthly bonus job asks this for each mentor's average rating and
    attendance over `month` (YYYY-MM, UTC)."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return [
        MentorMonth(
            mentor_id=row["mentor_id"],
            avg_rating=row["avg_rating"],
            attendance_bps=row["attendance_bps"],
        )
        for row in await store.mentor_months(conn, start, end)
    ]
