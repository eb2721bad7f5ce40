"""Sessions on a mentor's calendar: who may see one, joining its video room (attendance
is recorded when mentor and mentee have both joined), completion (which releases the
escrowed payments), ratings, reminders before the start, and a cohort's live sessions
with their recordings linked to the cohort's lessons."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import structlog

from dracarys.curriculum import cohort_members, cohort_of, is_cohort_member, link_lesson_recording
from dracarys.dates import format_datetime
from dracarys.db import Connection, transaction
from dracarys.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from dracarys.identity import (
    CurrentUser,
    Role,
    contact_of,
    display_names,
    language_of,
    timezone_of,
)
from dracarys.mentorship import events
from dracarys.mentorship.availability import resolve_timezone
from dracarys.mentorship.schedules.models import SessionKind
from dracarys.mentorship.schedules.service import default_schedules
from dracarys.mentorship.sessions import store
from dracarys.mentorship.sessions.models import (
    AttendeeView,
    CalendarSession,
    DueSession,
    LiveSessionInput,
    MentorSession,
    MentorWeek,
    PublicReview,
    RatingInput,
    RecordingInput,
    ReviewView,
    SessionBooking,
    SessionView,
)
from dracarys.messaging import EmailTemplate, queue_email
from dracarys.outbox import emit_event
from dracarys.platform import Platform
from dracarys.wallet import release_escrow

log = structlog.get_logger("dracarys.mentorship")

# Participants may open the room this long before the start.
JOIN_EARLY = timedelta(minutes=15)
# The scheduler completes sessions whose mentor forgot, this many at a time.
COMPLETIONS_PER_RUN = 500
REMINDER_LEADS: tuple[tuple[str, timedelta], ...] = (
    ("24h", timedelta(hours=24)),
    ("1h", timedelta(hours=1)),
)
# Reminders are sent in one transaction: at most this many a run (the next run goes on).
REMINDERS_PER_RUN = 1000
DUE_SESSIONS_PAGE = 200
SESSION_REMINDER_TEMPLATE = EmailTemplate(
    name="mentorship.session_reminder",
    subject="Reminder: $title starts $lead",
    text='Your Dracarys session "$title" starts $lead, at $starts_at.\n'
    "Open the session page to join the video room when it opens.",
)
# The reminder in each language of a profile (issue 20 item 8): the Swahili keeps the
# English name and placeholders; `lead` and `starts_at` are filled in the same language.
SESSION_REMINDER_TEMPLATES = {
    "en": SESSION_REMINDER_TEMPLATE,
    "sw": EmailTemplate(
        name="mentorship.session_reminder",
        subject="Kikumbusho: $title kinaanza $lead",
        text='Kipindi chako cha Dracarys "$title" kinaanza $lead, yaani $starts_at.\n'
        "Fungua ukurasa wa kipindi ili ujiunge na chumba cha video kitakapofunguliwa.",
    ),
}
REMINDER_LEAD_WORDS = {
    "en": {"24h": "in 24 hours", "1h": "in 1 hour"},
    "sw": {"24h": "baada ya saa 24", "1h": "baada ya saa 1"},
}


# ---- views ----------------------------------------------------------------------------


def room_url(platform: Platform, room_name: str) -> str:
    return f"{platform.settings.jitsi_base_url.rstrip('/')}/{room_name}"


def new_room_name() -> str:
    # 144 random bits: a room nobody can guess from the outside.
    return f"dracarys-{secrets.token_urlsafe(18)}"


def session_view(platform: Platform, session: MentorSession, *, show_room: bool) -> SessionView:
    return SessionView(
        id=session.id,
        mentor_id=session.mentor_id,
        kind=session.kind,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        status=session.status,
        capacity=session.capacity,
        booked=session.booked,
        cohort_id=session.cohort_id,
        lesson_id=session.lesson_id,
        recording_url=session.recording_url,
        session_type_id=session.session_type_id,
        room_url=room_url(platform, session.room_name) if show_room else None,
    )


# ---- seeing and joining ---------------------------------------------------------------


async def get_session(platform: Platform, actor: CurrentUser, session_id: uuid.UUID) -> SessionView:
    async with platform.pool.acquire() as conn:
        session = await store.session(conn, session_id)
        if session is None:
            raise NotFound("no such session", field="session_id")
        participant = actor.id == session.mentor_id or (
            await store.live_booking_of(conn, session_id, actor.id) is not None
        )
        if not participant and not await _visible_to_others(conn, actor, session):
            raise NotFound("no such session", field="session_id")
        return session_view(
            platform, session, show_room=participant and session.status != "cancelled"
        )


async def _visible_to_others(conn: Connection, actor: CurrentUser, session: MentorSession) -> bool:
    """Who besides its mentor and mentees may see a session: staff always; a 1:1 session
    nobody else (its time and mentor are its two parties' business); a cohort's live
    session the cohort's members, as its listing shows them; an open group session or
    workshop anyone, as the slot list already does."""
    if actor.is_staff:
        return True
    if session.kind is SessionKind.ONE_ON_ONE:
        return False
    if session.cohort_id is not None:
        return await is_cohort_member(conn, session.cohort_id, actor.id)
    return True


async def join_session(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID
) -> SessionView:
    """Open the room: from 15 minutes before the start to the end. When the mentor and a
    mentee have both joined, that mentee's attendance is recorded (`session.attended`)."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session = await store.lock_session(conn, session_id)
        if session is None or session.status == "cancelled":
            raise NotFound("no such session", field="session_id")
        if not session.starts_at - JOIN_EARLY <= now < session.ends_at:
            raise Conflict("the room opens 15 minutes before the start and closes at the end")
        if actor.id == session.mentor_id:
            await store.mark_mentor_joined(conn, session_id, now)
        else:
            booking = await store.live_booking_of(conn, session_id, actor.id)
            if booking is None and session.cohort_id is not None:
                booking = await _cohort_seat(conn, session, actor.id, now)
            if booking is None or booking.status != "confirmed":
                raise NotFound("no such session", field="session_id")
            await store.mark_booking_joined(conn, booking.id, now)
        session = await store.lock_session(conn, session_id)
        assert session is not None
        if session.mentor_joined_at is not None:
            for booking in await store.live_bookings_of_session(conn, session_id):
                if booking.joined_at is not None and await store.mark_attended(
                    conn, booking.id, now
                ):
                    await emit_event(
                        conn,
                        events.SessionAttended(
                            session_id=session_id,
                            mentor_id=session.mentor_id,
                            mentee_id=booking.mentee_id,
                        ),
                    )
        updated = await store.session(conn, session_id)
        assert updated is not None
        return session_view(platform, updated, show_room=True)


async def _cohort_seat(
    conn: Connection, session: MentorSession, user_id: uuid.UUID, now: datetime
) -> SessionBooking | None:
    """Members of a cohort take a free seat in its live sessions when they first join."""
    assert session.cohort_id is not None
    if not await is_cohort_member(conn, session.cohort_id, user_id):
        return None
    booking_id = uuid.uuid4()
    await store.insert_booking(
        conn,
        booking_id=booking_id,
        session_id=session.id,
        mentee_id=user_id,
        status="confirmed",
        amount_minor=0,
        currency=session.currency,
        idempotency_key=f"cohort-seat:{session.id}",
        now=now,
    )
    return await store.booking(conn, booking_id)


# ---- the mentor's calendar ------------------------------------------------------------


async def mentor_week(
    platform: Platform, actor: CurrentUser, *, start_date: date | None, days: int
) -> MentorWeek:
    """The caller's own sessions (booked 1:1s, group sessions, cohort live sessions) that
    start in `days` days from `start_date` (default: this week's Monday) of the mentor's
    zone, each with its mentees' seats, attendance and the mentor's ratings of them."""
    if actor.role is not Role.MENTOR:
        raise Forbidden("only mentors have a session calendar")
    async with platform.pool.acquire() as conn:
        zone_name = await timezone_of(conn, actor.id)
        if zone_name is None:
            default = (await default_schedules(conn, [actor.id])).get(actor.id)
            zone_name = default.timezone if default is not None else "UTC"
        zone = resolve_timezone(zone_name)
        if start_date is None:
            today = platform.clock.now().astimezone(zone).date()
            start_date = today - timedelta(days=today.weekday())
        start = datetime.combine(start_date, time(0), tzinfo=zone)
        end = datetime.combine(start_date + timedelta(days=days), time(0), tzinfo=zone)
        found = await store.sessions_of_mentor(conn, actor.id, start, end)
        ids = [s.id for s in found]
        seats = await store.seats_of_sessions(conn, ids)
        names = await display_names(conn, platform.settings, {seat.mentee_id for seat in seats})
        rated = await store.ratings_given(conn, actor.id, ids)
    calendar = [
        CalendarSession(
            session=session_view(platform, s, show_room=s.status == "scheduled"),
            attendees=[
                AttendeeView(
                    booking_id=seat.id,
                    mentee_id=seat.mentee_id,
                    name=names.get(seat.mentee_id, ""),
                    status=seat.status,
                    joined_at=seat.joined_at,
                    attended_at=seat.attended_at,
                    my_rating=rated.get((s.id, seat.mentee_id)),
                )
                for seat in seats
                if seat.session_id == s.id
            ],
        )
        for s in found
    ]
    return MentorWeek(timezone=zone.key, start_date=start_date, days=days, sessions=calendar)


# ---- completion and ratings -----------------------------------------------------------


async def complete_session(
    platform: Platform, actor: CurrentUser | None, session_id: uuid.UUID
) -> SessionView:
    """After the end: the session is completed and its escrowed payments released to the
    mentor. `actor` None is the scheduler."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session = await store.lock_session(conn, session_id)
        if session is None or (
            actor is not None and actor.id != session.mentor_id and not actor.is_staff
        ):
            raise NotFound("no such session", field="session_id")
        if session.status == "cancelled":
            raise Conflict("this session was cancelled")
        if session.status == "scheduled":
            if now < session.ends_at:
                raise Conflict("a session can be completed once it has ended")
            bookings = await store.live_bookings_of_session(conn, session_id)
            for booking in bookings:
                if booking.escrow_id is None:
                    continue
                try:
                    await release_escrow(
                        conn, booking.escrow_id, settings=platform.settings, now=now
                    )
                except Conflict:
                    # Disputed: an admin's resolution settles that payment, not completion.
                    log.info("escrow_disputed_at_completion", booking_id=str(booking.id))
            await store.set_session_status(conn, session_id, "completed", now)
            await emit_event(
                conn,
                events.SessionCompleted(
                    session_id=session_id,
                    mentor_id=session.mentor_id,
                    mentee_ids=[b.mentee_id for b in bookings],
                ),
            )
        updated = await store.session(conn, session_id)
        assert updated is not None
        return session_view(platform, updated, show_room=False)


async def complete_ended_sessions(
    platform: Platform, *, after: timedelta = timedelta(hours=2)
) -> int:
    """Complete scheduled sessions that ended more than `after` ago (the mentor forgot)."""
    now = platform.clock.now()
    async with platform.pool.acquire() as conn:
        due = await store.ended_scheduled_sessions(conn, now - after, COMPLETIONS_PER_RUN)
    completed = 0
    for session_id in due:
        try:
            await complete_session(platform, None, session_id)
            completed += 1
        except DomainError as exc:  # one session's problem holds back nobody else
            log.warning("session_not_completed", session_id=str(session_id), reason=exc.detail)
    return completed


async def rate_session(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID, data: RatingInput
) -> ReviewView:
    """Both sides rate a completed session once (1–5 and a comment); identity turns
    `session.rated` into the mentor's rating average and reputation."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        session = await store.lock_session(conn, session_id)
        if session is None:
            raise NotFound("no such session", field="session_id")
        bookings = await store.live_bookings_of_session(conn, session_id)
        mentees = {b.mentee_id for b in bookings if b.status == "confirmed"}
        if actor.id == session.mentor_id:
            rated = data.rated_id or (next(iter(mentees)) if len(mentees) == 1 else None)
            if rated is None or rated not in mentees:
                raise InvalidInput("name the mentee you are rating", field="rated_id")
        elif actor.id in mentees:
            rated = session.mentor_id
            if data.rated_id not in (None, rated):
                raise InvalidInput("mentees rate the session's mentor", field="rated_id")
        else:
            raise NotFound("no such session", field="session_id")
        if session.status != "completed":
            raise Conflict("a session can be rated once it is completed", field="session_id")
        inserted = await store.insert_review(
            conn,
            session_id=session_id,
            rater_id=actor.id,
            rated_id=rated,
            rating=data.rating,
            comment=data.comment,
            now=now,
            recommend=data.recommend,
        )
        if not inserted:
            raise Conflict("you have already rated this session")
        await emit_event(
            conn,
            events.SessionRated(
                session_id=session_id,
                rater_id=actor.id,
                rated_id=rated,
                rating=data.rating,
                recommend=data.recommend,
                mentor_id=session.mentor_id,
            ),
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
        reviews = await store.reviews_of(conn, user_id, limit)
    return [
        PublicReview(
            rated_id=r.rated_id, rating=r.rating, comment=r.comment, created_at=r.created_at
        )
        for r in reviews
    ]


# ---- reminders ------------------------------------------------------------------------


async def emit_due_reminders(platform: Platform) -> int:
    """`session.reminder` for every participant 24 h and 1 h before; a reminder is
    recorded with its event, so running this again (or twice at once) sends nothing twice."""
    now = platform.clock.now()
    sent = 0
    async with transaction(platform.pool) as conn:
        for lead, ahead in REMINDER_LEADS:
            after: tuple[datetime, uuid.UUID] | None = None
            while sent < REMINDERS_PER_RUN:
                due = await store.due_sessions(
                    conn, start=now, end=now + ahead, after=after, limit=DUE_SESSIONS_PAGE
                )
                if not due:
                    break
                after = (due[-1].starts_at, due[-1].id)
                sent += await _remind(conn, platform, due, lead, now, REMINDERS_PER_RUN - sent)
    return sent


def _participants(
    session: DueSession, members: dict[uuid.UUID, list[uuid.UUID]]
) -> list[uuid.UUID]:
    """Who a session reminds: its mentor (when someone is coming or it is a cohort's), its
    mentees with a confirmed seat and, for a cohort live session, every member."""
    cohort = members.get(session.cohort_id, []) if session.cohort_id is not None else []
    mentor = [session.mentor_id] if session.cohort_id is not None or session.mentee_ids else []
    return list(dict.fromkeys([*mentor, *session.mentee_ids, *cohort]))


async def _remind(
    conn: Connection,
    platform: Platform,
    due: list[DueSession],
    lead: str,
    now: datetime,
    budget: int,
) -> int:
    members = await cohort_members(conn, {s.cohort_id for s in due if s.cohort_id is not None})
    done = await store.reminded(conn, [s.id for s in due], lead)
    sent = 0
    for session in due:
        for user_id in _participants(session, members):
            if sent >= budget:
                return sent
            if (session.id, user_id) in done or not await store.record_reminder(
                conn, session.id, user_id, lead, now
            ):
                continue
            contact = await contact_of(conn, platform.settings, user_id)
            assert contact is not None  # participants are users (foreign keys)
            language = "sw" if await language_of(conn, user_id) == "sw" else "en"
            await queue_email(
                conn,
                platform.settings,
                to=contact.email,
                template=SESSION_REMINDER_TEMPLATES[language],
                context={
                    "title": session.title,
                    "lead": REMINDER_LEAD_WORDS[language][lead],
                    "starts_at": format_datetime(session.starts_at, language),
                },
                now=now,
                user_id=user_id,
            )
            await emit_event(
                conn,
                events.SessionReminder(
                    session_id=session.id,
                    user_id=user_id,
                    lead=lead,
                    starts_at=session.starts_at,
                    title=session.title,
                ),
            )
            sent += 1
    return sent


# ---- cohort live sessions -------------------------------------------------------------


async def create_live_session(
    platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID, data: LiveSessionInput
) -> SessionView:
    """A group live session for a cohort, on the program owner's calendar."""
    if actor.role not in (Role.MENTOR, Role.ADMIN):
        raise Forbidden("only the cohort's mentor schedules its live sessions")
    now = platform.clock.now()
    starts_at = data.starts_at.astimezone(UTC)
    if starts_at <= now:
        raise InvalidInput("a live session starts in the future", field="starts_at")
    async with transaction(platform.pool) as conn:
        cohort = await cohort_of(conn, cohort_id)
        if cohort is None or (cohort.owner_id != actor.id and not actor.is_staff):
            raise NotFound("no such cohort of yours", field="cohort_id")
        session_id = uuid.uuid4()
        try:
            async with conn.transaction():
                await store.insert_session(
                    conn,
                    session_id=session_id,
                    mentor_id=cohort.owner_id,
                    session_type_id=None,
                    kind=SessionKind.GROUP.value,
                    title=data.title,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=data.duration_minutes),
                    capacity=cohort.capacity,
                    price_minor=0,
                    currency=cohort.currency,
                    room_name=new_room_name(),
                    cohort_id=cohort_id,
                    now=now,
                )
        except asyncpg.ExclusionViolationError:
            raise Conflict("the mentor has another session then", field="starts_at") from None
        session = await store.session(conn, session_id)
    assert session is not None
    return session_view(platform, session, show_room=True)


async def cohort_live_sessions(
    platform: Platform, actor: CurrentUser, cohort_id: uuid.UUID
) -> list[SessionView]:
    async with platform.pool.acquire() as conn:
        cohort = await cohort_of(conn, cohort_id)
        if cohort is None:
            raise NotFound("no such cohort", field="cohort_id")
        member = (
            actor.id == cohort.owner_id
            or actor.is_staff
            or await is_cohort_member(conn, cohort_id, actor.id)
        )
        if not member:
            raise Forbidden("join the cohort to see its live sessions")
        sessions = await store.cohort_sessions(conn, cohort_id)
    return [session_view(platform, s, show_room=s.status == "scheduled") for s in sessions]


async def attach_recording(
    platform: Platform, actor: CurrentUser, session_id: uuid.UUID, data: RecordingInput
) -> SessionView:
    """The mentor links a session's recording: a cohort live session's to a lesson of the
    cohort's program (the lesson then lists it); a booked session's for its participants,
    who see it with the session."""
    async with transaction(platform.pool) as conn:
        session = await store.lock_session(conn, session_id)
        if session is None or session.mentor_id != actor.id:
            raise NotFound("no such session of yours", field="session_id")
        if session.status == "cancelled":
            raise Conflict("a cancelled session has no recording")
        if session.cohort_id is None:
            if data.lesson_id is not None:
                raise InvalidInput(
                    "only a cohort's live session links to a lesson", field="lesson_id"
                )
            await store.set_recording(conn, session_id, data.recording_url, None)
            updated = await store.session(conn, session_id)
            assert updated is not None
            return session_view(platform, updated, show_room=False)
        if data.lesson_id is None:
            raise InvalidInput(
                "choose the lesson of the cohort's program this recording belongs to",
                field="lesson_id",
            )
        cohort = await cohort_of(conn, session.cohort_id)
        if cohort is None:
            raise InvalidInput("the lesson is not in this cohort's program", field="lesson_id")
        await link_lesson_recording(
            conn,
            cohort,
            lesson_id=data.lesson_id,
            session_id=session_id,
            title=session.title,
            starts_at=session.starts_at,
            recording_url=data.recording_url,
            now=platform.clock.now(),
        )
        await store.set_recording(conn, session_id, data.recording_url, data.lesson_id)
        updated = await store.session(conn, session_id)
    assert updated is not None
    return session_view(platform, updated, show_room=False)
