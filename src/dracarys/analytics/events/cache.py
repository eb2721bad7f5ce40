"""The KPI engine's columnar cache of the analytics stream: the facts of every event
recorded by a transaction below some id, kept as Parquet segments on local disk, so that a
dashboard over millions of events reads columns instead of pulling a dozen fields out of
each event's jsonb in PostgreSQL.

A segment `facts-<low>-<high>.parquet` holds the facts of exactly the events whose
`recorded_xid` is in [low, high), where `high` was a snapshot's xmin when it was written:
every transaction below it had finished, so no event can ever join that range. The cache
is the chain of segments from 0 (at each point the segment reaching furthest), and its end
is where the caller's read from PostgreSQL starts. Nothing here speaks SQL.

Safe when processes share the folder: a segment is written under a temporary name and
renamed into place, so a reader never sees a half-written file (a crash leaves only a
`.writing` file, which no reader opens and a later writer removes); two processes writing
the same range write the same rows; overlapping segments are left out of the chain, and a
segment is removed only once the chain covers it, a reader that loses that race reading
the folder again."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

_NAME = re.compile(r"^facts-(\d{20})-(\d{20})\.parquet$")
# A `.writing` file older than this is a crashed writer's: nobody renames it any more.
STALE_WRITING_S = 3600.0
# Attempts at reading the chain when a segment vanishes under us (pruned by a compaction
# in another process between listing the folder and opening the file).
_READ_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Segment:
    """The facts of the events recorded by transactions in [low, high)."""

    low: int
    high: int
    path: Path


def segment_name(low: int, high: int) -> str:
    return f"facts-{low:020d}-{high:020d}.parquet"


def segments(folder: Path) -> list[Segment]:
    """The complete segments in the folder (none if it does not exist yet)."""
    try:
        paths = list(folder.iterdir())
    except FileNotFoundError:
        return []
    found = []
    for path in paths:
        match = _NAME.match(path.name)
        if match and int(match[1]) < int(match[2]):
            found.append(Segment(int(match[1]), int(match[2]), path))
    return found


def chain(found: list[Segment]) -> list[Segment]:
    """The segments covering [0, end) without overlap, reaching as far as they can: from 0,
    at each point the one starting there that ends furthest."""
    by_low: dict[int, Segment] = {}
    for segment in found:
        best = by_low.get(segment.low)
        if best is None or segment.high > best.high:
            by_low[segment.low] = segment
    links: list[Segment] = []
    point = 0
    while (link := by_low.get(point)) is not None:
        links.append(link)
        point = link.high
    return links


def read(folder: Path) -> tuple[list[Segment], pl.DataFrame | None]:
    """The chain and its facts (None when the cache is empty); its end is the last
    segment's `high`, or 0."""
    for _ in range(_READ_ATTEMPTS):
        links = chain(segments(folder))
        if not links:
            return [], None
        try:
            return links, pl.read_parquet([segment.path for segment in links])
        except FileNotFoundError:
            continue
    raise RuntimeError(f"The analytics cache in {folder} kept changing while being read.")


def write(folder: Path, low: int, high: int, frame: pl.DataFrame) -> Segment:
    """Write the facts of [low, high) as a segment: aside, flushed to disk, then renamed,
    so the segment's name only ever names a whole file."""
    folder.mkdir(parents=True, exist_ok=True)
    name = segment_name(low, high)
    aside = folder / f".{name}.{os.getpid()}-{uuid.uuid4().hex}.writing"
    try:
        frame.write_parquet(aside, compression="lz4", statistics=False)
        with aside.open("rb") as written:
            os.fsync(written.fileno())
        aside.replace(folder / name)
    finally:
        aside.unlink(missing_ok=True)
    return Segment(low, high, folder / name)


def prune(folder: Path) -> None:
    """Remove the segments the chain has gone past (their events are in a longer segment)
    and crashed writers' leftovers."""
    found = segments(folder)
    links = chain(found)
    end = links[-1].high if links else 0
    kept = {segment.path for segment in links}
    for segment in found:
        if segment.path not in kept and segment.high <= end:
            segment.path.unlink(missing_ok=True)
    now = time.time()
    for path in folder.glob(".facts-*.writing"):
        try:
            if now - path.stat().st_mtime > STALE_WRITING_S:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
