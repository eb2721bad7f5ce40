"""Every SQL statement of drip programs: programs and steps (data the staff edit),
enrolments and their due steps, sends with their opens and clicks, member activity for
the inactivity query, and the marketing suppression list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.notifications.programs.models import (
    DueStep,
    EnrolmentStats,
    ProgramRow,
    ProgramState,
    SentStep,
    StepInput,
    StepRow,
    StepStats,
)

# ---- programs and steps ---------------------------------------------------------------


async def programs(conn: Connection) -> list[ProgramRow]:
    rows = await conn.fetch(
        """SELECT code, name, description, trigger, inactive_after_days, paused_at
           FROM drip_programs ORDER BY code"""
    )
    return records(ProgramRow, rows)


async def steps(conn: Connection) -> list[StepRow]:
    rows = await conn.fetch(
        """SELECT program_code, position, delay_minutes, subject_en, body_en, subject_sw,
                  body_sw, cta_path
           FROM drip_steps ORDER BY program_code, position"""
    )
    return records(StepRow, rows)


async def exit_conditions(conn: Connection) -> dict[str, list[str]]:
    rows = await conn.fetch(
        "SELECT program_code, condition FROM drip_exit_conditions ORDER BY program_code, condition"
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["program_code"], []).append(row["condition"])
    return found


async def step_stats(conn: Connection) -> list[StepStats]:
    rows = await conn.fetch(
        """SELECT program_code, position,
                  count(*)::int AS sent,
                  count(opened_at)::int AS opened,
                  count(clicked_at)::int AS clicked
           FROM drip_sends GROUP BY program_code, position"""
    )
    return records(StepStats, rows)


async def enrolment_stats(conn: Connection) -> list[EnrolmentStats]:
    rows = await conn.fetch(
        """SELECT program_code,
                  count(*) FILTER (WHERE ended_at IS NULL)::int AS running,
                  count(*) FILTER (WHERE end_reason = 'finished')::int AS finished,
                  count(*) FILTER (WHERE ended_at IS NOT NULL
                                     AND end_reason <> 'finished')::int AS exited
           FROM drip_enrolments GROUP BY program_code"""
    )
    return records(EnrolmentStats, rows)


async def set_paused(
    conn: Connection, code: str, paused_at: datetime | None, now: datetime
) -> ProgramState | None:
    row = await conn.fetchrow(
        """UPDATE drip_programs SET paused_at = $2, updated_at = $3 WHERE code = $1
           RETURNING code, paused_at IS NOT NULL AS paused""",
        code,
        paused_at,
        now,
    )
    return record_or_none(ProgramState, row)


async def update_step(
    conn: Connection, code: str, position: int, step: StepInput, now: datetime
) -> bool:
    status = await conn.execute(
        """UPDATE drip_steps SET delay_minutes = $3, subject_en = $4, body_en = $5,
                                 subject_sw = $6, body_sw = $7, updated_at = $8
           WHERE program_code = $1 AND position = $2""",
        code,
        position,
        step.delay_minutes,
        step.subject_en,
        step.body_en,
        step.subject_sw,
        step.body_sw,
        now,
    )
    return status != "UPDATE 0"


async def programs_triggered_by(conn: Connection, trigger: str) -> list[ProgramRow]:
    rows = await conn.fetch(
        """SELECT code, name, description, trigger, inactive_after_days, paused_at
           FROM drip_programs WHERE trigger = $1 ORDER BY code""",
        trigger,
    )
    return records(ProgramRow, rows)


# ---- enrolments -----------------------------------------------------------------------


async def enrol(
    conn: Connection,
    program_code: str,
    user_id: uuid.UUID,
    subject: str,
    at: datetime,
) -> bool:
    """A new enrolment, unless this member already has one for this program and subject."""
    status = await conn.execute(
        """INSERT INTO drip_enrolments (id, program_code, user_id, subject, enrolled_at,
                                        last_step_at)
           VALUES ($1, $2, $3, $4, $5, $5)
           ON CONFLICT (program_code, user_id, subject) DO NOTHING""",
        uuid.uuid4(),
        program_code,
        user_id,
        subject,
        at,
    )
    return status == "INSERT 0 1"


async def end_enrolments(
    conn: Connection,
    user_id: uuid.UUID,
    condition: str,
    at: datetime,
    subject: str | None = None,
) -> int:
    """End the member's running enrolments in every program that names `condition` as an
    exit (only those about `subject`, when given)."""
    status = await conn.execute(
        """UPDATE drip_enrolments e SET ended_at = $3, end_reason = $2
           WHERE e.user_id = $1 AND e.ended_at IS NULL
             AND ($4::text IS NULL OR e.subject = $4)
             AND EXISTS (SELECT 1 FROM drip_exit_conditions x
                         WHERE x.program_code = e.program_code AND x.condition = $2)""",
        user_id,
        condition,
        at,
        subject,
    )
    return int(status.rsplit(" ", 1)[1])


async def end_enrolments_by_id(
    conn: Connection, enrolment_id: uuid.UUID, reason: str, at: datetime
) -> None:
    await conn.execute(
        """UPDATE drip_enrolments SET ended_at = $3, end_reason = $2
           WHERE id = $1 AND ended_at IS NULL""",
        enrolment_id,
        reason,
        at,
    )


async def lock_due_steps(conn: Connection, now: datetime, limit: int) -> list[DueStep]:
    """Running enrolments of running programs whose next step is due, locked; those
    another tick holds are skipped (it is sending them), so each step goes once."""
    rows = await conn.fetch(
        """SELECT e.id AS enrolment_id, e.program_code, e.user_id,
                  s.position, s.subject_en, s.body_en, s.subject_sw, s.body_sw, s.cta_path,
                  (SELECT max(position) FROM drip_steps l
                   WHERE l.program_code = e.program_code) AS last_position
           FROM drip_enrolments e
           JOIN drip_programs p ON p.code = e.program_code AND p.paused_at IS NULL
           JOIN drip_steps s ON s.program_code = e.program_code AND s.position = e.next_position
           WHERE e.ended_at IS NULL
             AND e.last_step_at + make_interval(mins => s.delay_minutes) <= $1
             AND (e.held_until IS NULL OR e.held_until <= $1)
           ORDER BY e.last_step_at
           LIMIT $2
           FOR UPDATE OF e SKIP LOCKED""",
        now,
        limit,
    )
    return records(DueStep, rows)


async def insert_send(
    conn: Connection,
    *,
    due: DueStep,
    email_id: str,
    token_hash: bytes,
    at: datetime,
) -> bool:
    status = await conn.execute(
        """INSERT INTO drip_sends (enrolment_id, position, program_code, email_id, token_hash,
                                   sent_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (enrolment_id, position) DO NOTHING""",
        due.enrolment_id,
        due.position,
        due.program_code,
        email_id,
        token_hash,
        at,
    )
    return status == "INSERT 0 1"


async def set_send_message(
    conn: Connection, enrolment_id: uuid.UUID, position: int, message_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE drip_sends SET message_id = $3 WHERE enrolment_id = $1 AND position = $2",
        enrolment_id,
        position,
        message_id,
    )


async def advance(conn: Connection, due: DueStep, at: datetime) -> None:
    """Past the step just sent; the enrolment finishes after the program's last step."""
    await conn.execute(
        """UPDATE drip_enrolments
           SET next_position = $2::int + 1, last_step_at = $3::timestamptz, held_until = NULL,
               ended_at = CASE WHEN $2::int >= $4::int THEN $3::timestamptz END,
               end_reason = CASE WHEN $2::int >= $4::int THEN 'finished' END
           WHERE id = $1""",
        due.enrolment_id,
        due.position,
        at,
        due.last_position,
    )


async def hold(conn: Connection, enrolment_id: uuid.UUID, until: datetime) -> None:
    """The member's quiet hours: their due step waits until `until`."""
    await conn.execute(
        "UPDATE drip_enrolments SET held_until = $2 WHERE id = $1", enrolment_id, until
    )


# ---- opens and clicks -----------------------------------------------------------------


async def record_open(conn: Connection, token_hash: bytes, at: datetime) -> bool:
    status = await conn.execute(
        """UPDATE drip_sends SET opened_at = coalesce(opened_at, $2), open_count = open_count + 1
           WHERE token_hash = $1""",
        token_hash,
        at,
    )
    return status != "UPDATE 0"


async def record_click(conn: Connection, token_hash: bytes, at: datetime) -> SentStep | None:
    row = await conn.fetchrow(
        """UPDATE drip_sends d SET clicked_at = coalesce(d.clicked_at, $2),
                                   opened_at = coalesce(d.opened_at, $2)
           FROM drip_steps s
           WHERE d.token_hash = $1 AND s.program_code = d.program_code
             AND s.position = d.position
           RETURNING d.enrolment_id, d.position, s.cta_path""",
        token_hash,
        at,
    )
    return record_or_none(SentStep, row)


async def sent_step(conn: Connection, token_hash: bytes) -> SentStep | None:
    row = await conn.fetchrow(
        """SELECT d.enrolment_id, d.position, s.cta_path FROM drip_sends d
           JOIN drip_steps s ON s.program_code = d.program_code AND s.position = d.position
           WHERE d.token_hash = $1""",
        token_hash,
    )
    return record_or_none(SentStep, row)


# ---- member activity ------------------------------------------------------------------


async def record_activity(conn: Connection, user_ids: Sequence[uuid.UUID], at: datetime) -> None:
    await conn.execute(
        """INSERT INTO drip_member_activity (user_id, last_active_at)
           SELECT u, $2 FROM unnest($1::uuid[]) AS t(u)
           ON CONFLICT (user_id) DO UPDATE
           SET last_active_at = greatest(drip_member_activity.last_active_at,
                                         excluded.last_active_at)""",
        list(user_ids),
        at,
    )


async def enrol_inactive(
    conn: Connection, program_code: str, inactive_since: datetime, now: datetime, limit: int
) -> int:
    """Enrol members last active before `inactive_since`, once per inactive spell (the
    spell's start is the enrolment's subject)."""
    status = await conn.execute(
        """INSERT INTO drip_enrolments (id, program_code, user_id, subject, enrolled_at,
                                        last_step_at)
           SELECT gen_random_uuid(), $1, a.user_id,
                  extract(epoch FROM a.last_active_at)::bigint::text, $3, $3
           FROM drip_member_activity a
           WHERE a.last_active_at < $2
             AND NOT EXISTS (SELECT 1 FROM drip_enrolments e
                             WHERE e.program_code = $1 AND e.user_id = a.user_id
                               AND e.subject = extract(epoch FROM a.last_active_at)::bigint::text)
           ORDER BY a.last_active_at
           LIMIT $4
           ON CONFLICT (program_code, user_id, subject) DO NOTHING""",
        program_code,
        inactive_since,
        now,
        limit,
    )
    return int(status.rsplit(" ", 1)[1])


# ---- suppression list -----------------------------------------------------------------


async def suppress(
    conn: Connection,
    address_index: bytes,
    user_id: uuid.UUID | None,
    reason: str,
    detail: str,
    at: datetime,
) -> bool:
    """False when the address was already on the list (its first reason stays)."""
    status = await conn.execute(
        """INSERT INTO mail_suppressions (address_index, user_id, reason, detail, created_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (address_index) DO NOTHING""",
        address_index,
        user_id,
        reason,
        detail,
        at,
    )
    return status == "INSERT 0 1"


async def suppressed(conn: Connection, address_indexes: Sequence[bytes]) -> set[bytes]:
    rows = await conn.fetch(
        "SELECT address_index FROM mail_suppressions WHERE address_index = ANY($1::bytea[])",
        list(address_indexes),
    )
    return {bytes(row["address_index"]) for row in rows}
