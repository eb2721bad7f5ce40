"""TradingView alerts' SQL: mentors' webhooks (found by the token's hash) and the alerts
they received. Rows come back as structs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.db import Connection, record_or_none, records
from dracarys.trading.alerts.models import AlertRecord, Webhook
from dracarys.trading.store import insert_row

# --- webhooks ------------------------------------------------------------------------

_WEBHOOK = "id, mentor_id, token_hint, created_at, revoked_at"


async def live_webhook_by_hash(conn: Connection, token_hash: bytes) -> Webhook | None:
    """The live webhook whose token hashes to `token_hash` (an equality lookup on the
    hash's unique index: what is compared is a digest, never the token)."""
    row = await conn.fetchrow(
        f"SELECT {_WEBHOOK} FROM alert_webhooks WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash,
    )
    return record_or_none(Webhook, row)


async def live_webhook_of(conn: Connection, mentor_id: uuid.UUID) -> Webhook | None:
    row = await conn.fetchrow(
        f"SELECT {_WEBHOOK} FROM alert_webhooks WHERE mentor_id = $1 AND revoked_at IS NULL",
        mentor_id,
    )
    return record_or_none(Webhook, row)


async def revoke_webhooks(conn: Connection, mentor_id: uuid.UUID, now: datetime) -> int:
    status: str = await conn.execute(
        "UPDATE alert_webhooks SET revoked_at = $2 WHERE mentor_id = $1 AND revoked_at IS NULL",
        mentor_id,
        now,
    )
    return int(status.split()[-1])


async def insert_webhook(
    conn: Connection,
    *,
    webhook_id: uuid.UUID,
    mentor_id: uuid.UUID,
    token_hash: bytes,
    token_hint: str,
    now: datetime,
) -> Webhook:
    row = await conn.fetchrow(
        f"""INSERT INTO alert_webhooks (id, mentor_id, token_hash, token_hint, created_at)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_WEBHOOK}""",
        webhook_id,
        mentor_id,
        token_hash,
        token_hint,
        now,
    )
    webhook = record_or_none(Webhook, row)
    assert webhook is not None
    return webhook


# --- alerts --------------------------------------------------------------------------


async def insert_alert(conn: Connection, **fields: Any) -> AlertRecord:
    row = await insert_row(conn, "trading_alerts", fields)
    alert = record_or_none(AlertRecord, row)
    assert alert is not None
    return alert


async def first_broadcast(
    conn: Connection, mentor_id: uuid.UUID, dedupe_key: bytes, since: datetime
) -> AlertRecord | None:
    """The earliest alert broadcast with this key since `since`: what a duplicate repeats."""
    row = await conn.fetchrow(
        """SELECT * FROM trading_alerts
           WHERE mentor_id = $1 AND dedupe_key = $2 AND outcome = 'broadcast'
             AND received_at >= $3
           ORDER BY received_at, seq LIMIT 1""",
        mentor_id,
        dedupe_key,
        since,
    )
    return record_or_none(AlertRecord, row)


async def set_latency(conn: Connection, alert_id: uuid.UUID, latency_ms: int) -> None:
    await conn.execute(
        "UPDATE trading_alerts SET latency_ms = $2 WHERE id = $1", alert_id, latency_ms
    )


async def recent_alerts(conn: Connection, mentor_id: uuid.UUID, limit: int) -> list[AlertRecord]:
    rows = await conn.fetch(
        """SELECT * FROM trading_alerts WHERE mentor_id = $1
           ORDER BY received_at DESC, seq DESC LIMIT $2""",
        mentor_id,
        limit,
    )
    return records(AlertRecord, rows)
