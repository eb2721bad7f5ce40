"""SQL of expiry and of the rolling-window tier refresh."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, records
from dracarys.points.expiry.models import CreditsAndDebits, TierMove


async def expiry_candidates(
    conn: Connection, cutoff: datetime, login_since: datetime
) -> list[uuid.UUID]:
    """Users with points, credits earned at or before `cutoff`, and no login the points
    domain heard of since `login_since` (sign-ins are identity's to tell)."""
    rows = await conn.fetch(
        """SELECT b.user_id FROM points_balances b
           WHERE b.balance > 0
             AND coalesce(b.last_login_at, '-infinity') < $2
             AND EXISTS (SELECT 1 FROM points_ledger l
                         WHERE l.user_id = b.user_id AND l.delta > 0 AND l.created_at <= $1)
           ORDER BY b.user_id""",
        cutoff,
        login_since,
    )
    return [r["user_id"] for r in rows]


async def credits_and_debits(
    conn: Connection, user_id: uuid.UUID, cutoff: datetime
) -> CreditsAndDebits:
    row = await conn.fetchrow(
        """SELECT coalesce(sum(delta) FILTER (WHERE delta > 0 AND created_at <= $2), 0)::bigint
                      AS old_credits,
                  coalesce(-sum(delta) FILTER (WHERE delta < 0), 0)::bigint AS spent
           FROM points_ledger WHERE user_id = $1""",
        user_id,
        cutoff,
    )
    assert row is not None
    return record(CreditsAndDebits, row)


async def tiers_to_refresh(
    conn: Connection, since: datetime, thresholds: list[tuple[str, int]]
) -> list[TierMove]:
    """Users whose stored tier differs from the tier their rolling-window earnings give."""
    names = [name for name, _ in thresholds]
    floors = [floor for _, floor in thresholds]
    rows = await conn.fetch(
        """WITH earned AS (
               SELECT b.user_id, b.tier,
                      coalesce((SELECT sum(l.delta) FROM points_ledger l
                                WHERE l.user_id = b.user_id AND l.created_at > $1
                                  AND l.delta > 0 AND l.category <> 'reversal'), 0) AS points
               FROM points_balances b),
           computed AS (
               SELECT e.user_id, e.tier AS previous,
                      (SELECT t.name FROM unnest($2::text[], $3::bigint[]) AS t(name, floor)
                       WHERE e.points >= t.floor ORDER BY t.floor DESC LIMIT 1) AS tier
               FROM earned e)
           SELECT user_id, previous, tier FROM computed WHERE tier <> previous
           ORDER BY user_id""",
        since,
        names,
        floors,
    )
    return records(TierMove, rows)
