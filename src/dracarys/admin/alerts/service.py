"""The detectors (each in the transaction of the outbox consumer that feeds it, or of the
hourly check), raising each alert once by its dedupe key and announcing it for
notifications to tell staff; and what staff do with alerts: list and acknowledge, the
acknowledgement in the hash-chained audit log."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from dracarys.admin.alerts import rules, store
from dracarys.admin.alerts.events import StaffAlertRaised
from dracarys.admin.alerts.models import (
    KIND_TITLES,
    FailedSignIn,
    NewAlert,
    SignIn,
    StaffAlert,
    StaffAlertView,
)
from dracarys.db import Connection, transaction, xact_lock
from dracarys.errors import NotFound
from dracarys.identity import CurrentUser, display_names, record_audit
from dracarys.money import format_money
from dracarys.outbox import emit_event
from dracarys.platform import Platform


async def raise_alert(conn: Connection, platform: Platform, alert: NewAlert) -> StaffAlert | None:
    """Store the alert and announce it; None when its cause already raised one."""
    stored = await store.insert_alert(conn, uuid.uuid4(), alert, platform.clock.now())
    if stored is None:
        return None
    await emit_event(
        conn,
        StaffAlertRaised(
            alert_id=stored.id,
            kind=stored.kind,
            severity=stored.severity,
            title=KIND_TITLES[stored.kind],
            summary=stored.summary,
        ),
    )
    return stored


# ---- detectors fed by events ---------------------------------------------------------------


async def chargeback_opened(
    conn: Connection,
    platform: Platform,
    *,
    user_id: uuid.UUID,
    chargeback_id: str,
    deposit_id: uuid.UUID,
    amount_minor: int,
    held_minor: int,
    currency: str,
) -> StaffAlert | None:
    """Every chargeback is an alert: money may be lost and the card may be stolen. Keyed
    by the provider's dispute id, so the same dispute announced twice is one alert."""
    amount = format_money(amount_minor, currency)
    return await raise_alert(
        conn,
        platform,
        NewAlert(
            kind="chargeback",
            severity="critical",
            subject=str(user_id),
            user_id=user_id,
            summary=(
                f"A cardholder disputed a card deposit of {amount}; "
                f"{format_money(held_minor, currency)} of it is held in the wallet."
            ),
            details={
                "chargeback_id": chargeback_id,
                "deposit_id": str(deposit_id),
                "amount": amount,
                "held": format_money(held_minor, currency),
            },
            dedupe_key=f"chargeback:{chargeback_id}",
        ),
    )


async def payout_failed(
    conn: Connection,
    platform: Platform,
    *,
    user_id: uuid.UUID,
    payout_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    reason: str,
) -> StaffAlert | None:
    amount = format_money(amount_minor, currency)
    why = reason.replace("_", " ")
    return await raise_alert(
        conn,
        platform,
        NewAlert(
            kind="payout_failed",
            severity="warning",
            subject=str(user_id),
            user_id=user_id,
            summary=f"A payout of {amount} failed ({why}); the money is back in the wallet.",
            details={"payout_id": str(payout_id), "amount": amount, "reason": why},
            dedupe_key=f"payout_failed:{payout_id}",
        ),
    )


async def signed_in(conn: Connection, platform: Platform, sign_in: SignIn) -> StaffAlert | None:
    """Alert when the account has signed in before, but never from this device nor from
    this network (either alone is a new laptop at home, or the old one on a trip). The
    sighting is remembered either way."""
    # One account's sign-ins judged one at a time: two at once would each miss the other.
    await xact_lock(conn, "staff-alert-sign-in", sign_in.user_id)
    seen, device_known, network_known = await store.sign_in_history(
        conn, sign_in.user_id, sign_in.device, sign_in.network
    )
    await store.record_sign_in(conn, sign_in)
    if not seen or device_known or network_known:
        return None
    return await raise_alert(
        conn,
        platform,
        NewAlert(
            kind="suspicious_sign_in",
            severity="warning",
            subject=str(sign_in.user_id),
            user_id=sign_in.user_id,
            summary=(
                f"Signed in from a device ({sign_in.device}) and a network ({sign_in.network}) "
                "this account never used before."
            ),
            details={
                "device": sign_in.device,
                "network": sign_in.network,
                "signed_in_at": sign_in.at.isoformat(),
            },
            dedupe_key=f"suspicious_sign_in:{sign_in.event_id}",
        ),
    )


async def sign_in_failed(
    conn: Connection, platform: Platform, failed: FailedSignIn
) -> StaffAlert | None:
    """Alert when one network failed `BURST_FAILURES` sign-ins across `BURST_ACCOUNTS`
    accounts or more within the window: credential stuffing, not a forgotten password.
    One alert per network per window: the burst's next failures are the same burst."""
    if not await store.insert_failed_sign_in(conn, failed):
        return None
    await xact_lock(conn, "staff-alert-burst", failed.network)
    since = failed.at - rules.BURST_WINDOW
    failures, accounts = await store.failures_from(conn, failed.network, since, failed.at)
    if failures < rules.BURST_FAILURES or accounts < rules.BURST_ACCOUNTS:
        return None
    now = platform.clock.now()
    if await store.alert_raised_since(
        conn, "failed_login_burst", failed.network, now - rules.BURST_WINDOW
    ):
        return None
    minutes = int(rules.BURST_WINDOW.total_seconds() // 60)
    return await raise_alert(
        conn,
        platform,
        NewAlert(
            kind="failed_login_burst",
            severity="critical",
            subject=failed.network,
            user_id=None,
            summary=(
                f"{failures} failed sign-ins from {failed.network} across {accounts} accounts "
                f"within {minutes} minutes."
            ),
            details={
                "network": failed.network,
                "failures": failures,
                "accounts": accounts,
                "window_minutes": minutes,
                "last_failure_at": failed.at.isoformat(),
            },
            dedupe_key=f"failed_login_burst:{failed.network}:{failed.event_id}",
        ),
    )


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def tally_points_issued(conn: Connection, awards: Iterable[tuple[datetime, int]]) -> None:
    """Add awards (when, points) to their hours' tallies; debits are not issuance."""
    per_hour: dict[datetime, list[int]] = defaultdict(list)
    for at, points in awards:
        if points > 0:
            per_hour[_hour_of(at)].append(points)
    # In hour order, so two batches touching the same hours lock them in the same order.
    for hour in sorted(per_hour):
        await store.add_points_issued(conn, hour, sum(per_hour[hour]), len(per_hour[hour]))


# ---- the hourly check ----------------------------------------------------------------------


async def check_points_issuance(platform: Platform) -> list[uuid.UUID]:
    """Compare the last complete hour's points with the same hour on each of the 14 days
    before; alert when above mean + 3 standard deviations (and 500 points). Run hourly;
    a second run for the same hour raises nothing (the hour is the dedupe key). Silent
    until the tally has 14 days of history to compare with."""
    hour = _hour_of(platform.clock.now()) - timedelta(hours=1)
    async with transaction(platform.pool) as conn:
        issuance = await store.hourly_issuance(conn, hour, rules.BASELINE_DAYS)
        if issuance.history_days < rules.BASELINE_DAYS:
            return []
        threshold = rules.baseline_threshold(issuance.mean, issuance.stddev)
        if issuance.points <= threshold:
            return []
        until = hour + timedelta(hours=1)
        alert = await raise_alert(
            conn,
            platform,
            NewAlert(
                kind="points_issuance",
                severity="warning",
                subject=hour.isoformat(),
                user_id=None,
                summary=(
                    f"{issuance.points:,} points issued between {hour:%H:%M} and {until:%H:%M} "
                    f"UTC on {hour:%d %b %Y}; the same hour usually issues "
                    f"{issuance.mean:,.0f} (± {issuance.stddev:,.0f}) over the last "
                    f"{rules.BASELINE_DAYS} days."
                ),
                details={
                    "hour": hour.isoformat(),
                    "points": issuance.points,
                    "baseline_mean": round(issuance.mean, 2),
                    "baseline_stddev": round(issuance.stddev, 2),
                    "threshold": round(threshold, 2),
                    "baseline_days": rules.BASELINE_DAYS,
                },
                dedupe_key=f"points_issuance:{hour.isoformat()}",
            ),
        )
    return [] if alert is None else [alert.id]


# ---- staff ---------------------------------------------------------------------------------


async def list_alerts(
    platform: Platform, *, unacknowledged: bool, limit: int
) -> list[StaffAlertView]:
    """Alerts newest first, with the member's and the acknowledger's names."""
    async with platform.pool.acquire() as conn:
        alerts = await store.alerts(conn, unacknowledged=unacknowledged, limit=limit)
        people = {a.user_id for a in alerts if a.user_id} | {
            a.acknowledged_by for a in alerts if a.acknowledged_by
        }
        names = await display_names(conn, platform.settings, people)
    return [
        StaffAlertView(
            alert=a,
            title=KIND_TITLES[a.kind],
            user_name=names.get(a.user_id, "unknown member") if a.user_id else None,
            acknowledged_by_name=(
                names.get(a.acknowledged_by, "a staff member") if a.acknowledged_by else None
            ),
        )
        for a in alerts
    ]


async def acknowledge_alert(
    platform: Platform, actor: CurrentUser, alert_id: uuid.UUID, *, source_ip: str | None
) -> StaffAlert:
    """A reviewer or admin has seen the alert. Acknowledging it again changes nothing and
    keeps who acknowledged it first."""
    now = platform.clock.now()
    async with transaction(platform.pool) as conn:
        found = await store.acknowledge_alert(conn, alert_id, actor.id, now)
        if found is None:
            raise NotFound("There is no such alert.", field="alert_id")
        alert, fresh = found
        if fresh:
            await record_audit(
                conn,
                actor.id,
                "staff_alert.acknowledged",
                f"staff_alert:{alert_id}",
                source_ip,
                {"kind": alert.kind, "subject": alert.subject},
                at=now,
            )
        return alert
