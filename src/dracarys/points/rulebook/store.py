"""SQL of the rule book: rule versions (append-only: a change is a new version) and
limited-time events."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, records
from dracarys.points.models import PointsEvent, Rule

_RULE_COLUMNS = (
    "code, version, title, description, topic, kind, points, params, scope, category, "
    "daily_limit, monthly_limit, pending, min_kyc_level, active"
)


async def rules_in_force(conn: Connection) -> list[Rule]:
    """The newest version of every rule (active or not)."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (code) {_RULE_COLUMNS} FROM points_rules
            ORDER BY code, version DESC"""
    )
    return records(Rule, rows)


async def rule_versions(conn: Connection, code: str) -> list[Rule]:
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM points_rules WHERE code = $1 ORDER BY version", code
    )
    return records(Rule, rows)


async def all_rule_versions(conn: Connection) -> list[Rule]:
    rows = await conn.fetch(f"SELECT {_RULE_COLUMNS} FROM points_rules ORDER BY code, version DESC")
    return records(Rule, rows)


async def insert_rule_version(conn: Connection, rule: Rule, created_by: uuid.UUID) -> None:
    await conn.execute(
        f"""INSERT INTO points_rules ({_RULE_COLUMNS}, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)""",
        *(getattr(rule, f) for f in Rule.__struct_fields__),
        created_by,
    )


async def current_events(conn: Connection, now: datetime) -> list[PointsEvent]:
    """Events not over yet (running or to come), earliest first."""
    rows = await conn.fetch(
        """SELECT id, name, rule_codes, multiplier_pct, starts_at, ends_at FROM points_events
           WHERE ends_at > $1 ORDER BY starts_at""",
        now,
    )
    return records(PointsEvent, rows)


async def insert_event(conn: Connection, event: PointsEvent, created_by: uuid.UUID) -> None:
    await conn.execute(
        """INSERT INTO points_events (id, name, rule_codes, multiplier_pct, starts_at, ends_at,
                                      created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        event.id,
        event.name,
        event.rule_codes,
        event.multiplier_pct,
        event.starts_at,
        event.ends_at,
        created_by,
    )
