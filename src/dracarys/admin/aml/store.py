"""The SQL of AML: rules, the wallet movements they read, alerts, cases and their
timelines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from dracarys.admin.aml.models import Alert, Case, CaseEntry, Movement, Rule
from dracarys.db import Connection, record, record_or_none, records

_RULE = "id, country, kind, parameters, currency, action, enabled, updated_at, updated_by"
_MOVEMENT = "event_id, user_id, kind, reference, amount_minor, currency, method, occurred_at"
_ALERT = (
    "id, rule_id, user_id, event_id, kind, country, action, summary, details, case_id,"
    " raised_at, acknowledged_at, acknowledged_by"
)
_CASE = (
    "id, user_id, status, holds_withdrawals, assignee_id, opened_at, decided_at, decided_by,"
    " decision_note, report_reference"
)
_ENTRY = "id, case_id, kind, actor_id, body, at"

# ---- rules --------------------------------------------------------------------------------


async def all_rules(conn: Connection) -> list[Rule]:
    rows = await conn.fetch(
        f"SELECT {_RULE} FROM aml_rules ORDER BY country = '*', country, kind, currency"
    )
    return records(Rule, rows)


async def rule(conn: Connection, rule_id: uuid.UUID, *, lock: bool = False) -> Rule | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {_RULE} FROM aml_rules WHERE id = $1{suffix}", rule_id)
    return record_or_none(Rule, row)


async def enabled_rules_for(conn: Connection, country: str | None, currency: str) -> list[Rule]:
    """The enabled rules of `country` in `currency`; a country without rules of its own
    in that currency (or none known) gets the default ('*') ones. A country's disabled
    rule stays off: the default does not stand in for it."""
    rows = await conn.fetch(
        f"""SELECT {_RULE} FROM aml_rules
            WHERE currency = $2 AND enabled AND country = (
                SELECT CASE WHEN EXISTS (SELECT 1 FROM aml_rules
                                         WHERE country = $1 AND currency = $2)
                            THEN $1 ELSE '*' END)
            ORDER BY kind""",
        country or "*",
        currency,
    )
    return records(Rule, rows)


async def update_rule(
    conn: Connection,
    rule_id: uuid.UUID,
    *,
    parameters: dict[str, Any],
    action: str,
    enabled: bool,
    actor_id: uuid.UUID,
    now: datetime,
) -> Rule:
    row = await conn.fetchrow(
        f"""UPDATE aml_rules SET parameters = $2, action = $3, enabled = $4,
                   updated_by = $5, updated_at = $6
            WHERE id = $1 RETURNING {_RULE}""",
        rule_id,
        parameters,
        action,
        enabled,
        actor_id,
        now,
    )
    rule = record_or_none(Rule, row)
    assert rule is not None
    return rule


# ---- movements ----------------------------------------------------------------------------


async def insert_movement(conn: Connection, movement: Movement) -> bool:
    """False when this event's movement is already recorded (a redelivery)."""
    status = await conn.execute(
        """INSERT INTO aml_movements (event_id, user_id, kind, reference, amount_minor,
                                      currency, method, occurred_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        movement.event_id,
        movement.user_id,
        movement.kind,
        movement.reference,
        movement.amount_minor,
        movement.currency,
        movement.method,
        movement.occurred_at,
    )
    return status.endswith(" 1")


async def movements_since(
    conn: Connection, user_id: uuid.UUID, currency: str, since: datetime, until: datetime
) -> list[Movement]:
    rows = await conn.fetch(
        f"""SELECT {_MOVEMENT} FROM aml_movements
            WHERE user_id = $1 AND currency = $2 AND occurred_at >= $3 AND occurred_at <= $4
            ORDER BY occurred_at, event_id""",
        user_id,
        currency,
        since,
        until,
    )
    return records(Movement, rows)


async def latest_movement_at(conn: Connection, user_id: uuid.UUID, currency: str) -> datetime:
    """When the member's latest recorded movement in `currency` happened (one exists: the
    one being judged)."""
    latest: datetime = await conn.fetchval(
        "SELECT max(occurred_at) FROM aml_movements WHERE user_id = $1 AND currency = $2",
        user_id,
        currency,
    )
    return latest


async def movements_of(conn: Connection, user_id: uuid.UUID, since: datetime) -> list[Movement]:
    rows = await conn.fetch(
        f"""SELECT {_MOVEMENT} FROM aml_movements
            WHERE user_id = $1 AND occurred_at >= $2 ORDER BY occurred_at, event_id""",
        user_id,
        since,
    )
    return records(Movement, rows)


# ---- alerts -------------------------------------------------------------------------------


async def recent_alert_exists(
    conn: Connection, user_id: uuid.UUID, rule_id: uuid.UUID, since: datetime
) -> bool:
    """Whether the rule alerted on a movement of the member's since `since` (movement
    time, the same clock the windows are measured in)."""
    found = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM aml_alerts a
                          JOIN aml_movements m ON m.event_id = a.event_id
                          WHERE a.user_id = $1 AND a.rule_id = $2 AND m.occurred_at >= $3)""",
        user_id,
        rule_id,
        since,
    )
    return bool(found)


async def insert_alert(conn: Connection, alert: Alert) -> bool:
    status = await conn.execute(
        """INSERT INTO aml_alerts (id, rule_id, user_id, event_id, kind, country, action,
                                   summary, details, case_id, raised_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (rule_id, event_id) DO NOTHING""",
        alert.id,
        alert.rule_id,
        alert.user_id,
        alert.event_id,
        alert.kind,
        alert.country,
        alert.action,
        alert.summary,
        alert.details,
        alert.case_id,
        alert.raised_at,
    )
    return status.endswith(" 1")


async def alerts(conn: Connection, *, unacknowledged: bool, limit: int) -> list[Alert]:
    rows = await conn.fetch(
        f"""SELECT {_ALERT} FROM aml_alerts
            WHERE NOT $1 OR acknowledged_at IS NULL
            ORDER BY raised_at DESC, id LIMIT $2""",
        unacknowledged,
        limit,
    )
    return records(Alert, rows)


async def alerts_of_case(conn: Connection, case_id: uuid.UUID) -> list[Alert]:
    rows = await conn.fetch(
        f"SELECT {_ALERT} FROM aml_alerts WHERE case_id = $1 ORDER BY raised_at, id", case_id
    )
    return records(Alert, rows)


async def acknowledge_alert(
    conn: Connection, alert_id: uuid.UUID, actor_id: uuid.UUID, now: datetime
) -> Alert | None:
    """The alert, acknowledged now unless it already was (then as it was)."""
    row = await conn.fetchrow(
        f"""UPDATE aml_alerts
            SET acknowledged_at = COALESCE(acknowledged_at, $3),
                acknowledged_by = COALESCE(acknowledged_by, $2)
            WHERE id = $1 RETURNING {_ALERT}""",
        alert_id,
        actor_id,
        now,
    )
    return record_or_none(Alert, row)


# ---- cases --------------------------------------------------------------------------------


async def open_case_of(conn: Connection, user_id: uuid.UUID) -> Case | None:
    row = await conn.fetchrow(
        f"""SELECT {_CASE} FROM aml_cases
            WHERE user_id = $1 AND status IN ('open', 'escalated') FOR UPDATE""",
        user_id,
    )
    return record_or_none(Case, row)


async def insert_case(
    conn: Connection, case_id: uuid.UUID, user_id: uuid.UUID, holds: bool, now: datetime
) -> Case:
    row = await conn.fetchrow(
        f"""INSERT INTO aml_cases (id, user_id, status, holds_withdrawals, opened_at)
            VALUES ($1, $2, 'open', $3, $4) RETURNING {_CASE}""",
        case_id,
        user_id,
        holds,
        now,
    )
    case = record_or_none(Case, row)
    assert case is not None
    return case


async def case(conn: Connection, case_id: uuid.UUID, *, lock: bool = False) -> Case | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {_CASE} FROM aml_cases WHERE id = $1{suffix}", case_id)
    return record_or_none(Case, row)


async def cases(conn: Connection, statuses: list[str], limit: int) -> list[tuple[Case, int]]:
    rows = await conn.fetch(
        f"""SELECT {", ".join("c." + c.strip() for c in _CASE.split(","))},
                   (SELECT count(*) FROM aml_alerts a WHERE a.case_id = c.id) AS alert_count
            FROM aml_cases c WHERE c.status = ANY($1::text[])
            ORDER BY c.opened_at DESC, c.id LIMIT $2""",
        statuses,
        limit,
    )
    return [(record(Case, r), int(r["alert_count"])) for r in rows]


async def cases_of_month(
    conn: Connection, start: datetime, end: datetime
) -> list[tuple[Case, int]]:
    """Cases opened or decided in [start, end), oldest first, with their alert count."""
    rows = await conn.fetch(
        f"""SELECT {", ".join("c." + c.strip() for c in _CASE.split(","))},
                   (SELECT count(*) FROM aml_alerts a WHERE a.case_id = c.id) AS alert_count
            FROM aml_cases c
            WHERE (c.opened_at >= $1 AND c.opened_at < $2)
               OR (c.decided_at >= $1 AND c.decided_at < $2)
            ORDER BY c.opened_at, c.id""",
        start,
        end,
    )
    return [(record(Case, r), int(r["alert_count"])) for r in rows]


async def set_assignee(conn: Connection, case_id: uuid.UUID, assignee_id: uuid.UUID) -> None:
    await conn.execute("UPDATE aml_cases SET assignee_id = $2 WHERE id = $1", case_id, assignee_id)


async def set_holds(conn: Connection, case_id: uuid.UUID) -> None:
    await conn.execute("UPDATE aml_cases SET holds_withdrawals = true WHERE id = $1", case_id)


async def decide_case(
    conn: Connection,
    case_id: uuid.UUID,
    *,
    status: str,
    actor_id: uuid.UUID,
    note: str,
    report_reference: str | None,
    now: datetime,
) -> None:
    decided = status in ("cleared", "reported")
    await conn.execute(
        """UPDATE aml_cases SET status = $2,
                  decided_at = CASE WHEN $6 THEN $5 ELSE decided_at END,
                  decided_by = CASE WHEN $6 THEN $3 ELSE decided_by END,
                  decision_note = CASE WHEN $6 THEN $4 ELSE decision_note END,
                  report_reference = COALESCE($7, report_reference)
           WHERE id = $1""",
        case_id,
        status,
        actor_id,
        note,
        now,
        decided,
        report_reference,
    )


async def add_entry(
    conn: Connection,
    case_id: uuid.UUID,
    kind: str,
    actor_id: uuid.UUID | None,
    body: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO aml_case_entries (id, case_id, kind, actor_id, body, at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        uuid.uuid4(),
        case_id,
        kind,
        actor_id,
        body,
        now,
    )


async def entries(conn: Connection, case_id: uuid.UUID) -> list[CaseEntry]:
    rows = await conn.fetch(
        f"SELECT {_ENTRY} FROM aml_case_entries WHERE case_id = $1 ORDER BY seq", case_id
    )
    return records(CaseEntry, rows)
