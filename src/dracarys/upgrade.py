"""Bringing a database up to date: the numbered SQL migrations, then the data steps that
need the settings' keys and so cannot be SQL (sealing personal data older versions kept
in plain text). `dracarys migrate` and the embedded start both run this."""

from __future__ import annotations

import structlog

from dracarys.db import Connection
from dracarys.db.migrate import migrate
from dracarys.identity.personal import seal_plain_personal_data
from dracarys.settings import Settings

log = structlog.get_logger("dracarys.upgrade")


async def upgrade_database(conn: Connection, settings: Settings) -> list[int]:
    """Apply what is missing; returns the migration versions applied by this call."""
    applied = await migrate(conn)
    if applied:
        log.info("migrations_applied", versions=applied)
    sealed = await seal_plain_personal_data(conn, settings)
    if sealed:
        log.info("personal_data_sealed", rows=sealed)
    return applied
