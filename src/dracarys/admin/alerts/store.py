"""The SQL of staff alerts: the alerts, and what the detectors remember between events
(sign-in devices and networks, failed sign-ins per network, points issued per hour)."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.admin.alerts.models import FailedSignIn, HourlyIssuance, NewAlert, SignIn, StaffAlert
from dracarys.db import Connection, record, record_or_none, records

_ALERT = (
    "id, kind, severity, subject, user_id, summary, details, raised_at, acknowledged_at,"
    " acknowledged_by"
)

# ---- alerts -------------------------------------------------------------------------------


async def insert_alert(
    conn: Connection, alert_id: uuid.UUID, alert: NewAlert, now: datetime
) -> StaffAlert | None:
    """The alert, or None when its dedupe key was raised before."""
    row = await conn.fetchrow(
        f"""INSERT INTO staff_alerts (id, kind, severity, subject, user_id, summary, details,
                                      dedupe_key, raised_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING {_ALERT}""",
        alert_id,
        alert.kind,
        alert.severity,
        alert.subject,
        alert.user_id,
        alert.summary,
        alert.details,
        alert.dedupe_key,
        now,
    )
    return record_or_none(StaffAlert, row)


async def alert_raised_since(conn: Connection, kind: str, subject: str, since: datetime) -> bool:
    found = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM staff_alerts
                          WHERE kind = $1 AND subject = $2 AND raised_at > $3)""",
        kind,
        subject,
        since,
    )
    return bool(found)


async def alerts(conn: Connection, *, unacknowledged: bool, limit: int) -> list[StaffAlert]:
    rows = await conn.fetch(
        f"""SELECT {_ALERT} FROM staff_alerts
            WHERE NOT $1 OR acknowledged_at IS NULL
            ORDER BY raised_at DESC, id LIMIT $2""",
        unacknowledged,
        limit,
    )
    return records(StaffAlert, rows)


async def acknowledge_alert(
    conn: Connection, alert_id: uuid.UUID, actor_id: uuid.UUID, now: datetime
) -> tuple[StaffAlert, bool] | None:
    """The alert and whether this call acknowledged it (False: someone did before, and it
    stays theirs)."""
    row = await conn.fetchrow(
        f"""UPDATE staff_alerts SET acknowledged_at = $3, acknowledged_by = $2
            WHERE id = $1 AND acknowledged_at IS NULL RETURNING {_ALERT}""",
        alert_id,
        actor_id,
        now,
    )
    if row is not None:
        return record(StaffAlert, row), True
    row = await conn.fetchrow(f"SELECT {_ALERT} FROM staff_alerts WHERE id = $1", alert_id)
    return None if row is None else (record(StaffAlert, row), False)


# ---- sign-ins -----------------------------------------------------------------------------


async def sign_in_history(
    conn: Connection, user_id: uuid.UUID, device: str, network: str
) -> tuple[bool, bool, bool]:
    """(any sign-in seen before, this device seen before, this network seen before)."""
    row = await conn.fetchrow(
        """SELECT EXISTS (SELECT 1 FROM staff_alert_sign_ins WHERE user_id = $1) AS seen,
                  EXISTS (SELECT 1 FROM staff_alert_sign_ins
                          WHERE user_id = $1 AND device = $2) AS device_known,
                  EXISTS (SELECT 1 FROM staff_alert_sign_ins
                          WHERE user_id = $1 AND network = $3) AS network_known""",
        user_id,
        device,
        network,
    )
    assert row is not None
    return bool(row["seen"]), bool(row["device_known"]), bool(row["network_known"])


async def record_sign_in(conn: Connection, sign_in: SignIn) -> None:
    await conn.execute(
        """INSERT INTO staff_alert_sign_ins (user_id, device, network, first_seen_at,
                                             last_seen_at)
           VALUES ($1, $2, $3, $4, $4)
           ON CONFLICT (user_id, device, network)
           DO UPDATE SET last_seen_at = GREATEST(staff_alert_sign_ins.last_seen_at, $4)""",
        sign_in.user_id,
        sign_in.device,
        sign_in.network,
        sign_in.at,
    )


# ---- failed sign-ins ----------------------------------------------------------------------


async def insert_failed_sign_in(conn: Connection, failed: FailedSignIn) -> bool:
    status = await conn.execute(
        """INSERT INTO staff_alert_failed_logins (event_id, network, account_key, failed_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING""",
        failed.event_id,
        failed.network,
        failed.account_key,
        failed.at,
    )
    return status.endswith(" 1")


async def failures_from(
    conn: Connection, network: str, since: datetime, until: datetime
) -> tuple[int, int]:
    """(failed sign-ins, distinct accounts tried) from the network within (since, until]."""
    row = await conn.fetchrow(
        """SELECT count(*) AS failures, count(DISTINCT account_key) AS accounts
           FROM staff_alert_failed_logins
           WHERE network = $1 AND failed_at > $2 AND failed_at <= $3""",
        network,
        since,
        until,
    )
    assert row is not None
    return int(row["failures"]), int(row["accounts"])


# ---- points issued per hour ---------------------------------------------------------------


async def add_points_issued(conn: Connection, hour: datetime, points: int, awards: int) -> None:
    await conn.execute(
        """INSERT INTO staff_alert_points_hourly (hour, points, awards) VALUES ($1, $2, $3)
           ON CONFLICT (hour) DO UPDATE
           SET points = staff_alert_points_hourly.points + $2,
               awards = staff_alert_points_hourly.awards + $3""",
        hour,
        points,
        awards,
    )


async def hourly_issuance(conn: Connection, hour: datetime, days: int) -> HourlyIssuance:
    """The points of `hour` and the mean and sample standard deviation of the same hour on
    each of the `days` days before (an hour with no row issued nothing); `history_days` is
    how many of those days the tally was already running."""
    row = await conn.fetchrow(
        """WITH history AS (
               SELECT COALESCE(p.points, 0) AS points
               FROM generate_series(1, $2::int) AS d
               LEFT JOIN staff_alert_points_hourly p
                   ON p.hour = $1::timestamptz - d * interval '24 hours'
           )
           SELECT $1::timestamptz AS hour,
                  COALESCE((SELECT points FROM staff_alert_points_hourly
                            WHERE hour = $1::timestamptz), 0) AS points,
                  GREATEST(0, COALESCE(LEAST($2::int, floor(extract(epoch FROM
                      $1::timestamptz - (SELECT min(hour) FROM staff_alert_points_hourly))
                      / 86400)::int),
                      0)) AS history_days,
                  (SELECT avg(points) FROM history)::float8 AS mean,
                  COALESCE((SELECT stddev_samp(points) FROM history), 0)::float8 AS stddev""",
        hour,
        days,
    )
    assert row is not None
    return record(HourlyIssuance, row)
