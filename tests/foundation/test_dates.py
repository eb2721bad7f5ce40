"""Dates in the reader's language (`dracarys.dates`): English and Swahili names of every
weekday and month, UTC shown as UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from dracarys.dates import format_datetime, format_day


def test_a_moment_reads_in_english_and_in_swahili() -> None:
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert format_datetime(at, "en") == "Sunday, 6 December 2026, 12:00 UTC"
    assert format_datetime(at, "sw") == "Jumapili, 6 Desemba 2026, 12:00 UTC"
    # A language without names of its own reads English.
    assert format_datetime(at, "fr") == "Sunday, 6 December 2026, 12:00 UTC"


def test_a_moment_in_another_zone_is_shown_in_utc() -> None:
    nairobi = timezone(timedelta(hours=3))
    at = datetime(2026, 12, 7, 1, 30, tzinfo=nairobi)  # 22:30 UTC the day before
    assert format_datetime(at, "sw") == "Jumapili, 6 Desemba 2026, 22:30 UTC"


def test_every_weekday_and_month_has_its_swahili_name() -> None:
    week = [date(2026, 12, 7) + timedelta(days=n) for n in range(7)]  # Monday to Sunday
    assert [format_day(d, "sw").split(",")[0] for d in week] == [
        "Jumatatu",
        "Jumanne",
        "Jumatano",
        "Alhamisi",
        "Ijumaa",
        "Jumamosi",
        "Jumapili",
    ]
    assert format_day(week[0], "en") == "Monday, 7 December 2026"
    months = [format_day(date(2026, m, 1), "sw").split(" ")[2] for m in range(1, 13)]
    assert months == [
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
    ]
    assert format_day(date(2027, 3, 1), "en") == "Monday, 1 March 2027"
