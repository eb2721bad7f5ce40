"""A seeded generator of a realistic population for the analytics demo and benchmark:
members who sign up week after week and drift away (each has a lifetime and an appetite),
mentors who open slots, answer and get paid out, and the sessions, payments, courses,
points, promotions, commissions and ratings between them — written straight into the
analytics event stream with COPY, in the payload shapes the producers emit.

Everything is drawn with numpy from one seed and assembled column-wise with polars (no
Python loop per event), so 10 million events take seconds to make; the same seed always
makes the same population (ids included), and a second seed makes different event ids,
so two populations may share a stream."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from dracarys.db import Connection

# The topics of the events besides the sign-ups, and their share of them. Mentor topics
# are about one of the mentors; payout outcomes follow their withdrawal requests.
MEMBER_TOPICS: dict[str, float] = {
    "user.logged_in": 0.38,
    "lesson.completed": 0.11,
    "points.awarded": 0.12,
    "session.booked": 0.05,
    "session.paid": 0.04,
    "payment.captured": 0.045,
    "session.attended": 0.03,
    "session.rated": 0.02,
    "points.redeemed": 0.02,
    "cohort.joined": 0.012,
    "certificate.granted": 0.006,
    "promo.redeemed": 0.01,
    "affiliate.commission_accrued": 0.008,
}
MENTOR_TOPICS: dict[str, float] = {
    "slot.offered": 0.03,
    "mentor.responded": 0.04,
    "escrow.released": 0.03,
    "withdrawal.requested": 0.006,
}
# Withdrawal requests that end paid; the rest fail.
PAID_SHARE = 0.93
PROGRAMS = 24
_EPOCH_US = 1_000_000


@dataclass(frozen=True, kw_only=True)
class Population:
    """How big a population to make: `users` members (the first `mentors` of them
    mentors) signing up over `weeks` weeks from `start`, and about `events` events."""

    users: int = 50_000
    mentors: int = 500
    events: int = 10_000_000
    weeks: int = 26
    start: datetime = datetime(2025, 6, 2, tzinfo=UTC)
    seed: int = 22

    @property
    def end(self) -> datetime:
        return self.start + timedelta(weeks=self.weeks)


def _ids(prefix: str, numbers: pl.Expr) -> pl.Expr:
    """A UUID per number: `prefix` (the first 24 characters) and the number in 12 digits."""
    return pl.concat_str(pl.lit(prefix), numbers.cast(pl.String).str.zfill(12))


def population_frame(spec: Population) -> pl.DataFrame:
    """The events as the stream's columns: event_id, user_id, topic, occurred_at and the
    properties as JSON text."""
    rng = np.random.default_rng(spec.seed)
    users, mentors = spec.users, spec.mentors
    span_us = (spec.end - spec.start) // timedelta(microseconds=1)
    start_us = int(spec.start.timestamp()) * _EPOCH_US
    # Sign-ups spread over the weeks, a little more each week (the platform grows).
    signed_up = start_us + (np.sqrt(rng.random(users)) * span_us * 0.97).astype(np.int64)
    signed_up[:mentors] = start_us + rng.integers(0, span_us // 10, mentors)
    # How long each member stays active (many leave in the first days), and how much
    # they do while they are.
    lifetime = np.minimum(
        rng.exponential(40 * 86_400 * _EPOCH_US, users).astype(np.int64),
        start_us + span_us - signed_up,
    )
    appetite = rng.lognormal(0.0, 1.1, users - mentors)
    appetite /= appetite.sum()

    rest = max(spec.events - users, 0)
    shares = {**MEMBER_TOPICS, **MENTOR_TOPICS}
    total = sum(shares.values())
    counts = {t: int(rest * s / total) for t, s in shares.items()}
    requests = counts["withdrawal.requested"]
    # Each request's outcome is an event of its own, out of the withdrawal share.
    counts["withdrawal.requested"] = requests = requests // 2

    parts: list[pl.DataFrame] = [
        pl.DataFrame({"topic": "user.signed_up", "user": np.arange(users), "at": signed_up})
    ]
    for name in MEMBER_TOPICS:
        n = counts[name]
        who = mentors + rng.choice(users - mentors, n, p=appetite)
        at = signed_up[who] + (rng.random(n) * lifetime[who]).astype(np.int64)
        parts.append(pl.DataFrame({"topic": name, "user": who, "at": at}))
    for name in MENTOR_TOPICS:
        n = counts[name]
        who = rng.zipf(1.6, n) % mentors
        at = start_us + (rng.random(n) * span_us).astype(np.int64)
        parts.append(pl.DataFrame({"topic": name, "user": who, "at": at}))
    frame = pl.concat(parts).with_columns(pl.col("user").cast(pl.Int64))
    n = frame.height
    topic = pl.col("topic")

    # Slots: their seats and minutes; a booking names a slot and its minutes.
    slots = counts["slot.offered"]
    seats = rng.choice([1, 1, 1, 1, 3, 5, 10], slots)
    minutes = rng.choice([30, 45, 60, 60, 90], slots)
    slot_no = np.zeros(n, dtype=np.int64)
    offsets = frame.with_row_index("row").group_by("topic").agg(pl.col("row").min())
    first = dict(zip(offsets["topic"], offsets["row"], strict=True))
    slot_no[first["slot.offered"] : first["slot.offered"] + slots] = np.arange(slots)
    booked = counts["session.booked"]
    slot_no[first["session.booked"] : first["session.booked"] + booked] = rng.choice(
        slots, booked, p=seats / seats.sum()
    )
    # Money: most of it in shillings, some in dollars.
    currency = np.where(rng.random(n) < 0.82, "KES", "USD")
    price = rng.choice([150_000, 250_000, 400_000, 800_000], n)
    price = np.where(currency == "USD", price // 100, price)
    delta = rng.choice([10, 20, 50, 100, 250], n)
    delta = np.where(rng.random(n) < 0.04, -delta, delta)
    reason = np.where(
        delta < 0,
        np.where(rng.random(n) < 0.6, "refund_clawback", "expired"),
        rng.choice(["lesson", "session", "streak", "referral", "community"], n),
    )
    rating = rng.choice([1, 2, 3, 4, 5], n, p=[0.03, 0.05, 0.12, 0.35, 0.45])
    recommend = np.clip(rating * 2 + rng.integers(-2, 1, n), 0, 10)
    seconds = np.maximum(rng.lognormal(np.log(1_800), 1.3, n), 5).astype(np.int64)
    columns = frame.with_columns(
        pl.Series("slot", slot_no),
        pl.Series("currency", currency),
        pl.Series("price", price),
        pl.Series("delta", delta),
        pl.Series("reason", reason),
        pl.Series("rating", rating),
        pl.Series("recommend", recommend),
        pl.Series("seconds", seconds),
        pl.Series("mentor", rng.zipf(1.6, n) % mentors),
        pl.Series("program", rng.integers(0, PROGRAMS, n)),
        pl.Series("coin", rng.random(n)),
    ).with_row_index("row")

    # Each withdrawal request is paid (or fails) minutes to days later.
    requested = columns.filter(topic == "withdrawal.requested").with_columns(
        pl.col("row").alias("payout")
    )
    latency = (rng.lognormal(np.log(20 * 60), 1.2, requested.height) * _EPOCH_US).astype(np.int64)
    outcomes = requested.with_columns(
        pl.when(pl.col("coin") < PAID_SHARE)
        .then(pl.lit("payout.completed"))
        .otherwise(pl.lit("payout.failed"))
        .alias("topic"),
        pl.col("at") + pl.Series(latency),
        (pl.col("row") + n).alias("row"),
    )
    columns = pl.concat(
        [
            columns.filter(topic != "withdrawal.requested").with_columns(
                pl.lit(None, pl.UInt32).alias("payout")
            ),
            requested,
            outcomes,
        ]
    )

    def when(*topics: str, then: pl.Expr) -> pl.Expr:
        return pl.when(topic.is_in(topics)).then(then).otherwise(None)

    money = (
        "session.paid",
        "payment.captured",
        "escrow.released",
        "withdrawal.requested",
        "payout.completed",
        "payout.failed",
    )
    user_id = _ids("00000000-0000-4000-a000-", pl.col("user"))
    # Each property as a column (null where the topic has none), computed from the draws.
    properties = [
        when("user.signed_up", "user.logged_in", "lesson.completed", then=user_id).alias("user_id"),
        pl.coalesce(
            when(*money, then=pl.col("price")),
            when("promo.redeemed", "affiliate.commission_accrued", then=pl.col("price") // 20),
        ).alias("amount_minor"),
        when(
            *money, "promo.redeemed", "affiliate.commission_accrued", then=pl.col("currency")
        ).alias("currency"),
        pl.coalesce(
            when("slot.offered", "mentor.responded", "escrow.released", then=user_id),
            when(
                "session.booked",
                "session.paid",
                "session.attended",
                then=_ids("00000000-0000-4000-a000-", pl.col("mentor")),
            ),
        ).alias("mentor_id"),
        when(
            "cohort.joined",
            "certificate.granted",
            then=_ids("00000000-0000-4000-c000-", pl.col("program")),
        ).alias("program_id"),
        when("points.awarded", then=pl.col("delta")).alias("delta"),
        when("points.awarded", then=pl.col("reason")).alias("reason_code"),
        when("points.redeemed", then=pl.col("delta").abs() * 4).alias("points"),
        when("session.rated", then=pl.col("rating")).alias("rating"),
        when("session.rated", then=pl.col("recommend")).alias("recommend"),
        when(
            "slot.offered", "session.booked", then=_ids("00000000-0000-4000-d000-", pl.col("slot"))
        ).alias("slot_id"),
        when("slot.offered", "session.booked", then=pl.col("slot")).alias("_slot_no"),
        when(
            "withdrawal.requested",
            "payout.completed",
            "payout.failed",
            then=_ids("00000000-0000-4000-e000-", pl.col("payout")),
        ).alias("payout_id"),
        when("mentor.responded", then=pl.col("seconds")).alias("seconds"),
        when(
            "mentor.responded",
            then=pl.when(pl.col("coin") < 0.3)
            .then(pl.lit("message_request"))
            .otherwise(pl.lit("message")),
        ).alias("kind"),
        when(
            "promo.redeemed",
            then=pl.when(pl.col("coin") < 0.6).then(pl.lit("promo")).otherwise(pl.lit("points")),
        ).alias("funded_by"),
    ]
    slot_shape = pl.DataFrame(
        {"_slot_no": np.arange(slots), "seats": seats, "minutes": minutes}
    ).with_columns(pl.col("_slot_no").cast(pl.Int64))
    shaped = (
        columns.with_columns(*properties)
        .join(slot_shape, on="_slot_no", how="left")
        .with_columns(
            pl.when(topic == "slot.offered").then(pl.col("seats")).alias("seats"),
        )
    )
    keys = [
        "user_id",
        "amount_minor",
        "currency",
        "mentor_id",
        "program_id",
        "delta",
        "reason_code",
        "points",
        "rating",
        "recommend",
        "slot_id",
        "minutes",
        "seats",
        "payout_id",
        "seconds",
        "kind",
        "funded_by",
    ]
    return shaped.select(
        _ids(f"{spec.seed % 2**32:08x}-0000-4000-b000-", pl.col("row")).alias("event_id"),
        user_id.alias("user_id"),
        topic,
        pl.from_epoch(pl.col("at"), time_unit="us")
        .dt.replace_time_zone("UTC")
        .alias("occurred_at"),
        # The payload as its producer writes it: only the keys the topic has.
        pl.struct(keys)
        .struct.json_encode()
        .str.replace_all(r'"[a-z_]+":null,?', "")
        .str.replace(",}", "}", literal=True)
        .alias("properties"),
    )


async def write_population(conn: Connection, spec: Population, *, chunk_rows: int = 500_000) -> int:
    """Make the population and COPY it into the analytics event stream, `chunk_rows` at a
    time; returns how many events were written."""
    frame = population_frame(spec)
    for offset in range(0, frame.height, chunk_rows):
        part = frame.slice(offset, chunk_rows).with_columns(
            pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00")
        )
        body = io.BytesIO()
        part.write_csv(body, include_header=False)
        body.seek(0)
        await conn.copy_to_table(
            "analytics_events",
            source=body,
            columns=["event_id", "user_id", "topic", "occurred_at", "properties"],
            format="csv",
        )
    return frame.height
