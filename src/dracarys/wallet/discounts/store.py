"""The SQL of discount codes and their uses."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.discounts.models import CodeKind, DiscountCode, Issuer, PurchaseKind

_COLUMNS = (
    "c.code, c.issuer, c.kind, c.value_minor, c.percent_bps, c.currency, c.valid_from, "
    "c.expires_at, c.max_uses, c.max_uses_per_user, c.uses, c.purchase_kinds, c.owner_id, "
    "c.redemption_id, c.created_by, c.description, c.request_hash, c.created_at, "
    "c.deactivated_at, "
    "(SELECT max(u.used_at) FROM discount_code_uses u WHERE u.code = c.code) AS last_used_at"
)


def _kinds(kinds: list[PurchaseKind] | None) -> list[str] | None:
    return None if kinds is None else [kind.value for kind in kinds]


async def insert_points_code(
    conn: Connection,
    *,
    code: str,
    redemption_id: uuid.UUID,
    owner_id: uuid.UUID,
    value_minor: int,
    currency: str,
    created_at: datetime,
    expires_at: datetime,
    purchase_kinds: list[PurchaseKind] | None,
) -> DiscountCode:
    """A code points bought: a fixed amount its owner may use once."""
    await conn.execute(
        """INSERT INTO discount_codes (code, issuer, kind, redemption_id, owner_id, value_minor,
                                       currency, created_at, valid_from, expires_at, max_uses,
                                       purchase_kinds)
           VALUES ($1, 'points', 'fixed', $2, $3, $4, $5, $6, $6, $7, 1, $8)""",
        code,
        redemption_id,
        owner_id,
        value_minor,
        currency,
        created_at,
        expires_at,
        _kinds(purchase_kinds),
    )
    issued = await discount_code(conn, code)
    assert issued is not None  # inserted just now, in this transaction
    return issued


async def insert_promo_code(
    conn: Connection,
    *,
    code: str,
    kind: CodeKind,
    value_minor: int | None,
    currency: str | None,
    percent_bps: int | None,
    valid_from: datetime,
    expires_at: datetime | None,
    max_uses: int | None,
    max_uses_per_user: int | None,
    purchase_kinds: list[PurchaseKind] | None,
    description: str | None,
    created_by: uuid.UUID,
    created_at: datetime,
    request_hash: str,
) -> bool:
    """False when a code of that name exists already (whoever issued it)."""
    status = await conn.execute(
        """INSERT INTO discount_codes (code, issuer, kind, value_minor, currency, percent_bps,
                                       valid_from, expires_at, max_uses, max_uses_per_user,
                                       purchase_kinds, description, created_by, created_at,
                                       request_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (code) DO NOTHING""",
        code,
        Issuer.ADMIN.value,
        kind.value,
        value_minor,
        currency,
        percent_bps,
        valid_from,
        expires_at,
        max_uses,
        max_uses_per_user,
        _kinds(purchase_kinds),
        description,
        created_by,
        created_at,
        request_hash,
    )
    return status.endswith(" 1")


async def discount_code(conn: Connection, code: str, *, lock: bool = False) -> DiscountCode | None:
    """The code, whoever owns it; `lock` holds its row until the transaction ends, so
    purchases using it take turns and each counts the uses the one before committed."""
    locking = "FOR UPDATE OF c" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM discount_codes c WHERE c.code = $1 {locking}", code
    )
    return record_or_none(DiscountCode, row)


async def discount_codes_of_redemptions(
    conn: Connection, redemption_ids: list[uuid.UUID]
) -> dict[uuid.UUID, DiscountCode]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM discount_codes c WHERE c.redemption_id = ANY($1::uuid[])",
        redemption_ids,
    )
    return {
        code.redemption_id: code
        for code in records(DiscountCode, rows)
        if code.redemption_id is not None
    }


async def discount_codes_of(conn: Connection, owner_id: uuid.UUID) -> list[DiscountCode]:
    """The codes only this user may use (bought with points), newest first."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM discount_codes c WHERE c.owner_id = $1
            ORDER BY c.created_at DESC""",
        owner_id,
    )
    return records(DiscountCode, rows)


async def promo_codes(conn: Connection) -> list[DiscountCode]:
    """Every code an admin issued, newest first."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM discount_codes c WHERE c.issuer = 'admin'
            ORDER BY c.created_at DESC, c.code"""
    )
    return records(DiscountCode, rows)


async def uses_by(conn: Connection, code: str, user_id: uuid.UUID) -> int:
    """How many committed purchases of this user used the code."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM discount_code_uses WHERE code = $1 AND user_id = $2",
        code,
        user_id,
    )
    return count


async def record_use(
    conn: Connection,
    code: str,
    *,
    user_id: uuid.UUID,
    used_for: str,
    applied_minor: int,
    currency: str,
    at: datetime,
) -> bool:
    """One use by `used_for`, counted against the total limit in the same statement; False
    when the code has no use left (the caller holds its row lock, so that is a bug)."""
    counted = await conn.execute(
        """UPDATE discount_codes SET uses = uses + 1
           WHERE code = $1 AND (max_uses IS NULL OR uses < max_uses)""",
        code,
    )
    if not counted.endswith(" 1"):
        return False
    await conn.execute(
        """INSERT INTO discount_code_uses (code, used_for, user_id, applied_minor, currency,
                                           used_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        code,
        used_for,
        user_id,
        applied_minor,
        currency,
        at,
    )
    return True


async def deactivate(conn: Connection, code: str, *, by: uuid.UUID, at: datetime) -> bool:
    """Stop an admin's code; False when it was stopped already."""
    status = await conn.execute(
        """UPDATE discount_codes SET deactivated_at = $2, deactivated_by = $3
           WHERE code = $1 AND issuer = 'admin' AND deactivated_at IS NULL""",
        code,
        at,
        by,
    )
    return status.endswith(" 1")
