"""Warehouse and CSV exports of the analytics stream."""

from __future__ import annotations

import csv
import dataclasses
import io
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import pytest

from dracarys.analytics.exports.service import (
    MONEY_TOPICS,
    POINTS_TOPICS,
    export_day,
    export_yesterday,
    s3_storage_options,
    s3_warehouse_url,
)
from dracarys.clock import ManualClock
from dracarys.identity import Role
from dracarys.platform import Platform
from dracarys.settings import SettingsError, load_settings
from tests.analytics.fixture import AS_OF, U1, U2, U3, U4, at, deliver, event, history
from tests.support import AppClient, TestUser
from workers.analytics_tasks import EXPORT_WAREHOUSE_DAY
from workers.runtime import Worker


def read_back(root: Path, sql: str) -> list[tuple[object, ...]]:
    """Run `sql` in DuckDB over the warehouse folder as any loader sees it: each table is
    `read_parquet('<root>/<table>/*/*.parquet', hive_partitioning = true)`."""
    with duckdb.connect() as db:
        for table in ("analytics_events", "fact_money", "fact_points"):
            db.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet("
                f"'{root}/{table}/*/*.parquet', hive_partitioning = true)"
            )
        return db.execute(sql).fetchall()


async def test_the_parquet_export_read_back_with_duckdb_matches_the_database(
    platform: Platform,
) -> None:
    await deliver(platform, history())
    days = sorted(
        {
            r["day"]
            for r in await platform.pool.fetch(
                "SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS day "
                "FROM analytics_events"
            )
        }
    )
    for day in days:
        await export_day(platform, day)
    # Exporting a day again replaces its partition: nothing is counted twice.
    await export_day(platform, days[0])
    root = platform.settings.warehouse_path

    database = await platform.pool.fetch(
        """SELECT (occurred_at AT TIME ZONE 'UTC')::date AS dt, topic, count(*) AS n,
                  coalesce(sum((properties->>'amount_minor')::bigint), 0) AS money,
                  coalesce(sum(coalesce((properties->>'delta')::bigint,
                                        (properties->>'points')::bigint)), 0) AS points
           FROM analytics_events GROUP BY 1, 2 ORDER BY 1, 2"""
    )
    exported = read_back(
        root,
        """SELECT e.dt, e.topic, count(*) AS n,
                  coalesce((SELECT sum(m.amount_minor) FROM fact_money m
                            WHERE m.dt = e.dt AND m.topic = e.topic), 0),
                  coalesce((SELECT sum(p.points) FROM fact_points p
                            WHERE p.dt = e.dt AND p.topic = e.topic), 0)
           FROM analytics_events e GROUP BY 1, 2 ORDER BY 1, 2""",
    )
    assert len(database) == len(exported) > 10
    for row, back in zip(database, exported, strict=True):
        money_topic = row["topic"] in {
            "payment.captured",
            "session.paid",
            "payout.completed",
            "payout.failed",
        }
        points_topic = row["topic"] in {"points.awarded", "points.redeemed"}
        assert back == (
            row["dt"],
            row["topic"],
            row["n"],
            row["money"] if money_topic else 0,
            row["points"] if points_topic else 0,
        )
    # Totals across the whole warehouse, and the partitions are Hive-style folders.
    assert read_back(root, "SELECT count(*), count(DISTINCT event_id) FROM analytics_events") == [
        (len(history()) - 1, len(history()) - 1)
    ]
    assert read_back(
        root, "SELECT sum(amount_minor) FROM fact_money WHERE topic = 'payment.captured'"
    ) == [(8000,)]
    assert (root / "analytics_events" / f"dt={days[0].isoformat()}" / "part-0.parquet").is_file()


async def test_the_nightly_export_writes_the_day_that_has_just_ended(
    platform: Platform, clock: ManualClock
) -> None:
    await deliver(platform, history())
    clock.set(at(1, 7, 2))

    exported = await export_yesterday(platform)

    # 6 Jan: u1's paid session, payment, enrolment, points award and rating = 5 events.
    assert exported.day == date(2026, 1, 6)
    assert {t.table: t.rows for t in exported.tables} == {
        "analytics_events": 5,
        "fact_money": 2,
        "fact_points": 1,
    }


async def test_the_events_csv_streams_the_period_and_kpis_csv_has_the_cohorts(
    platform: Platform, clock: ManualClock, client: AppClient, make_user: object
) -> None:
    await deliver(platform, history())
    clock.set(AS_OF)
    admin: TestUser = await make_user(role=Role.ADMIN)  # type: ignore[operator]

    response = await client.get(
        "/api/v1/analytics/events.csv",
        params={"since": "2026-01-05T00:00:00Z", "until": "2026-01-06T00:00:00Z"},
        headers=admin.headers,
    )

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    # 5 Jan: u1 signs up and books.
    assert rows[0] == ["event_id", "user_id", "topic", "occurred_at", "properties"]
    assert [r[2] for r in rows[1:]] == ["user.signed_up", "session.booked"]

    kpis = await client.get("/api/v1/analytics/kpis.csv", headers=admin.headers)
    assert kpis.status_code == 200
    lines = kpis.text.splitlines()
    assert "activated,4" in lines
    assert "2026-01-05,3,3,2,0.6667,3,1,0.3333" in lines


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-01-06T00:00:00Z", "until": "2026-01-05T00:00:00Z"}, "until"),
    ],
)
async def test_a_backwards_period_is_refused_naming_until(
    client: AppClient, make_user: object, params: dict[str, str], field: str
) -> None:
    admin: TestUser = await make_user(role=Role.ADMIN)  # type: ignore[operator]

    response = await client.get(
        "/api/v1/analytics/events.csv", params=params, headers=admin.headers
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_the_warehouse_export_is_scheduled_nightly(platform: Platform) -> None:
    source = Worker(platform).scheduler().sources[0]
    await source.startup()

    crons = {s.task_name: s.cron for s in await source.get_schedules()}

    assert crons[EXPORT_WAREHOUSE_DAY] == "20 2 * * *"


async def test_the_monthly_compliance_report_totals_kyc_decisions_and_payouts(
    platform: Platform, client: AppClient, make_user: Callable[..., Awaitable[TestUser]]
) -> None:
    extra = [
        event("kyc.approved", at(1, 3), user_id=U1, level=2),
        event("kyc.approved", at(1, 4), user_id=U2, level=1),
        event(
            "kyc.rejected",
            at(1, 5),
            user_id=U3,
            document_id=uuid.uuid4(),
            doc_type="passport",
            reason="blurred",
        ),
        # February: not in January's report.
        event("kyc.approved", at(2, 2), user_id=U4, level=1),
    ]
    await deliver(platform, [*history(), *extra])
    admin = await make_user(role=Role.ADMIN)

    response = await client.get("/api/v1/analytics/compliance/2026/1", headers=admin.headers)

    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="compliance-2026-01.csv"'
    )
    # January: 2 approvals, 1 rejection; payouts of 10.00 KES on 16 and 17 Jan paid and on
    # 18 Jan failed (see fixture.py).
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["month", "item", "currency", "count", "amount_minor"],
        ["2026-01", "kyc.approved", "", "2", ""],
        ["2026-01", "kyc.rejected", "", "1", ""],
        ["2026-01", "payout.completed", "KES", "2", "2000"],
        ["2026-01", "payout.failed", "KES", "1", "1000"],
    ]


# ---- the warehouse in an S3-compatible bucket ------------------------------------------

BUCKET = "dracarys-warehouse"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3 server (moto's, a real HTTP server speaking the S3 REST API), as MinIO
    or any S3-compatible service would answer the export."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _bucket_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="warehouse-key",
        aws_secret_access_key="warehouse-secret",
    )


async def test_the_parquet_export_to_an_s3_bucket_read_back_with_duckdb_matches_the_database(
    platform: Platform, s3_endpoint: str, tmp_path: Path
) -> None:
    bucket = f"{BUCKET}-{uuid.uuid4().hex[:8]}"
    s3 = _bucket_client(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    in_bucket = dataclasses.replace(
        platform,
        settings=msgspec.structs.replace(
            platform.settings,
            warehouse_s3_bucket=bucket,
            warehouse_s3_prefix="bi/dracarys/",
            warehouse_s3_endpoint=s3_endpoint,
            warehouse_s3_region="us-east-1",
            warehouse_s3_access_key_id="warehouse-key",
            warehouse_s3_secret_access_key="warehouse-secret",
        ),
    )
    await deliver(platform, history())
    days = [
        r["day"]
        for r in await platform.pool.fetch(
            "SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date AS day "
            "FROM analytics_events ORDER BY 1"
        )
    ]
    for day in days:
        exported = await export_day(in_bucket, day)
        assert all(t.path.startswith(f"s3://{bucket}/bi/dracarys/") for t in exported.tables)
    # Exporting a day again replaces its objects: nothing is counted twice.
    await export_day(in_bucket, days[0])

    # Nothing went to the local folder; the bucket holds a Hive-style partition per table
    # and day, which is fetched as it is and read by DuckDB.
    assert not platform.settings.warehouse_path.exists()
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    assert len(keys) == 3 * len(days)
    assert f"bi/dracarys/fact_money/dt={days[0].isoformat()}/part-0.parquet" in keys
    for key in keys:
        local = tmp_path / key.removeprefix("bi/dracarys/")
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(local))

    database = await platform.pool.fetchrow(
        """SELECT count(*) AS events,
                  sum((properties->>'amount_minor')::bigint)
                    FILTER (WHERE topic = ANY($1::text[])) AS money,
                  count(*) FILTER (WHERE topic = ANY($1::text[])) AS money_rows,
                  sum(coalesce((properties->>'delta')::bigint, (properties->>'points')::bigint))
                    FILTER (WHERE topic = ANY($2::text[])) AS points
           FROM analytics_events""",
        list(MONEY_TOPICS),
        list(POINTS_TOPICS),
    )
    [(events, money_rows, money, points)] = read_back(
        tmp_path,
        """SELECT (SELECT count(*) FROM analytics_events),
                  (SELECT count(*) FROM fact_money),
                  (SELECT sum(amount_minor) FROM fact_money),
                  (SELECT sum(points) FROM fact_points)""",
    )
    assert database is not None
    assert (events, money_rows, money, points) == (
        database["events"],
        database["money_rows"],
        database["money"],
        database["points"],
    )
    assert events > 10
    assert money > 0


def test_the_bucket_settings_name_what_is_missing(tmp_path: Path) -> None:
    local = {"DRACARYS_DATA_DIR": str(tmp_path), "DRACARYS_SECRET_KEY": "k" * 40}
    with pytest.raises(SettingsError, match="DRACARYS_WAREHOUSE_S3_SECRET_ACCESS_KEY"):
        load_settings({**local, "DRACARYS_WAREHOUSE_S3_ACCESS_KEY_ID": "key"})
    with pytest.raises(SettingsError, match="DRACARYS_WAREHOUSE_S3_ENDPOINT"):
        load_settings({**local, "DRACARYS_WAREHOUSE_S3_ENDPOINT": "minio.local:9000"})
    with pytest.raises(SettingsError, match="DRACARYS_WAREHOUSE_S3_BUCKET"):
        load_settings({**local, "DRACARYS_WAREHOUSE_S3_BUCKET": "Not A Bucket"})
    settings = load_settings(
        {
            **local,
            "DRACARYS_WAREHOUSE_S3_BUCKET": "bi-exports",
            "DRACARYS_WAREHOUSE_S3_ENDPOINT": "http://minio.local:9000",
            "DRACARYS_WAREHOUSE_S3_ACCESS_KEY_ID": "key",
            "DRACARYS_WAREHOUSE_S3_SECRET_ACCESS_KEY": "s3cr3t-value",
        }
    )
    assert s3_warehouse_url(settings) == "s3://bi-exports/"
    assert s3_storage_options(settings) == {
        "aws_endpoint_url": "http://minio.local:9000",
        "aws_access_key_id": "key",
        "aws_secret_access_key": "s3cr3t-value",
        "aws_allow_http": "true",
    }
    assert "s3cr3t-value" not in repr(settings)
