"""Slot generation: 90 days of 30-minute slots from a New York schedule (weekdays
09:00–17:00, crossing the March DST change), shown to a Nairobi viewer. Ours is
`dracarys.mentorship.availability.generate_slots` (zoneinfo, wall-clock aligned, busy
intervals excluded); the peer is pandas (`date_range` per open window, `tz_localize` with
DST handling, `tz_convert`), the usual way to build tz-aware ranges in Python. Both must
produce the same instants; the script checks that before timing.

    uv run python benchmarks/mentorship_slots.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata

import pandas as pd

from dracarys.mentorship.availability import Schedule, generate_slots

ZONE = "America/New_York"
VIEWER = "Africa/Nairobi"
START = datetime(2026, 2, 1, tzinfo=UTC)
DAYS = 90
SLOT = timedelta(minutes=30)
# Two booked sessions a week to exclude.
BUSY = [
    (START + timedelta(days=d, hours=15), START + timedelta(days=d, hours=16))
    for d in range(0, DAYS, 3)
]


def ours() -> list[datetime]:
    schedule = Schedule(ZONE, [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)])
    slots = generate_slots(
        schedule, start=START, end=START + timedelta(days=DAYS), duration=SLOT, busy=BUSY
    )
    viewer = pd.Timestamp(0, tz=VIEWER).tzinfo
    return [s.astimezone(viewer) for s, _ in slots]


def peer() -> list[datetime]:
    days = pd.date_range(START.date(), periods=DAYS + 1, freq="D")
    starts = []
    for day in days:
        if day.weekday() >= 5:
            continue
        window = pd.date_range(
            day + pd.Timedelta(hours=9), day + pd.Timedelta(hours=16, minutes=30), freq="30min"
        )
        starts.append(window.tz_localize(ZONE, nonexistent="shift_forward", ambiguous=False))
    index = starts[0].append(starts[1:]).tz_convert("UTC")
    ends = index + pd.Timedelta(SLOT)
    keep = (index >= pd.Timestamp(START)) & (ends <= pd.Timestamp(START + timedelta(days=DAYS)))
    for busy_start, busy_end in BUSY:
        keep &= ~((index < pd.Timestamp(busy_end)) & (ends > pd.Timestamp(busy_start)))
    return list(index[keep].tz_convert(VIEWER).to_pydatetime())


def best_of(fn: Callable[[], list[datetime]], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    mine, theirs = ours(), peer()
    assert [s.timestamp() for s in mine] == [s.timestamp() for s in theirs], "outputs differ"
    ours_s = best_of(ours, args.repeat)
    peer_s = best_of(peer, args.repeat)
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, pandas {metadata.version('pandas')}, "
        f"tzdata {metadata.version('tzdata')}"
    )
    print(f"slots: {len(mine)} over {DAYS} days ({ZONE} schedule, {VIEWER} viewer), identical")
    print(f"dracarys generate_slots: {ours_s * 1000:8.2f} ms  ({len(mine) / ours_s:,.0f} slots/s)")
    print(f"pandas date_range:       {peer_s * 1000:8.2f} ms  ({len(mine) / peer_s:,.0f} slots/s)")
    print(f"ratio (pandas time / ours): {peer_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
