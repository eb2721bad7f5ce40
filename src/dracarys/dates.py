"""Dates as a person reads them, in the language of their profile (English or Swahili,
Kenya first): what notifications and e-mails say a session starts at, or when a
suspension ends. Pure functions; times are shown in UTC, which the text says."""

from __future__ import annotations

from datetime import UTC, date, datetime

ENGLISH_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SWAHILI_WEEKDAYS = (
    "Jumatatu",
    "Jumanne",
    "Jumatano",
    "Alhamisi",
    "Ijumaa",
    "Jumamosi",
    "Jumapili",
)
SWAHILI_MONTHS = (
    "Januari",
    "Februari",
    "Machi",
    "Aprili",
    "Mei",
    "Juni",
    "Julai",
    "Agosti",
    "Septemba",
    "Oktoba",
    "Novemba",
    "Desemba",
)
_NAMES = {
    "en": (ENGLISH_WEEKDAYS, ENGLISH_MONTHS),
    "sw": (SWAHILI_WEEKDAYS, SWAHILI_MONTHS),
}


def format_day(day: date, language: str) -> str:
    """`Sunday, 6 December 2026` / `Jumapili, 6 Desemba 2026` (English for a language
    without names of its own)."""
    weekdays, months = _NAMES.get(language, _NAMES["en"])
    return f"{weekdays[day.weekday()]}, {day.day} {months[day.month - 1]} {day.year}"


def format_datetime(at: datetime, language: str) -> str:
    """`Sunday, 6 December 2026, 12:00 UTC` / `Jumapili, 6 Desemba 2026, 12:00 UTC`: the
    moment in UTC (a naive datetime is taken as UTC already)."""
    utc = at.astimezone(UTC) if at.tzinfo is not None else at
    return f"{format_day(utc.date(), language)}, {utc:%H:%M} UTC"
