"""A mentor's compensation: the share of each payment their contract gives them (the
platform default unless an admin agreed another, blueprint §7), and the month's average
rating and attendance the wallet's monthly bonus is paid on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from dracarys.db import Connection, transaction
from dracarys.errors import NotFound
from dracarys.identity import CurrentUser, Role, account_of, record_audit
from dracarys.mentorship.compensation import store
from dracarys.mentorship.compensation.models import MentorContractInput, MentorContractView
from dracarys.platform import Platform
from dracarys.wallet import MentorMonth
from dracarys.wallet import set_mentor_contract as set_escrow_share


async def set_mentor_contract(
    platform: Platform,
    actor: CurrentUser,
    mentor_id: uuid.UUID,
    data: MentorContractInput,
    source_ip: str | None,
) -> MentorContractView:
    """An admin sets a mentor's share of the payments escrowed from now on (escrows
    already held keep the share they were taken with); the change is audit-logged."""
    async with transaction(platform.pool) as conn:
        account = await account_of(conn, mentor_id)
        if account is None or account.role is not Role.MENTOR:
            raise NotFound("no such mentor", field="user_id")
        await set_escrow_share(conn, mentor_id, share_bps=data.share_bps, now=platform.clock.now())
        await record_audit(
            conn,
            actor.id,
            "mentor.contract_set",
            f"user:{mentor_id}",
            source_ip,
            {"share_bps": data.share_bps},
        )
    return MentorContractView(mentor_id=mentor_id, share_bps=data.share_bps)


async def mentor_months(conn: Connection, month: str) -> list[MentorMonth]:
    """The monthly bonus job (composed in workers/) asks this for each mentor's average rating and
    attendance over `month` (YYYY-MM, UTC)."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return [
        MentorMonth(mentor_id=f.mentor_id, avg_rating=f.avg_rating, attendance_bps=f.attendance_bps)
        for f in await store.month_figures(conn, start, end)
    ]
