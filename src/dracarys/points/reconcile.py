"""The daily reconciliation: ledger against balances (sum, balance_after chain, negative
balances, pending totals), anomalies, and the economy metrics (issued vs redeemed vs
expired per day, points per user, fraud-flag rate), stored as a report per day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import polars as pl

from dracarys.db import transaction
from dracarys.platform import Platform
from dracarys.points import store

_KIND_OF_CATEGORY = {"redemption": "redeemed", "expiry": "expired", "clawback": "clawed_back"}


def economy_metrics(flows: list[dict[str, Any]], balances: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-day issued / redeemed / expired from ledger flows, and balance statistics."""
    frame = pl.DataFrame(
        flows,
        schema={
            "day": pl.Date,
            "category": pl.Utf8,
            "credited": pl.Int64,
            "debited": pl.Int64,
            "users": pl.Int64,
        },
    ).with_columns(pl.col("credited").fill_null(0), pl.col("debited").fill_null(0))
    per_day = (
        frame.with_columns(
            pl.col("category").replace_strict(_KIND_OF_CATEGORY, default="issued").alias("kind")
        )
        .group_by("day")
        .agg(
            pl.col("credited").filter(pl.col("kind") == "issued").sum().alias("issued"),
            pl.col("debited").filter(pl.col("kind") == "redeemed").sum().alias("redeemed"),
            pl.col("debited").filter(pl.col("kind") == "expired").sum().alias("expired"),
            pl.col("debited").filter(pl.col("kind") == "clawed_back").sum().alias("clawed_back"),
        )
        .sort("day")
    )
    balance_frame = pl.DataFrame(balances, schema={"balance": pl.Int64, "pending": pl.Int64})
    users = balance_frame.height
    stats: dict[str, Any] = {"users_with_points": users}
    if users:
        summary = balance_frame.select(
            pl.col("balance").sum().alias("total"),
            pl.col("balance").mean().alias("mean"),
            pl.col("balance").median().alias("median"),
            pl.col("balance").quantile(0.99).alias("p99"),
            pl.col("pending").sum().alias("pending_total"),
        ).row(0, named=True)
        stats.update({k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary.items()})
    return {
        "per_day": [
            {**row, "day": row["day"].isoformat()} for row in per_day.iter_rows(named=True)
        ],
        "points_per_user": stats,
    }


async def reconcile(platform: Platform, *, days: int = 7) -> dict[str, Any]:
    """Build and store the report for the day that just ended (UTC)."""
    settings = platform.settings
    now = platform.clock.now()
    day = now.date() - timedelta(days=1)
    day_start = datetime.combine(day, time(), tzinfo=now.tzinfo)
    async with transaction(platform.pool, isolation="repeatable_read") as conn:
        checks = await store.reconciliation_checks(conn)
        flows = [
            dict(r)
            for r in await store.daily_flows(
                conn, day_start - timedelta(days=days - 1), day_start + timedelta(days=1)
            )
        ]
        balances = [dict(r) for r in await store.balances_snapshot(conn)]
        anomalies = await store.velocity_anomalies(
            conn, day_start, day_start + timedelta(days=1), settings.points_velocity_limit
        )
        flagged = await store.flagged_user_count(conn)
    metrics = economy_metrics(flows, balances)
    users = metrics["points_per_user"]["users_with_points"]
    report = {
        "day": day.isoformat(),
        "consistent": not checks["balance_mismatches"]
        and checks["chain_breaks"] == 0
        and checks["negative_balances"] == 0
        and checks["pending_mismatches"] == 0,
        **checks,
        "anomalies": [
            {"user_id": str(r["user_id"]), "earned": int(r["earned"])} for r in anomalies
        ],
        "economy": metrics,
        "fraud_flag_rate": round(flagged / users, 4) if users else 0.0,
        "flagged_users": flagged,
    }
    async with transaction(platform.pool) as conn:
        await store.save_report(conn, day, report, now)
    return report
