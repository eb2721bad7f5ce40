"""Bringing a database up to date: the numbered SQL migrations, then the data steps that
need the settings' keys and so cannot be SQL (sealing personal data, messages and payment
details older versions kept in plain text), and the keys made once, at first start (the
Web Push VAPID key pair). `dracarys migrate` and the embedded start both run this."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from dracarys.db import Connection
from dracarys.db.migrate import migrate
from dracarys.identity import seal_plain_personal_data
from dracarys.messaging import seal_plain_messages
from dracarys.notifications import ensure_vapid_keys
from dracarys.settings import Settings
from dracarys.wallet import seal_plain_payment_details

log = structlog.get_logger("dracarys.upgrade")


async def upgrade_database(conn: Connection, settings: Settings) -> list[int]:
    """Apply what is missing; returns the migration versions applied by this call."""
    applied = await migrate(conn)
    if applied:
        log.info("migrations_applied", versions=applied)
    for step, seal in (
        ("personal_data_sealed", seal_plain_personal_data),
        ("messages_sealed", seal_plain_messages),
        ("payment_details_sealed", seal_plain_payment_details),
    ):
        sealed = await seal(conn, settings)
        if sealed:
            log.info(step, rows=sealed)
    await ensure_vapid_keys(conn, settings, datetime.now(UTC))
    return applied
