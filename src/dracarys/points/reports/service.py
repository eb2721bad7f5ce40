"""The daily reconciliation: ledger against balances (sum, balance_after chain, negative
balances, pending totals), anomalies, and the economy metrics (issued vs redeemed vs
expired per day, points per user, fraud-flag rate), stored as a report per day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import msgspec

from dracarys.db import transaction
from dracarys.platform import Platform
from dracarys.points.reports import store
from dracarys.points.reports.economy import economy_metrics
from dracarys.points.reports.models import EconomyHealth, Report


async def reconcile(platform: Platform, *, days: int = 7) -> dict[str, Any]:
    """Build and store the report for the day that just ended (UTC)."""
    settings = platform.settings
    now = platform.clock.now()
    day = now.date() - timedelta(days=1)
    day_start = datetime.combine(day, time(), tzinfo=now.tzinfo)
    async with transaction(platform.pool, isolation="repeatable_read") as conn:
        checks = await store.ledger_checks(conn)
        flows = await store.daily_flows(
            conn, day_start - timedelta(days=days - 1), day_start + timedelta(days=1)
        )
        balances = await store.balances_snapshot(conn)
        anomalies = await store.velocity_anomalies(
            conn, day_start, day_start + timedelta(days=1), settings.points_velocity_limit
        )
        flagged = await store.flagged_user_count(conn)
    metrics = economy_metrics(
        [msgspec.structs.asdict(f) for f in flows], [msgspec.structs.asdict(b) for b in balances]
    )
    users = metrics["points_per_user"]["users_with_points"]
    report = {
        "day": day.isoformat(),
        "consistent": checks.consistent,
        **msgspec.to_builtins(checks),
        "anomalies": msgspec.to_builtins(anomalies),
        "economy": metrics,
        "fraud_flag_rate": round(flagged / users, 4) if users else 0.0,
        "flagged_users": flagged,
    }
    async with transaction(platform.pool) as conn:
        await store.save_report(conn, day, report, now)
    return report


async def latest_report(platform: Platform) -> Report:
    """The newest stored report; the one for yesterday, built now, if none is stored."""
    async with platform.pool.acquire() as conn:
        stored = await store.latest_report(conn)
    if stored is None:
        report = await reconcile(platform)
        return Report(day=report["day"], report=report)
    return Report(day=stored.day.isoformat(), report=stored.report)


async def economy_health(platform: Platform, days: int = 30) -> EconomyHealth:
    """Points issued against points redeemed over the last `days` days, and what members
    hold now: the staff console's economy figures, read live (the daily report is a day
    behind)."""
    since = platform.clock.now() - timedelta(days=days)
    async with transaction(platform.pool, isolation="repeatable_read") as conn:
        return await store.economy_since(conn, since, days)
