"""The SQL of follow verifications, OAuth states and manual proofs."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record, record_or_none, records
from dracarys.social.verification.models import OAuthState, ProofRecord, VerificationRecord

_VERIFICATION_COLUMNS = (
    "user_id, platform, method, status, account_id, account_name, tokens_sealed, checked_at, "
    "next_check_at, check_failures, verified_at, awarded_at, revoked_at, revoked_reason, "
    "created_at"
)
_PROOF_COLUMNS = (
    "id, user_id, platform, profile_url, handle, content_type, size_bytes, status, "
    "submitted_at, reviewer_id, decided_at, reason"
)


# ---- OAuth states ------------------------------------------------------------------------


async def insert_oauth_state(
    conn: Connection,
    *,
    state_hash: bytes,
    user_id: uuid.UUID,
    platform: str,
    code_verifier: str,
    redirect_uri: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO social_oauth_states (state_hash, user_id, platform, code_verifier,
                                            redirect_uri, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        state_hash,
        user_id,
        platform,
        code_verifier,
        redirect_uri,
        now,
        expires_at,
    )


async def consume_oauth_state(
    conn: Connection, state_hash: bytes, now: datetime
) -> OAuthState | None:
    """The state, marked used, if it is unused and unexpired; else the state as it was
    (its `used_at` set: a retry of a finished round trip), or None."""
    row = await conn.fetchrow(
        """UPDATE social_oauth_states SET used_at = $2
           WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2
           RETURNING user_id, platform, code_verifier, redirect_uri,
                     NULL::timestamptz AS used_at""",
        state_hash,
        now,
    )
    if row is not None:
        return record(OAuthState, row)
    row = await conn.fetchrow(
        """SELECT user_id, platform, code_verifier, redirect_uri, used_at
           FROM social_oauth_states WHERE state_hash = $1 AND used_at IS NOT NULL""",
        state_hash,
    )
    return record_or_none(OAuthState, row)


async def delete_expired_states(conn: Connection, before: datetime) -> int:
    status = await conn.execute("DELETE FROM social_oauth_states WHERE expires_at < $1", before)
    return int(status.split()[-1])


# ---- verifications -----------------------------------------------------------------------


async def verifications_of(conn: Connection, user_id: uuid.UUID) -> list[VerificationRecord]:
    rows = await conn.fetch(
        f"SELECT {_VERIFICATION_COLUMNS} FROM social_verifications WHERE user_id = $1", user_id
    )
    return records(VerificationRecord, rows)


async def verification(
    conn: Connection, user_id: uuid.UUID, platform: str, *, lock: bool = False
) -> VerificationRecord | None:
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"""SELECT {_VERIFICATION_COLUMNS} FROM social_verifications
            WHERE user_id = $1 AND platform = $2 {locking}""",
        user_id,
        platform,
    )
    return record_or_none(VerificationRecord, row)


async def account_holder(conn: Connection, platform: str, account_id: str) -> uuid.UUID | None:
    """The member whose verification (standing or revoked) used this platform account."""
    holder: uuid.UUID | None = await conn.fetchval(
        """SELECT user_id FROM social_verifications
           WHERE platform = $1 AND account_id = $2 AND status IN ('verified', 'revoked')""",
        platform,
        account_id,
    )
    return holder


async def save_verification(conn: Connection, row: VerificationRecord) -> None:
    """Insert or replace the member's verification of one platform."""
    await conn.execute(
        """INSERT INTO social_verifications (user_id, platform, method, status, account_id,
               account_name, tokens_sealed, checked_at, next_check_at, check_failures,
               verified_at, awarded_at, revoked_at, revoked_reason, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (user_id, platform) DO UPDATE SET
               method = EXCLUDED.method, status = EXCLUDED.status,
               account_id = EXCLUDED.account_id, account_name = EXCLUDED.account_name,
               tokens_sealed = EXCLUDED.tokens_sealed, checked_at = EXCLUDED.checked_at,
               next_check_at = EXCLUDED.next_check_at,
               check_failures = EXCLUDED.check_failures, verified_at = EXCLUDED.verified_at,
               awarded_at = EXCLUDED.awarded_at, revoked_at = EXCLUDED.revoked_at,
               revoked_reason = EXCLUDED.revoked_reason""",
        row.user_id,
        row.platform,
        row.method,
        row.status,
        row.account_id,
        row.account_name,
        row.tokens_sealed,
        row.checked_at,
        row.next_check_at,
        row.check_failures,
        row.verified_at,
        row.awarded_at,
        row.revoked_at,
        row.revoked_reason,
        row.created_at,
    )


async def claim_due_checks(
    conn: Connection, now: datetime, lease_until: datetime, limit: int
) -> list[VerificationRecord]:
    """Verified OAuth follows due for a re-check, leased to this run (their next check
    moves to `lease_until`, so a concurrent run skips them and a crashed run's rows come
    back when the lease ends)."""
    rows = await conn.fetch(
        f"""UPDATE social_verifications v SET next_check_at = $2
            FROM (SELECT user_id, platform FROM social_verifications
                  WHERE method = 'oauth' AND status = 'verified' AND next_check_at <= $1
                  ORDER BY next_check_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
            WHERE v.user_id = due.user_id AND v.platform = due.platform
            RETURNING {", ".join(f"v.{c.strip()}" for c in _VERIFICATION_COLUMNS.split(","))}""",
        now,
        lease_until,
        limit,
    )
    return records(VerificationRecord, rows)


# ---- proofs ------------------------------------------------------------------------------


async def insert_proof(
    conn: Connection,
    *,
    proof_id: uuid.UUID,
    user_id: uuid.UUID,
    platform: str,
    profile_url: str,
    handle: str,
    content_type: str,
    screenshot: bytes,
    now: datetime,
) -> ProofRecord:
    row = await conn.fetchrow(
        f"""INSERT INTO social_proofs (id, user_id, platform, profile_url, handle, content_type,
                                       size_bytes, screenshot, submitted_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_PROOF_COLUMNS}""",
        proof_id,
        user_id,
        platform,
        profile_url,
        handle,
        content_type,
        len(screenshot),
        screenshot,
        now,
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    return record(ProofRecord, row)


async def proof(conn: Connection, proof_id: uuid.UUID, *, lock: bool = False) -> ProofRecord | None:
    locking = "FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_PROOF_COLUMNS} FROM social_proofs WHERE id = $1 {locking}", proof_id
    )
    return record_or_none(ProofRecord, row)


async def screenshot(conn: Connection, proof_id: uuid.UUID) -> bytes | None:
    content: bytes | None = await conn.fetchval(
        "SELECT screenshot FROM social_proofs WHERE id = $1", proof_id
    )
    return content


async def latest_proofs_of(conn: Connection, user_id: uuid.UUID) -> dict[str, ProofRecord]:
    """Each platform's newest proof from the member."""
    rows = await conn.fetch(
        f"""SELECT DISTINCT ON (platform) {_PROOF_COLUMNS} FROM social_proofs
            WHERE user_id = $1 ORDER BY platform, submitted_at DESC, id""",
        user_id,
    )
    return {p.platform: p for p in records(ProofRecord, rows)}


async def pending_proof(conn: Connection, user_id: uuid.UUID, platform: str) -> ProofRecord | None:
    row = await conn.fetchrow(
        f"""SELECT {_PROOF_COLUMNS} FROM social_proofs
            WHERE user_id = $1 AND platform = $2 AND status = 'pending'""",
        user_id,
        platform,
    )
    return record_or_none(ProofRecord, row)


async def pending_proofs(conn: Connection, limit: int) -> list[ProofRecord]:
    """The review queue, oldest first."""
    rows = await conn.fetch(
        f"""SELECT {_PROOF_COLUMNS} FROM social_proofs WHERE status = 'pending'
            ORDER BY submitted_at, id LIMIT $1""",
        limit,
    )
    return records(ProofRecord, rows)


async def decide_proof(
    conn: Connection,
    proof_id: uuid.UUID,
    *,
    status: str,
    reviewer_id: uuid.UUID,
    reason: str | None,
    now: datetime,
) -> ProofRecord:
    row = await conn.fetchrow(
        f"""UPDATE social_proofs SET status = $2, reviewer_id = $3, reason = $4, decided_at = $5
            WHERE id = $1 RETURNING {_PROOF_COLUMNS}""",
        proof_id,
        status,
        reviewer_id,
        reason,
        now,
    )
    assert row is not None  # the caller holds the proof's row lock
    return record(ProofRecord, row)
