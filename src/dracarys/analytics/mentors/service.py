"""A mentor's own numbers from the analytics stream: sessions sold and held, what escrow
released to them, who follows their signal feed, and how mentees rated them."""

from __future__ import annotations

import uuid

import polars as pl

from dracarys.analytics.events.service import FACT_SCHEMA, mentor_frame
from dracarys.analytics.kpis import compute
from dracarys.analytics.kpis.models import ResponseTime
from dracarys.analytics.mentors.models import Earning, MentorNumbers, WeeklyEarning
from dracarys.money import format_money
from dracarys.platform import Platform


async def mentor_numbers(platform: Platform, mentor_id: uuid.UUID) -> MentorNumbers:
    async with platform.pool.acquire() as conn:
        facts = await mentor_frame(conn, mentor_id)
    return numbers_of(facts)


def numbers_of(facts: pl.DataFrame) -> MentorNumbers:
    """The figures over one mentor's events (see `mentor_frame`; `subject` is the
    subscriber of a subscription event)."""
    assert set(FACT_SCHEMA) <= set(facts.columns)
    released = facts.filter(pl.col("topic") == "escrow.released")
    by_currency = released.group_by("currency").agg(pl.col("amount").sum()).sort("currency")
    weekly = (
        released.with_columns(pl.col("occurred_at").dt.truncate("1w").dt.date().alias("week"))
        .group_by("week", "currency")
        .agg(pl.col("amount").sum())
        .sort("week", "currency")
    )
    subscriptions = facts.filter(pl.col("topic").str.starts_with("subscription."))
    latest = subscriptions.group_by("subject").agg(pl.col("topic").last())
    rated = facts.filter(pl.col("topic") == "session.rated", pl.col("rating").is_not_null())
    mean = rated["rating"].mean()
    fill = compute.session_fill(facts)
    return MentorNumbers(
        sessions_paid=facts.filter(pl.col("topic") == "session.paid").height,
        sessions_completed=facts.filter(pl.col("topic") == "session.completed").height,
        earnings=[
            Earning(
                currency=row["currency"],
                amount_minor=row["amount"],
                amount=format_money(row["amount"], row["currency"]),
            )
            for row in by_currency.iter_rows(named=True)
        ],
        weekly_earnings=[
            WeeklyEarning(week=row["week"], currency=row["currency"], amount_minor=row["amount"])
            for row in weekly.iter_rows(named=True)
        ],
        subscribers_active=latest.filter(pl.col("topic") != "subscription.lapsed").height,
        subscribers_ever=latest.height,
        ratings=rated.height,
        average_rating=float(mean) if isinstance(mean, int | float) else None,
        seats_offered=fill["seats_offered"],
        seats_booked=fill["seats_booked"],
        fill_rate=compute.ratio(fill["seats_booked"], fill["seats_offered"]),
        response_times=[
            ResponseTime(**row) for row in compute.response_times(facts).iter_rows(named=True)
        ],
    )
