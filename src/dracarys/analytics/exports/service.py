"""Exports of the analytics stream.

The warehouse feed: each day's events, and the fact tables derived from them, as Parquet
files under the warehouse folder (`Settings.warehouse_path`), or in the S3-compatible
bucket when `Settings.warehouse_s3_bucket` names one, in Hive-style partitions,
`<table>/dt=YYYY-MM-DD/part-0.parquet`, which DuckDB (`read_parquet(...,
hive_partitioning = true)`), BigQuery and Snowflake external tables load as they are. A
day's files are replaced whole (written aside, then renamed), so running an export again
rewrites the partition instead of adding to it.

CSV: the events table streamed from a cursor, the KPI and funnel tables, and the monthly
compliance report (KYC decisions and payouts per currency)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from dracarys import csv_export
from dracarys.analytics.events import store
from dracarys.analytics.events.models import AnalyticsEvent
from dracarys.analytics.events.service import fact_frame
from dracarys.analytics.exports.models import ExportedDay, ExportedTable
from dracarys.analytics.funnels.models import Funnel
from dracarys.analytics.kpis.models import CohortCost, KpiReport
from dracarys.db import transaction
from dracarys.errors import InvalidInput
from dracarys.platform import Platform
from dracarys.settings import Settings

EVENTS_TABLE = "analytics_events"
MONEY_TABLE = "fact_money"
POINTS_TABLE = "fact_points"
# The topics whose payload moves money (amount_minor, currency) or points.
MONEY_TOPICS = (
    "payment.captured",
    "deposit.completed",
    "refund.issued",
    "chargeback.opened",
    "escrow.released",
    "session.paid",
    "payout.completed",
    "payout.failed",
)
POINTS_TOPICS = ("points.awarded", "points.redeemed")

_EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "user_id": pl.String(),
    "topic": pl.String(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "properties": pl.String(),
}


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _events_frame(events: Sequence[AnalyticsEvent]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [str(e.event_id) for e in events],
            "user_id": [str(e.user_id) if e.user_id else None for e in events],
            "topic": [e.topic for e in events],
            "occurred_at": [e.occurred_at for e in events],
            "properties": [msgspec.json.encode(e.properties).decode() for e in events],
        },
        schema=_EVENT_SCHEMA,
    )


def _property(name: str) -> pl.Expr:
    return pl.col("properties").str.json_path_match(f"$.{name}")


def fact_tables(events: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The fact tables derived from a day's events: money moved, in minor units with its
    currency (the mentor's share for an escrow release is in the events table), and points
    issued (+), voided (-) and redeemed."""
    keys = ["event_id", "user_id", "topic", "occurred_at"]
    money = events.filter(pl.col("topic").is_in(MONEY_TOPICS)).select(
        *keys,
        _property("amount_minor").cast(pl.Int64).alias("amount_minor"),
        _property("currency").alias("currency"),
    )
    points = events.filter(pl.col("topic").is_in(POINTS_TOPICS)).select(
        *keys,
        pl.coalesce(_property("delta"), _property("points")).cast(pl.Int64).alias("points"),
    )
    return {EVENTS_TABLE: events, MONEY_TABLE: money, POINTS_TABLE: points}


def _write_partition(root: Path, table: str, day: date, frame: pl.DataFrame) -> str:
    folder = root / table / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "part-0.parquet"
    aside = folder / ".part-0.parquet.writing"
    frame.write_parquet(aside)
    aside.replace(target)
    return str(target)


def s3_storage_options(settings: Settings) -> dict[str, str]:
    """How polars (its object store) reaches the warehouse bucket: only what is set, so
    unset keys come from the usual AWS environment or the instance's role."""
    options = {
        "aws_endpoint_url": settings.warehouse_s3_endpoint,
        "aws_region": settings.warehouse_s3_region,
        "aws_access_key_id": settings.warehouse_s3_access_key_id,
        "aws_secret_access_key": settings.warehouse_s3_secret_access_key,
    }
    if settings.warehouse_s3_endpoint.startswith("http://"):
        options["aws_allow_http"] = "true"
    return {name: value for name, value in options.items() if value}


def s3_warehouse_url(settings: Settings) -> str:
    """`s3://bucket/prefix/`, the root the tables' folders are under in the bucket."""
    prefix = settings.warehouse_s3_prefix.strip("/")
    return f"s3://{settings.warehouse_s3_bucket}/{prefix + '/' if prefix else ''}"


def _put_partition(settings: Settings, table: str, day: date, frame: pl.DataFrame) -> str:
    # An object is replaced whole by a PUT: no reader sees half a partition, as with the
    # rename of a local file.
    target = f"{s3_warehouse_url(settings)}{table}/dt={day.isoformat()}/part-0.parquet"
    frame.write_parquet(target, storage_options=s3_storage_options(settings))
    return target


async def export_day(platform: Platform, day: date) -> ExportedDay:
    """Write `day`'s partition of every warehouse table (UTC days)."""
    since, until = _day_bounds(day)
    events: list[AnalyticsEvent] = []
    async with transaction(platform.pool) as conn:
        async for batch in store.events_between(conn, since, until):
            events.extend(batch)
    settings = platform.settings
    written = []
    for table, frame in fact_tables(_events_frame(events)).items():
        if settings.warehouse_s3_bucket:
            path = await asyncio.to_thread(_put_partition, settings, table, day, frame)
        else:
            path = await asyncio.to_thread(
                _write_partition, settings.warehouse_path, table, day, frame
            )
        written.append(ExportedTable(table=table, path=path, rows=frame.height))
    return ExportedDay(day=day, tables=written)


async def export_yesterday(platform: Platform) -> ExportedDay:
    """The nightly run: the UTC day that has just ended."""
    return await export_day(platform, platform.clock.now().astimezone(UTC).date() - timedelta(1))


# ---- CSV -------------------------------------------------------------------------------


def check_period(since: datetime, until: datetime) -> None:
    if until <= since:
        raise InvalidInput("The period must end after it starts.", field="until")


async def _event_rows(
    platform: Platform, since: datetime, until: datetime
) -> AsyncIterator[list[list[object]]]:
    async with transaction(platform.pool) as conn:
        async for batch in store.events_between(conn, since, until):
            yield [
                [
                    e.event_id,
                    e.user_id,
                    e.topic,
                    e.occurred_at.isoformat(),
                    msgspec.json.encode(e.properties).decode(),
                ]
                for e in batch
            ]


def events_csv(platform: Platform, since: datetime, until: datetime) -> AsyncIterator[bytes]:
    """The events of [since, until) as CSV, a chunk per batch read from a cursor."""
    check_period(since, until)
    header = ["event_id", "user_id", "topic", "occurred_at", "properties"]
    return csv_export.stream(header, _event_rows(platform, since, until))


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def kpis_csv(report: KpiReport) -> bytes:
    """The KPI table: one metric a line, then the retention cohorts, LTV by cohort and LTV
    against CAC by cohort."""
    rows: list[list[Any]] = [
        ["metric", "value"],
        ["as_of", report.as_of.isoformat()],
        ["signed_up", report.activation.signed_up],
        ["activated", report.activation.activated],
        ["activation_rate", _figure(report.activation.rate)],
        ["enrolments", report.course_completion.enrolments],
        ["course_completions", report.course_completion.completions],
        ["course_completion_rate", _figure(report.course_completion.rate)],
        ["points_issued", report.points.issued],
        ["points_voided", report.points.voided],
        ["points_redeemed", report.points.redeemed],
        ["points_void_rate", _figure(report.points.void_rate)],
        ["points_reversed", report.points.reversed],
        ["points_fraud_rate", _figure(report.points.fraud_rate)],
        ["payouts_completed", report.payouts.completed],
        ["payouts_failed", report.payouts.failed],
        ["payouts_needs_review", report.payouts.needs_review],
        ["payout_accuracy", _figure(report.payouts.accuracy)],
        ["ratings", report.satisfaction.ratings],
        ["average_rating", _figure(report.satisfaction.average_rating)],
        ["nps_answers", report.satisfaction.nps_answers],
        ["nps", _figure(report.satisfaction.nps)],
        [],
        [
            "cohort_week",
            "signed_up",
            "d7_eligible",
            "d7_retained",
            "d7_rate",
            "d30_eligible",
            "d30_retained",
            "d30_rate",
        ],
        *(
            [
                c.week.isoformat(),
                c.signed_up,
                c.d7_eligible,
                c.d7_retained,
                _figure(c.d7_rate),
                c.d30_eligible,
                c.d30_retained,
                _figure(c.d30_rate),
            ]
            for c in report.retention
        ),
        [],
        ["cohort_week", "currency", "members", "paid_minor", "ltv_minor"],
        *(
            [r.week.isoformat(), r.currency, r.members, r.paid_minor, r.ltv_minor]
            for r in report.ltv
        ),
    ]
    # LTV against CAC by cohort: the report's own records, a column per field.
    acquisition = csv_export.records(CohortCost, report.acquisition)
    return csv_export.lines([*rows, []]) + acquisition


def funnel_csv(funnel: Funnel) -> bytes:
    return csv_export.lines(
        [
            ["step", "topic", "members", "from_previous", "from_first"],
            *(
                [n, s.topic, s.members, _figure(s.from_previous), _figure(s.from_first)]
                for n, s in enumerate(funnel.steps, 1)
            ),
        ]
    )


async def compliance_csv(platform: Platform, year: int, month: int) -> bytes:
    """The month's compliance report: KYC decisions (approved, rejected) and payouts
    (completed, failed, stopped for review) with their count and amount per currency."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    async with platform.pool.acquire() as conn:
        facts = await fact_frame(conn, end)
    topics = [
        "kyc.approved",
        "kyc.rejected",
        "payout.completed",
        "payout.failed",
        "payout.needs_review",
    ]
    summary = (
        facts.filter(pl.col("topic").is_in(topics), pl.col("occurred_at") >= start)
        .group_by("topic", "currency")
        .agg(pl.len().alias("count"), pl.col("amount").sum().alias("amount_minor"))
        .sort("topic", "currency", nulls_last=True)
    )
    month_label = f"{year}-{month:02d}"
    return csv_export.lines(
        [
            ["month", "item", "currency", "count", "amount_minor"],
            *(
                [
                    month_label,
                    r["topic"],
                    r["currency"] or "",
                    r["count"],
                    r["amount_minor"] if r["currency"] else "",
                ]
                for r in summary.iter_rows(named=True)
            ),
        ]
    )
