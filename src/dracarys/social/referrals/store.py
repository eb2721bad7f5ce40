"""The SQL of referrals: codes, clicks, sightings, the referrals themselves and the fraud
rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.social.referrals.models import (
    Click,
    DayCount,
    FraudRule,
    FraudRuleCode,
    Referral,
    ReferralStatus,
    RefusedReferral,
    UtmTags,
)

_REFERRAL = (
    "referee_id, referrer_id, click_id, status, refusal_rule, refusal_detail, "
    "host(signup_ip) AS signup_ip, signup_cluster::text AS signup_cluster, signup_device, "
    "session_id, signed_up_at, decided_at"
)

# ---- codes -----------------------------------------------------------------------------


async def code_of(conn: Connection, user_id: uuid.UUID) -> str | None:
    code: str | None = await conn.fetchval(
        "SELECT code FROM referral_codes WHERE user_id = $1", user_id
    )
    return code


async def insert_code(conn: Connection, user_id: uuid.UUID, code: str, at: datetime) -> str | None:
    """The user's code: `code` if it was free and they had none, the one they had
    otherwise; None when `code` belongs to someone else (draw another)."""
    row = await conn.fetchrow(
        """WITH added AS (
               INSERT INTO referral_codes (user_id, code, created_at) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING code
           )
           SELECT code FROM added
           UNION ALL SELECT code FROM referral_codes WHERE user_id = $1""",
        user_id,
        code,
        at,
    )
    return None if row is None else str(row["code"])


async def code_exists(conn: Connection, code: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM referral_codes WHERE code = $1)", code
    )
    return found


# ---- clicks ----------------------------------------------------------------------------


async def record_click(
    conn: Connection,
    *,
    click_id: uuid.UUID,
    code: str,
    utm: UtmTags,
    ip: str | None,
    cluster: str | None,
    device_hash: bytes | None,
    at: datetime,
) -> bool:
    """One statement (the redirect's hot path): the click of a known code; False for an
    unknown one."""
    recorded: bool | None = await conn.fetchval(
        """INSERT INTO referral_clicks (id, referrer_id, utm_source, utm_medium, utm_campaign,
                                        utm_term, utm_content, ip, ip_cluster, device_hash,
                                        created_at)
           SELECT $1, user_id, $3, $4, $5, $6, $7, $8::inet, $9::cidr, $10, $11
           FROM referral_codes WHERE code = $2
           RETURNING true""",
        click_id,
        code,
        utm.source,
        utm.medium,
        utm.campaign,
        utm.term,
        utm.content,
        ip,
        cluster,
        device_hash,
        at,
    )
    return bool(recorded)


async def click(conn: Connection, click_id: uuid.UUID) -> Click | None:
    row = await conn.fetchrow(
        """SELECT id, referrer_id, utm_source, utm_medium, utm_campaign, utm_term,
                  utm_content, host(ip) AS ip, ip_cluster::text AS ip_cluster, device_hash,
                  created_at
           FROM referral_clicks WHERE id = $1""",
        click_id,
    )
    return record_or_none(Click, row)


async def click_count(conn: Connection, referrer_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM referral_clicks WHERE referrer_id = $1", referrer_id
    )
    return count


# ---- sightings -------------------------------------------------------------------------


async def record_sightings(
    conn: Connection, user_id: uuid.UUID, seen: Sequence[tuple[str, str]], at: datetime
) -> None:
    if not seen:
        return
    await conn.execute(
        """INSERT INTO referral_sightings (user_id, kind, value, first_seen, last_seen)
           SELECT $1, s.kind, s.value, $4, $4 FROM unnest($2::text[], $3::text[])
                AS s (kind, value)
           ON CONFLICT (user_id, kind, value) DO UPDATE
               SET last_seen = greatest(referral_sightings.last_seen, EXCLUDED.last_seen)""",
        user_id,
        [kind for kind, _ in seen],
        [value for _, value in seen],
        at,
    )


async def seen_values(
    conn: Connection, user_id: uuid.UUID, kind: str, since: datetime | None = None
) -> set[str]:
    rows = await conn.fetch(
        """SELECT value FROM referral_sightings
           WHERE user_id = $1 AND kind = $2 AND ($3::timestamptz IS NULL OR last_seen >= $3)""",
        user_id,
        kind,
        since,
    )
    return {str(row["value"]) for row in rows}


# ---- referrals -------------------------------------------------------------------------


async def insert_referral(conn: Connection, referral: Referral) -> None:
    await conn.execute(
        """INSERT INTO referrals (referee_id, referrer_id, click_id, status, refusal_rule,
                                  refusal_detail, signup_ip, signup_cluster, signup_device,
                                  signed_up_at, decided_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::inet, $8::cidr, $9, $10, $11)""",
        referral.referee_id,
        referral.referrer_id,
        referral.click_id,
        referral.status.value,
        None if referral.refusal_rule is None else referral.refusal_rule.value,
        referral.refusal_detail,
        referral.signup_ip,
        referral.signup_cluster,
        referral.signup_device,
        referral.signed_up_at,
        referral.decided_at,
    )


async def referral_of(
    conn: Connection, referee_id: uuid.UUID, *, lock: bool = False
) -> Referral | None:
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_REFERRAL} FROM referrals WHERE referee_id = $1 {locking}", referee_id
    )
    return record_or_none(Referral, row)


async def decide(
    conn: Connection,
    referee_id: uuid.UUID,
    *,
    status: ReferralStatus,
    rule: FraudRuleCode | None,
    detail: str | None,
    session_id: uuid.UUID | None,
    at: datetime,
) -> None:
    await conn.execute(
        """UPDATE referrals SET status = $2, refusal_rule = $3, refusal_detail = $4,
                                session_id = $5, decided_at = $6
           WHERE referee_id = $1 AND status = 'signed_up'""",
        referee_id,
        status.value,
        None if rule is None else rule.value,
        detail,
        session_id,
        at,
    )


async def referrals_by(conn: Connection, referrer_id: uuid.UUID, limit: int) -> list[Referral]:
    rows = await conn.fetch(
        f"""SELECT {_REFERRAL} FROM referrals WHERE referrer_id = $1
            ORDER BY signed_up_at DESC LIMIT $2""",
        referrer_id,
        limit,
    )
    return records(Referral, rows)


async def status_counts(conn: Connection, referrer_id: uuid.UUID) -> dict[ReferralStatus, int]:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM referrals WHERE referrer_id = $1 GROUP BY status",
        referrer_id,
    )
    return {ReferralStatus(row["status"]): int(row["n"]) for row in rows}


async def refers_up_to(conn: Connection, start: uuid.UUID, target: uuid.UUID) -> bool:
    """Whether following "who referred whom" upward from `start` reaches `target` (a
    cycle when `target` is the one `start` referred); bounded, as chains are short."""
    found: bool = await conn.fetchval(
        """WITH RECURSIVE up (user_id, depth) AS (
               SELECT referrer_id, 1 FROM referrals WHERE referee_id = $1
               UNION
               SELECT r.referrer_id, up.depth + 1 FROM referrals r
               JOIN up ON r.referee_id = up.user_id WHERE up.depth < 50
           )
           SELECT EXISTS (SELECT 1 FROM up WHERE user_id = $2)""",
        start,
        target,
    )
    return found


async def referees_in_cluster(
    conn: Connection,
    referrer_id: uuid.UUID,
    cluster: str,
    since: datetime,
    other_than: uuid.UUID,
) -> int:
    count: int = await conn.fetchval(
        """SELECT count(*) FROM referrals
           WHERE referrer_id = $1 AND signup_cluster = $2::cidr AND signed_up_at >= $3
             AND referee_id <> $4""",
        referrer_id,
        cluster,
        since,
        other_than,
    )
    return count


async def refused(conn: Connection, limit: int) -> list[RefusedReferral]:
    rows = await conn.fetch(
        """SELECT r.referee_id, r.referrer_id, r.refusal_rule, r.refusal_detail,
                  f.description AS rule_description, r.signed_up_at, r.decided_at
           FROM referrals r JOIN referral_fraud_rules f ON f.code = r.refusal_rule
           WHERE r.status = 'refused' ORDER BY r.decided_at DESC LIMIT $1""",
        limit,
    )
    return records(RefusedReferral, rows)


# ---- fraud rules -----------------------------------------------------------------------


async def fraud_rules(conn: Connection) -> list[FraudRule]:
    rows = await conn.fetch(
        "SELECT code, enabled, params, description FROM referral_fraud_rules ORDER BY code"
    )
    return records(FraudRule, rows)


# ---- the funnel, per day ---------------------------------------------------------------


async def daily_funnel(conn: Connection, referrer_id: uuid.UUID, since: datetime) -> list[DayCount]:
    """Per UTC day since `since`: link visits, sign-ups and completed referrals."""
    rows = await conn.fetch(
        """WITH clicks AS (
               SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
               FROM referral_clicks WHERE referrer_id = $1 AND created_at >= $2 GROUP BY 1
           ), signups AS (
               SELECT (signed_up_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
               FROM referrals WHERE referrer_id = $1 AND signed_up_at >= $2 GROUP BY 1
           ), conversions AS (
               SELECT (decided_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
               FROM referrals
               WHERE referrer_id = $1 AND status = 'completed' AND decided_at >= $2 GROUP BY 1
           )
           SELECT day, coalesce(c.n, 0) AS clicks, coalesce(s.n, 0) AS signups,
                  coalesce(v.n, 0) AS conversions
           FROM clicks c FULL JOIN signups s USING (day) FULL JOIN conversions v USING (day)
           ORDER BY day""",
        referrer_id,
        since,
    )
    return records(DayCount, rows)
