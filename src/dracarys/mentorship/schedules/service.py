"""A mentor's offer: availability schedules (one is the default), session types (1:1,
group, workshop) and the slots they open, shown in the viewer's timezone. A group
session or workshop already booked at a time stays open there until its seats are taken."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta

from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import Forbidden, InvalidInput, NotFound
from dracarys.identity import CurrentUser, Role
from dracarys.mentorship.availability import Schedule, generate_slots, resolve_timezone
from dracarys.mentorship.schedules import store
from dracarys.mentorship.schedules.models import (
    AvailabilitySchedule,
    ScheduleInput,
    ScheduleView,
    SessionKind,
    SessionType,
    SessionTypeInput,
    SessionTypeView,
    SlotList,
    SlotView,
)
from dracarys.platform import Platform

# ---- views ----------------------------------------------------------------------------


def _schedule_view(schedule: AvailabilitySchedule) -> ScheduleView:
    return ScheduleView(
        id=schedule.id,
        mentor_id=schedule.mentor_id,
        name=schedule.name,
        timezone=schedule.timezone,
        is_default=schedule.is_default,
        weekly_hours=schedule.weekly_hours,
        date_overrides=schedule.date_overrides,
    )


def _type_view(session_type: SessionType) -> SessionTypeView:
    return SessionTypeView(
        id=session_type.id,
        mentor_id=session_type.mentor_id,
        title=session_type.title,
        kind=session_type.kind,
        duration_minutes=session_type.duration_minutes,
        price_minor=session_type.price_minor,
        currency=session_type.currency,
        capacity=session_type.capacity,
        schedule_id=session_type.schedule_id,
        min_notice_minutes=session_type.min_notice_minutes,
        active=session_type.active,
    )


def schedule_of(schedule: AvailabilitySchedule) -> Schedule:
    return Schedule(schedule.timezone, schedule.weekly_hours, schedule.date_overrides)


def _ensure_mentor(actor: CurrentUser) -> None:
    if actor.role is not Role.MENTOR:
        raise Forbidden("only mentors manage schedules and session types")


# ---- schedules ------------------------------------------------------------------------


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
        await xact_lock(conn, "schedules", actor.id)
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
        schedule = await store.schedule(conn, schedule_id)
    assert schedule is not None
    return _schedule_view(schedule)


async def update_schedule(
    platform: Platform, actor: CurrentUser, schedule_id: uuid.UUID, data: ScheduleInput
) -> ScheduleView:
    timezone, weekly, overrides = _schedule_fields(data)
    async with transaction(platform.pool) as conn:
        await xact_lock(conn, "schedules", actor.id)
        schedule = await store.schedule(conn, schedule_id)
        if schedule is None or schedule.mentor_id != actor.id:
            raise NotFound("no such schedule", field="schedule_id")
        is_default = data.is_default or schedule.is_default
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
        return [_schedule_view(s) for s in await store.schedules_of(conn, mentor_id)]


async def has_schedules(platform: Platform, mentor_id: uuid.UUID) -> bool:
    async with platform.pool.acquire() as conn:
        return await store.count_schedules(conn, mentor_id) > 0


async def default_schedules(
    conn: Connection, mentor_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, AvailabilitySchedule]:
    """Each mentor's default schedule (mentors without one are left out)."""
    return await store.default_schedules(conn, mentor_ids)


# ---- session types --------------------------------------------------------------------


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
            if schedule is None or schedule.mentor_id != actor.id:
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
        session_type = await store.session_type(conn, type_id)
    assert session_type is not None
    return _type_view(session_type)


async def list_session_types(platform: Platform, mentor_id: uuid.UUID) -> list[SessionTypeView]:
    async with platform.pool.acquire() as conn:
        return [_type_view(t) for t in await store.session_types_of(conn, [mentor_id])]


async def session_type_of(conn: Connection, type_id: uuid.UUID) -> SessionType | None:
    return await store.session_type(conn, type_id)


async def session_types_by_id(
    conn: Connection, type_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, SessionType]:
    return await store.session_types_by_id(conn, type_ids)


async def session_types_of(conn: Connection, mentor_id: uuid.UUID) -> list[SessionType]:
    """The mentor's active session types, oldest first."""
    return await store.session_types_of(conn, [mentor_id])


# ---- slots ----------------------------------------------------------------------------


async def _schedule_for_type(conn: Connection, session_type: SessionType) -> Schedule | None:
    if session_type.schedule_id is not None:
        schedule = await store.schedule(conn, session_type.schedule_id)
    else:
        defaults = await store.default_schedules(conn, [session_type.mentor_id])
        schedule = defaults.get(session_type.mentor_id)
    return schedule_of(schedule) if schedule is not None else None


async def open_slots(
    conn: Connection,
    session_type: SessionType,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[tuple[datetime, datetime, int]]:
    """(start, end, spots left) of every bookable slot of this session type in the range."""
    schedule = await _schedule_for_type(conn, session_type)
    if schedule is None:
        return []
    earliest = now + timedelta(minutes=session_type.min_notice_minutes)
    start = max(start, earliest)
    if end <= start:
        return []
    duration = timedelta(minutes=session_type.duration_minutes)
    sessions = await store.busy_sessions(conn, session_type.mentor_id, start - duration, end)
    joinable: dict[datetime, int] = {}
    busy: list[tuple[datetime, datetime]] = []
    for s in sessions:
        if s.session_type_id == session_type.id and session_type.kind is not SessionKind.ONE_ON_ONE:
            joinable[s.starts_at] = s.capacity - s.booked
        busy.append((s.starts_at, s.ends_at))
    free = generate_slots(schedule, start=start, end=end, duration=duration, busy=busy)
    slots = [(a, b, session_type.capacity) for a, b in free]
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
        session_type = await store.session_type(conn, session_type_id)
        if session_type is None or not session_type.active:
            raise NotFound("no such session type", field="session_type_id")
        slots = await open_slots(conn, session_type, start=start, end=end, now=now)
    return SlotList(
        session_type_id=session_type_id,
        timezone=str(zone.key),
        slots=[
            SlotView(starts_at=a.astimezone(zone), ends_at=b.astimezone(zone), spots_left=left)
            for a, b, left in slots
        ],
    )


async def ensure_offered_start(
    conn: Connection, session_type: SessionType, starts_at: datetime, now: datetime
) -> None:
    """Refuse a start the session type does not offer: too soon, or outside its schedule."""
    if starts_at.tzinfo is None:
        raise InvalidInput("give starts_at with its UTC offset", field="starts_at")
    earliest = now + timedelta(minutes=session_type.min_notice_minutes)
    if starts_at < earliest:
        raise InvalidInput(
            f"book at least {session_type.min_notice_minutes} minutes ahead", field="starts_at"
        )
    schedule = await _schedule_for_type(conn, session_type)
    duration = timedelta(minutes=session_type.duration_minutes)
    slots = (
        generate_slots(schedule, start=starts_at, end=starts_at + duration, duration=duration)
        if schedule is not None
        else []
    )
    if (starts_at, starts_at + duration) not in slots:
        raise InvalidInput("the mentor does not offer a slot at that time", field="starts_at")
