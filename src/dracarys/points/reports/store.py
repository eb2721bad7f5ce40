"""SQL of the reconciliation and the stored daily reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from dracarys.db import Connection, record_or_none, records
from dracarys.points.reports.models import (
    Anomaly,
    BalanceMismatch,
    BalanceSnapshot,
    DailyFlow,
    EconomyHealth,
    LedgerChecks,
    StoredReport,
)


async def ledger_checks(conn: Connection) -> LedgerChecks:
    """Ledger vs balances, the balance_after chain, negative balances and pending totals."""
    mismatches = await conn.fetch(
        """WITH sums AS (SELECT user_id, sum(delta)::bigint AS total FROM points_ledger
                         GROUP BY user_id)
           SELECT coalesce(b.user_id, s.user_id) AS user_id, b.balance, s.total AS ledger_sum
           FROM points_balances b FULL JOIN sums s ON s.user_id = b.user_id
           WHERE coalesce(b.balance, 0) <> coalesce(s.total, 0)
           LIMIT 100"""
    )
    chain_breaks = await conn.fetchval(
        """SELECT count(*) FROM (
               SELECT balance_after, delta,
                      lag(balance_after, 1, 0::bigint)
                          OVER (PARTITION BY user_id ORDER BY seq) AS previous
               FROM points_ledger) c
           WHERE c.balance_after <> c.previous + c.delta"""
    )
    negative = await conn.fetchval("SELECT count(*) FROM points_balances WHERE balance < 0")
    pending_mismatch = await conn.fetchval(
        """WITH p AS (SELECT user_id, sum(points) AS total FROM points_pending
                      WHERE status = 'pending' GROUP BY user_id)
           SELECT count(*) FROM points_balances b FULL JOIN p ON p.user_id = b.user_id
           WHERE coalesce(b.pending, 0) <> coalesce(p.total, 0)"""
    )
    return LedgerChecks(
        balance_mismatches=records(BalanceMismatch, mismatches),
        chain_breaks=int(chain_breaks),
        negative_balances=int(negative),
        pending_mismatches=int(pending_mismatch),
    )


async def daily_flows(conn: Connection, since: datetime, until: datetime) -> list[DailyFlow]:
    rows = await conn.fetch(
        """SELECT (created_at AT TIME ZONE 'UTC')::date AS day, category,
                  (sum(delta) FILTER (WHERE delta > 0))::bigint AS credited,
                  (-sum(delta) FILTER (WHERE delta < 0))::bigint AS debited,
                  count(DISTINCT user_id) AS users
           FROM points_ledger WHERE created_at >= $1 AND created_at < $2
           GROUP BY 1, 2 ORDER BY 1, 2""",
        since,
        until,
    )
    return records(DailyFlow, rows)


async def balances_snapshot(conn: Connection) -> list[BalanceSnapshot]:
    return records(
        BalanceSnapshot, await conn.fetch("SELECT balance, pending FROM points_balances")
    )


async def velocity_anomalies(
    conn: Connection, since: datetime, until: datetime, limit_points: int
) -> list[Anomaly]:
    rows = await conn.fetch(
        """SELECT user_id, sum(delta)::bigint AS earned FROM points_ledger
           WHERE created_at >= $1 AND created_at < $2 AND delta > 0
           GROUP BY user_id HAVING sum(delta) > $3 ORDER BY 2 DESC LIMIT 100""",
        since,
        until,
        limit_points,
    )
    return records(Anomaly, rows)


async def economy_since(conn: Connection, since: datetime, days: int) -> EconomyHealth:
    row = await conn.fetchrow(
        """WITH flows AS (
               SELECT coalesce(sum(delta) FILTER (
                          WHERE delta > 0 AND reason_code <> 'merch_cancelled'), 0) AS issued,
                      coalesce(-sum(delta) FILTER (WHERE category = 'redemption'), 0)
                          - coalesce(sum(delta) FILTER (
                                WHERE reason_code = 'merch_cancelled'), 0) AS redeemed,
                      coalesce(-sum(delta) FILTER (WHERE category = 'expiry'), 0) AS expired,
                      coalesce(-sum(delta) FILTER (
                          WHERE delta < 0 AND category NOT IN ('redemption', 'expiry')), 0)
                          AS clawed_back
               FROM points_ledger WHERE created_at >= $1),
           held AS (
               SELECT coalesce(sum(balance), 0) AS outstanding,
                      coalesce(sum(pending), 0) AS pending,
                      count(*) FILTER (WHERE balance > 0) AS holders
               FROM points_balances)
           SELECT $2::int AS days, issued::bigint, redeemed::bigint, expired::bigint,
                  clawed_back::bigint, outstanding::bigint, pending::bigint, holders::int
           FROM flows, held""",
        since,
        days,
    )
    economy = record_or_none(EconomyHealth, row)
    assert economy is not None
    return economy


async def flagged_user_count(conn: Connection) -> int:
    value = await conn.fetchval(
        """SELECT count(DISTINCT u) FROM (
               SELECT unnest(user_ids) AS u FROM points_fraud_flags WHERE status = 'open'
               UNION SELECT user_id FROM points_balances WHERE earning_frozen_at IS NOT NULL) f"""
    )
    return int(value)


async def save_report(conn: Connection, day: date, report: dict[str, Any], at: datetime) -> None:
    await conn.execute(
        """INSERT INTO points_reports (day, report, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (day) DO UPDATE SET report = $2, created_at = $3""",
        day,
        msgspec.to_builtins(report),
        at,
    )


async def latest_report(conn: Connection) -> StoredReport | None:
    row = await conn.fetchrow("SELECT day, report FROM points_reports ORDER BY day DESC LIMIT 1")
    return record_or_none(StoredReport, row)
