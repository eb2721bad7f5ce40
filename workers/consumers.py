"""Which domain service consumes which outbox topic. Each consumer has a stable name: it is
the de-duplication key in `processed_events`, so renaming one re-delivers history."""

from __future__ import annotations

from dataclasses import dataclass

from dracarys.outbox import EventHandler


@dataclass(frozen=True, slots=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handler: EventHandler


CONSUMERS: list[Consumer] = []


def consumers_for(topic: str) -> list[Consumer]:
    return [c for c in CONSUMERS if topic in c.topics or "*" in c.topics]
