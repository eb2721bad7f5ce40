"""Availability, the Cal.com way: a schedule has its own IANA timezone, weekly hours and
date overrides; slots are generated as wall-clock times in the schedule's zone, turned
into instants with zoneinfo (so 09:00 in New York stays 09:00 across a DST change) and
shown in the viewer's zone. Pure functions: no database, no clock."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from dracarys.errors import InvalidInput

# Common abbreviations people type, mapped to one representative IANA zone each. An
# abbreviation names an offset, not a zone, so the zone chosen is the one most users of it
# live in (EAT → Nairobi); the DST twin maps to the same zone (EST and EDT → New York).
TIMEZONE_ABBREVIATIONS: dict[str, str] = {
    "UTC": "UTC",
    "GMT": "Europe/London",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "EET": "Europe/Athens",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "WAT": "Africa/Lagos",
    "CAT": "Africa/Maputo",
    "SAST": "Africa/Johannesburg",
    "EAT": "Africa/Nairobi",
    "GST": "Asia/Dubai",
    "PKT": "Asia/Karachi",
    "IST": "Asia/Kolkata",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "CST_CN": "Asia/Shanghai",
    "JST": "Asia/Tokyo",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
    "ET": "America/New_York",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CT": "America/Chicago",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "MT": "America/Denver",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PT": "America/Los_Angeles",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "BRT": "America/Sao_Paulo",
}

# A viewer's working hours when the search asks for timezone overlap.
VIEWER_DAY_START = time(8, 0)
VIEWER_DAY_END = time(20, 0)


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def resolve_timezone(name: str, field: str = "timezone") -> zoneinfo.ZoneInfo:
    """An IANA name (`Africa/Nairobi`) or a common abbreviation (`EAT`) → its zone."""
    candidate = name.strip()
    mapped = TIMEZONE_ABBREVIATIONS.get(candidate.upper())
    if mapped is not None:
        return zoneinfo.ZoneInfo(mapped)
    if candidate in _iana_names():
        return zoneinfo.ZoneInfo(candidate)
    raise InvalidInput(
        f"unknown timezone {name!r}: use an IANA name such as Africa/Nairobi or an "
        "abbreviation such as EAT",
        field=field,
    )


def parse_hhmm(value: str, field: str) -> time:
    try:
        hours, minutes = value.split(":")
        if hours == "24" and minutes == "00":
            return time.max
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise InvalidInput(f"{value!r} is not a time of day HH:MM", field=field) from exc


def _interval_pairs(raw: Iterable[dict[str, str]], field: str) -> list[tuple[time, time]]:
    pairs = []
    for item in raw:
        start = parse_hhmm(item["start"], field)
        end = parse_hhmm(item["end"], field)
        if end <= start:
            raise InvalidInput("an interval must end after it starts", field=field)
        pairs.append((start, end))
    return pairs


class Schedule:
    """A schedule in its own zone: weekly intervals per weekday (0 = Monday) and dated
    overrides that replace a day's hours (an empty override makes the day unavailable)."""

    __slots__ = ("overrides", "tz", "weekly")

    def __init__(
        self,
        timezone: str,
        weekly_hours: Sequence[dict[str, object]],
        date_overrides: Sequence[dict[str, object]] = (),
    ) -> None:
        self.tz = resolve_timezone(timezone)
        self.weekly: dict[int, list[tuple[time, time]]] = {d: [] for d in range(7)}
        for entry in weekly_hours:
            weekday = int(str(entry["weekday"]))
            if not 0 <= weekday <= 6:
                raise InvalidInput("weekday is 0 (Monday) to 6 (Sunday)", field="weekly_hours")
            self.weekly[weekday] += _interval_pairs(
                [{"start": str(entry["start"]), "end": str(entry["end"])}], "weekly_hours"
            )
        self.overrides: dict[date, list[tuple[time, time]]] = {}
        for override in date_overrides:
            try:
                day = date.fromisoformat(str(override["date"]))
            except ValueError as exc:
                raise InvalidInput(
                    "an override date is YYYY-MM-DD", field="date_overrides"
                ) from exc
            intervals = override.get("intervals") or []
            assert isinstance(intervals, list)
            self.overrides[day] = _interval_pairs(intervals, "date_overrides")

    def intervals_on(self, day: date) -> list[tuple[time, time]]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly[day.weekday()]

    def windows(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (UTC instants, not clipped) of every local day that touches
        `start`..`end`."""
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        while day <= last:
            for open_at, close_at in self.intervals_on(day):
                begin = _instant(day, open_at, self.tz)
                finish = (
                    _instant(day + timedelta(days=1), time(0, 0), self.tz)
                    if close_at == time.max
                    else _instant(day, close_at, self.tz)
                )
                if finish > start and begin < end:
                    yield begin, finish
            day += timedelta(days=1)


def _instant(day: date, at: time, tz: zoneinfo.ZoneInfo) -> datetime:
    """The instant a wall-clock time happens in `tz`. A time skipped by a spring-forward
    change lands past the gap (PEP 495 fold=0); an ambiguous one takes the first."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def generate_slots(
    schedule: Schedule,
    *,
    start: datetime,
    end: datetime,
    duration: timedelta,
    busy: Sequence[tuple[datetime, datetime]] = (),
    step: timedelta | None = None,
) -> list[tuple[datetime, datetime]]:
    """Bookable (start, end) instants in UTC: consecutive slots of `duration` from each
    window's opening (wall-clock aligned in the schedule's zone), none overlapping `busy`."""
    step = step or duration
    slots: list[tuple[datetime, datetime]] = []
    for window_start, window_end in schedule.windows(start, end):
        cursor = window_start
        while cursor + duration <= window_end:
            slot_end = cursor + duration
            free = not any(b_start < slot_end and cursor < b_end for b_start, b_end in busy)
            if free and cursor >= start and slot_end <= end:
                slots.append((cursor, slot_end))
            cursor += step
    slots.sort()
    return slots


def weekly_overlap_minutes(
    schedule: Schedule, viewer_tz: zoneinfo.ZoneInfo, *, week_start: datetime
) -> int:
    """Minutes in the week from `week_start` when the schedule is open and it is working
    hours (08:00–20:00) in the viewer's zone."""
    end = week_start + timedelta(days=7)
    viewer = Schedule(
        str(viewer_tz.key),
        [
            {
                "weekday": d,
                "start": VIEWER_DAY_START.strftime("%H:%M"),
                "end": VIEWER_DAY_END.strftime("%H:%M"),
            }
            for d in range(7)
        ],
    )
    mine = list(schedule.windows(week_start, end))
    theirs = list(viewer.windows(week_start, end))
    total = timedelta()
    for a_start, a_end in mine:
        for b_start, b_end in theirs:
            overlap = min(a_end, b_end, end) - max(a_start, b_start, week_start)
            if overlap > timedelta():
                total += overlap
    return int(total.total_seconds() // 60)
