"""The economy metrics of the daily report, pure (polars, no I/O): issued, redeemed,
expired and clawed back per day, and how points are spread over users."""

from __future__ import annotations

from typing import Any

import polars as pl

_KIND_OF_CATEGORY = {"redemption": "redeemed", "expiry": "expired", "clawback": "clawed_back"}


def economy_metrics(flows: list[dict[str, Any]], balances: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-day issued / redeemed / expired from ledger flows (day, category, credited,
    debited, users), and balance statistics from (balance, pending) rows."""
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
