"""Signals' SQL: the hash-chained signals, their outcomes, feed plans, subscriptions and
mirrored copies. Rows come back as structs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from dracarys.db import Connection, record, record_or_none, records
from dracarys.trading.signals.models import (
    ActiveSubscription,
    AlertLatency,
    BilledSubscription,
    ClosedSignal,
    FeedPlan,
    Mirror,
    PaidPeriod,
    Signal,
    SignalOutcome,
    SignalRecord,
    Subscription,
)
from dracarys.trading.store import insert_row

# --- signals ------------------------------------------------------------------------


def _signal(row: asyncpg.Record) -> Signal:
    stored = record(SignalRecord, row)
    fields = msgspec.structs.asdict(stored)
    fields.update(
        prev_hash=None if stored.prev_hash is None else stored.prev_hash.hex(),
        hash=stored.hash.hex(),
    )
    return Signal(**fields)


async def chain_head(conn: Connection, mentor_id: uuid.UUID) -> SignalRecord | None:
    row = await conn.fetchrow(
        "SELECT * FROM signals WHERE mentor_id = $1 ORDER BY chain_seq DESC LIMIT 1", mentor_id
    )
    return record_or_none(SignalRecord, row)


async def insert_signal(conn: Connection, **fields: Any) -> Signal:
    row = await insert_row(conn, "signals", fields)
    assert row is not None
    return _signal(row)


async def get_signal(conn: Connection, signal_id: uuid.UUID) -> Signal | None:
    row = await conn.fetchrow("SELECT * FROM signals WHERE id = $1", signal_id)
    return None if row is None else _signal(row)


async def signal_chain(conn: Connection, mentor_id: uuid.UUID) -> list[SignalRecord]:
    rows = await conn.fetch(
        "SELECT * FROM signals WHERE mentor_id = $1 ORDER BY chain_seq", mentor_id
    )
    return records(SignalRecord, rows)


async def list_signals(conn: Connection, mentor_id: uuid.UUID, limit: int) -> list[Signal]:
    rows = await conn.fetch(
        "SELECT * FROM signals WHERE mentor_id = $1 ORDER BY chain_seq DESC LIMIT $2",
        mentor_id,
        limit,
    )
    return [_signal(r) for r in rows]


async def is_corrected(conn: Connection, signal_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM signals WHERE corrects_id = $1", signal_id))


async def signal_count(conn: Connection, mentor_id: uuid.UUID) -> int:
    value: int = await conn.fetchval("SELECT count(*) FROM signals WHERE mentor_id = $1", mentor_id)
    return value


# --- outcomes -----------------------------------------------------------------------


async def insert_outcome(conn: Connection, **fields: Any) -> bool:
    row = await insert_row(
        conn, "signal_outcomes", fields, on_conflict="ON CONFLICT (signal_id) DO NOTHING"
    )
    return row is not None


async def outcomes(conn: Connection, mentor_id: uuid.UUID) -> list[SignalOutcome]:
    rows = await conn.fetch(
        "SELECT * FROM signal_outcomes WHERE mentor_id = $1 ORDER BY closed_at, signal_id",
        mentor_id,
    )
    return records(SignalOutcome, rows)


async def closed_signal(conn: Connection, signal_id: uuid.UUID) -> ClosedSignal | None:
    """The signal with the outcome its book closed it with; None unless it was closed
    (open, expired and superseded signals have no result)."""
    row = await conn.fetchrow(
        """SELECT s.id, s.mentor_id, s.symbol, s.side, o.r_multiple, o.pnl_minor, o.closed_at
           FROM signals s JOIN signal_outcomes o ON o.signal_id = s.id
           WHERE s.id = $1 AND o.outcome = 'closed'""",
        signal_id,
    )
    return record_or_none(ClosedSignal, row)


# --- alert latencies ---------------------------------------------------------------


async def insert_alert_latency(conn: Connection, latency: AlertLatency) -> None:
    await insert_row(
        conn,
        "signal_alert_latencies",
        msgspec.structs.asdict(latency),
        on_conflict="ON CONFLICT (signal_id) DO NOTHING",
    )


async def alert_latencies_ms(conn: Connection, mentor_id: uuid.UUID) -> list[int]:
    """The mentor's alert-to-broadcast latencies, smallest first."""
    rows = await conn.fetch(
        "SELECT latency_ms FROM signal_alert_latencies WHERE mentor_id = $1 ORDER BY latency_ms",
        mentor_id,
    )
    return [int(r["latency_ms"]) for r in rows]


# --- plans --------------------------------------------------------------------------


async def upsert_plan(
    conn: Connection, mentor_id: uuid.UUID, price_minor: int, currency: str, now: datetime
) -> FeedPlan:
    await conn.execute(
        """INSERT INTO signal_feed_plans (mentor_id, monthly_price_minor, currency, updated_at)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (mentor_id) DO UPDATE SET monthly_price_minor = EXCLUDED.monthly_price_minor,
               currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at""",
        mentor_id,
        price_minor,
        currency,
        now,
    )
    return FeedPlan(mentor_id=mentor_id, monthly_price_minor=price_minor, currency=currency)


async def get_plan(conn: Connection, mentor_id: uuid.UUID) -> FeedPlan | None:
    row = await conn.fetchrow("SELECT * FROM signal_feed_plans WHERE mentor_id = $1", mentor_id)
    return record_or_none(FeedPlan, row)


# --- subscriptions ------------------------------------------------------------------

_GRANTS_ACCESS = (
    "((status = 'active' AND billing_status IN ('free', 'paid'))"
    " OR (status = 'cancelled' AND billing_status = 'paid'))"
)


async def insert_subscription(conn: Connection, **fields: Any) -> Subscription | None:
    row = await insert_row(
        conn, "signal_subscriptions", fields, on_conflict="ON CONFLICT DO NOTHING"
    )
    return record_or_none(Subscription, row)


async def get_subscription(conn: Connection, subscription_id: uuid.UUID) -> Subscription | None:
    row = await conn.fetchrow("SELECT * FROM signal_subscriptions WHERE id = $1", subscription_id)
    return record_or_none(Subscription, row)


async def active_subscription(
    conn: Connection, subscriber_id: uuid.UUID, mentor_id: uuid.UUID
) -> Subscription | None:
    row = await conn.fetchrow(
        """SELECT * FROM signal_subscriptions
           WHERE subscriber_id = $1 AND mentor_id = $2 AND status = 'active'""",
        subscriber_id,
        mentor_id,
    )
    return record_or_none(Subscription, row)


async def active_subscribers(
    conn: Connection, user_ids: Sequence[uuid.UUID], mentor_id: uuid.UUID
) -> set[uuid.UUID]:
    """Those of `user_ids` who may read `mentor_id`'s feed as subscribers: an active free
    or paid subscription, or a cancelled one whose paid period has not ended (the renewal
    job expires it then)."""
    rows = await conn.fetch(
        f"""SELECT subscriber_id FROM signal_subscriptions
             WHERE subscriber_id = ANY($1::uuid[]) AND mentor_id = $2 AND {_GRANTS_ACCESS}""",
        list(user_ids),
        mentor_id,
    )
    return {r["subscriber_id"] for r in rows}


async def lock_subscription(
    conn: Connection, subscription_id: uuid.UUID
) -> BilledSubscription | None:
    row = await conn.fetchrow(
        "SELECT * FROM signal_subscriptions WHERE id = $1 FOR UPDATE", subscription_id
    )
    return record_or_none(BilledSubscription, row)


async def paid_time_left(
    conn: Connection, subscriber_id: uuid.UUID, mentor_id: uuid.UUID, *, lock: bool = True
) -> PaidPeriod | None:
    """A cancelled subscription to this feed whose paid period has not ended (locked,
    unless `lock` is False for a read that changes nothing)."""
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"""SELECT id, paid_until, periods_paid, escrow_id FROM signal_subscriptions
            WHERE subscriber_id = $1 AND mentor_id = $2 AND status = 'cancelled'
              AND billing_status = 'paid'
            ORDER BY paid_until DESC LIMIT 1 {locking}""",
        subscriber_id,
        mentor_id,
    )
    return record_or_none(PaidPeriod, row)


async def set_billing(
    conn: Connection,
    subscription_id: uuid.UUID,
    billing_status: str,
    *,
    paid_until: datetime | None = None,
    escrow_id: uuid.UUID | None = None,
    periods_paid: int | None = None,
) -> None:
    await conn.execute(
        """UPDATE signal_subscriptions SET billing_status = $2,
               paid_until = coalesce($3, paid_until), escrow_id = coalesce($4, escrow_id),
               periods_paid = coalesce($5, periods_paid)
           WHERE id = $1""",
        subscription_id,
        billing_status,
        paid_until,
        escrow_id,
        periods_paid,
    )


async def due_subscription_ids(conn: Connection, now: datetime) -> list[uuid.UUID]:
    """Paid subscriptions whose period has ended: to renew, retry or expire."""
    rows = await conn.fetch(
        """SELECT id FROM signal_subscriptions
           WHERE billing_status IN ('paid', 'past_due') AND paid_until <= $1
           ORDER BY paid_until, id""",
        now,
    )
    return [r["id"] for r in rows]


async def cancel_subscription(
    conn: Connection, subscription_id: uuid.UUID, now: datetime
) -> Subscription | None:
    row = await conn.fetchrow(
        """UPDATE signal_subscriptions SET status = 'cancelled', cancelled_at = $2
           WHERE id = $1 AND status = 'active' RETURNING *""",
        subscription_id,
        now,
    )
    return record_or_none(Subscription, row)


async def list_subscriptions(conn: Connection, subscriber_id: uuid.UUID) -> list[Subscription]:
    rows = await conn.fetch(
        "SELECT * FROM signal_subscriptions WHERE subscriber_id = $1 ORDER BY started_at DESC",
        subscriber_id,
    )
    return records(Subscription, rows)


async def active_subscriptions_of(
    conn: Connection, mentor_id: uuid.UUID
) -> list[ActiveSubscription]:
    rows = await conn.fetch(
        """SELECT s.id, s.subscriber_id, s.started_at, s.monthly_price_minor, s.currency,
                  s.billing_status, s.mirror_portfolio_id IS NOT NULL AS mirroring
           FROM signal_subscriptions s
           WHERE s.mentor_id = $1 AND s.status = 'active'
           ORDER BY s.started_at DESC, s.id""",
        mentor_id,
    )
    return records(ActiveSubscription, rows)


async def feed_subscriber_ids(conn: Connection, mentor_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT subscriber_id FROM signal_subscriptions
           WHERE mentor_id = $1 AND status = 'active' AND billing_status <> 'past_due'""",
        mentor_id,
    )
    return [r["subscriber_id"] for r in rows]


async def mirroring_subscriptions(conn: Connection, mentor_id: uuid.UUID) -> list[Subscription]:
    rows = await conn.fetch(
        """SELECT * FROM signal_subscriptions WHERE mentor_id = $1 AND status = 'active'
             AND billing_status IN ('free', 'paid')
             AND mirror_portfolio_id IS NOT NULL ORDER BY started_at, id""",
        mentor_id,
    )
    return records(Subscription, rows)


# --- mirrors ------------------------------------------------------------------------


async def insert_mirror(conn: Connection, **fields: Any) -> Mirror | None:
    row = await insert_row(conn, "signal_mirrors", fields, on_conflict="ON CONFLICT DO NOTHING")
    return record_or_none(Mirror, row)


async def list_mirrors(conn: Connection, subscription_id: uuid.UUID) -> list[Mirror]:
    rows = await conn.fetch(
        "SELECT * FROM signal_mirrors WHERE subscription_id = $1 ORDER BY created_at DESC",
        subscription_id,
    )
    return records(Mirror, rows)


async def paid_feed_pairs(conn: Connection, user_id: uuid.UUID) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(mentor, subscriber) of every paid subscription that grants access, `user_id` on
    either side."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT mentor_id, subscriber_id FROM signal_subscriptions
             WHERE (mentor_id = $1 OR subscriber_id = $1) AND monthly_price_minor > 0
               AND billing_status = 'paid' AND {_GRANTS_ACCESS}""",
        user_id,
    )
    return {(r["mentor_id"], r["subscriber_id"]) for r in rows}
