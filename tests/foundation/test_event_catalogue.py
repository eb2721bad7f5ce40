"""One event catalogue (issue 16 item 6): every outbox topic is defined once, by its
producer, as a typed payload (an `EventPayload` with its `topic`, in the producing domain's
`events.py`), and domain code emits only such payloads (`emit_event`). A consumed topic has
a producer, or awaits one (`AWAITING`, naming the issue that adds it); a produced topic has
a consumer (`workers.consumers.CONSUMERS`, the only consumer registry: the wallet's live
topics are one of its entries), or a line saying who reads it outside (`READ_OUTSIDE`).

The checks are pure functions over what the code defines, so the tests that plant a bogus
topic feed them different inputs and read the failure."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import dracarys
from dracarys.outbox import EventPayload
from workers.consumers import CONSUMERS

ROOT = Path(__file__).resolve().parents[2]
# Where domain code lives; the outbox itself defines the raw `emit` that tests plant with.
SOURCES = (ROOT / "src" / "dracarys", ROOT / "workers")
RAW_EMIT_ALLOWED = {ROOT / "src" / "dracarys" / "outbox.py"}

# Consumed, with no producer yet: topic → the issue that adds the producer, and why.
AWAITING: dict[str, str] = {}

# Produced, with no consumer in this code base: topic → who reads it, and why. Analytics
# (issue 22) copies every other event about how people use the platform into its stream.
READ_OUTSIDE: dict[str, str] = {
    "aml.alert_raised": (
        "staff read AML alerts on /staff/aml; the analytics stream does not copy them yet"
    ),
    "aml.case_decided": (
        "each AML decision is in the audit trail; the analytics stream does not copy it yet"
    ),
    "paper.order_filled": (
        "the portfolio's live channel gets fills from the paper loop directly; analytics "
        "does not copy them (one row per paper fill would dwarf its stream: trading keeps "
        "the fills)"
    ),
}

_RAW_EMIT = re.compile(r"(?<!def )\bemit(?:_many)?\(")


def payload_types() -> list[type[EventPayload]]:
    """Every payload with a topic defined in a domain's `events` module."""
    found: list[type[EventPayload]] = []
    for module_info in pkgutil.walk_packages(dracarys.__path__, "dracarys."):
        if not module_info.name.endswith(".events"):
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, EventPayload)
                and value.__module__ == module.__name__
                and isinstance(getattr(value, "topic", None), str)
            ):
                found.append(value)
    return found


def produced_topics() -> dict[str, list[str]]:
    """topic → the payload types that define it (one, if the catalogue holds)."""
    produced: dict[str, list[str]] = defaultdict(list)
    for payload in payload_types():
        produced[payload.topic].append(f"{payload.__module__}.{payload.__qualname__}")
    return dict(produced)


def consumed_topics() -> dict[str, list[str]]:
    """topic → the consumers that take it."""
    consumed: dict[str, list[str]] = defaultdict(list)
    for consumer in CONSUMERS:
        for topic in consumer.topics:
            consumed[topic].append(consumer.name)
    return dict(consumed)


def catalogue_problems(
    produced: Mapping[str, Sequence[str]],
    consumed: Mapping[str, Sequence[str]],
    awaiting: Mapping[str, str],
    read_outside: Mapping[str, str],
) -> list[str]:
    """What is wrong with the catalogue, one sentence each (none when it holds)."""
    problems: list[str] = []
    for topic, definitions in sorted(produced.items()):
        if len(definitions) > 1:
            problems.append(f"{topic} is defined more than once: {', '.join(definitions)}")
    for topic, consumers in sorted(consumed.items()):
        if topic not in produced and topic not in awaiting:
            problems.append(
                f"{topic} is consumed by {', '.join(consumers)} but no domain produces it: "
                "define its payload in the producer's events.py, or list it in AWAITING with "
                "the issue that adds the producer"
            )
    for topic, definitions in sorted(produced.items()):
        if topic not in consumed and topic not in read_outside:
            problems.append(
                f"{topic} is produced by {', '.join(definitions)} but nothing consumes it: add "
                "its consumer to workers/consumers.py, or say in READ_OUTSIDE who reads it"
            )
    for topic in sorted(awaiting):
        if topic in produced:
            problems.append(f"{topic} awaits a producer in AWAITING but has one: drop the entry")
        elif topic not in consumed:
            problems.append(f"{topic} is in AWAITING but nothing consumes it: drop the entry")
    for topic in sorted(read_outside):
        if topic in consumed:
            problems.append(f"{topic} is in READ_OUTSIDE but is consumed here: drop the entry")
        elif topic not in produced:
            problems.append(f"{topic} is in READ_OUTSIDE but nothing produces it: drop the entry")
    return problems


def raw_emit_calls(source: str) -> list[int]:
    """The lines of `source` that emit an event by topic string and loose payload."""
    return [n for n, line in enumerate(source.splitlines(), 1) if _RAW_EMIT.search(line)]


def raw_emits() -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}"
        for source_dir in SOURCES
        for path in sorted(source_dir.rglob("*.py"))
        if path not in RAW_EMIT_ALLOWED
        for line in raw_emit_calls(path.read_text())
    ]


def test_every_topic_is_defined_once_by_its_producer_and_has_a_consumer_or_a_reader() -> None:
    produced, consumed = produced_topics(), consumed_topics()

    assert catalogue_problems(produced, consumed, AWAITING, READ_OUTSIDE) == []
    # The catalogue is not vacuous: every domain that writes events is in it.
    assert {name.split(".")[1] for names in produced.values() for name in names} >= {
        "backtests",
        "curriculum",
        "identity",
        "mentorship",
        "messaging",
        "points",
        "trading",
        "wallet",
    }


def test_domain_code_emits_typed_payloads_only() -> None:
    assert raw_emits() == []


def test_a_consumed_topic_nobody_produces_fails_naming_it_and_its_consumer() -> None:
    consumed = {**consumed_topics(), "bogus.consumed": ["bogus.consumer"]}

    problems = catalogue_problems(produced_topics(), consumed, AWAITING, READ_OUTSIDE)

    assert problems == [
        "bogus.consumed is consumed by bogus.consumer but no domain produces it: define its "
        "payload in the producer's events.py, or list it in AWAITING with the issue that adds "
        "the producer"
    ]
    awaited = {**AWAITING, "bogus.consumed": "issue 99: planted"}
    assert catalogue_problems(produced_topics(), consumed, awaited, READ_OUTSIDE) == []


def test_a_produced_topic_nobody_consumes_or_reads_fails_naming_it_and_its_payload() -> None:
    produced = {**produced_topics(), "bogus.produced": ["dracarys.bogus.events.Bogus"]}

    problems = catalogue_problems(produced, consumed_topics(), AWAITING, READ_OUTSIDE)

    assert problems == [
        "bogus.produced is produced by dracarys.bogus.events.Bogus but nothing consumes it: "
        "add its consumer to workers/consumers.py, or say in READ_OUTSIDE who reads it"
    ]
    read = {**READ_OUTSIDE, "bogus.produced": "planted"}
    assert catalogue_problems(produced, consumed_topics(), AWAITING, read) == []


def test_a_topic_defined_twice_or_a_stale_exception_fails_naming_it() -> None:
    produced = produced_topics()
    twice = {**produced, "session.rated": [*produced["session.rated"], "dracarys.x.events.Y"]}
    stale_awaiting = {**AWAITING, "session.rated": "issue 99: planted"}
    stale_reader = {**READ_OUTSIDE, "points.awarded": "planted", "gone.topic": "planted"}

    assert catalogue_problems(twice, consumed_topics(), AWAITING, READ_OUTSIDE) == [
        "session.rated is defined more than once: "
        "dracarys.mentorship.events.SessionRated, dracarys.x.events.Y"
    ]
    assert catalogue_problems(produced, consumed_topics(), stale_awaiting, READ_OUTSIDE) == [
        "session.rated awaits a producer in AWAITING but has one: drop the entry"
    ]
    assert catalogue_problems(produced, consumed_topics(), AWAITING, stale_reader) == [
        "gone.topic is in READ_OUTSIDE but nothing produces it: drop the entry",
        "points.awarded is in READ_OUTSIDE but is consumed here: drop the entry",
    ]


def test_a_raw_emit_by_topic_string_is_found() -> None:
    planted = (
        "async def record(conn):\n"
        "    await emit_event(conn, Typed(user_id=u))\n"
        '    await emit(conn, "bogus.topic", {"user_id": str(u)})\n'
        "    await outbox.emit_many(conn, [])\n"
    )

    assert raw_emit_calls(planted) == [3, 4]
