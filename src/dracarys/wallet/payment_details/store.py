"""The SQL of provider callbacks kept as received, and of sealing the payment details
older versions stored in plain."""

from __future__ import annotations

import uuid
from datetime import datetime

from dracarys.db import Connection, record_or_none, records
from dracarys.wallet.payment_details.models import (
    CardInstrument,
    PlainCallback,
    PlainDepositPhone,
    PlainPayoutDestination,
    SealedCallback,
    SealedInstrument,
)

# ---- provider callbacks -----------------------------------------------------------------


async def next_callback_id(conn: Connection) -> int:
    """Taken before the insert: the sealed payload is bound to its row's id."""
    callback_id: int = await conn.fetchval(
        "SELECT nextval(pg_get_serial_sequence('provider_callbacks', 'id'))"
    )
    return callback_id


async def record_callback(
    conn: Connection,
    callback_id: int,
    provider: str,
    kind: str,
    reference: str | None,
    payload_sealed: bytes,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO provider_callbacks (id, provider, kind, reference, payload_sealed,
                                           received_at)
           OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)""",
        callback_id,
        provider,
        kind,
        reference,
        payload_sealed,
        now,
    )


async def earliest_callback(
    conn: Connection, provider: str, kind: str, reference: str
) -> SealedCallback | None:
    row = await conn.fetchrow(
        """SELECT id, payload_sealed FROM provider_callbacks
           WHERE provider = $1 AND kind = $2 AND reference = $3 ORDER BY id LIMIT 1""",
        provider,
        kind,
        reference,
    )
    return record_or_none(SealedCallback, row)


# ---- payment instruments ---------------------------------------------------------------

# The newest of each kind per user: enough to compare people, bounded however busy one is.
INSTRUMENTS_PER_USER = 20


async def sealed_mpesa_instruments(
    conn: Connection, user_ids: list[uuid.UUID]
) -> list[SealedInstrument]:
    rows = await conn.fetch(
        """SELECT id, user_id, kind, sealed FROM (
               SELECT id, user_id, 'deposit' AS kind, phone_sealed AS sealed,
                      row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS n
               FROM wallet_deposits
               WHERE user_id = ANY($1::uuid[]) AND method = 'mpesa' AND status = 'completed'
                 AND phone_sealed IS NOT NULL
               UNION ALL
               SELECT id, user_id, 'payout', destination_sealed,
                      row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC)
               FROM payouts
               WHERE user_id = ANY($1::uuid[]) AND method = 'mpesa'
                 AND destination_sealed IS NOT NULL
           ) AS seen WHERE n <= $2""",
        user_ids,
        INSTRUMENTS_PER_USER,
    )
    return records(SealedInstrument, rows)


async def card_instruments(conn: Connection, user_ids: list[uuid.UUID]) -> list[CardInstrument]:
    rows = await conn.fetch(
        """SELECT user_id, card_digest FROM (
               SELECT user_id, card_digest,
                      row_number() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS n
               FROM wallet_deposits
               WHERE user_id = ANY($1::uuid[]) AND method = 'stripe' AND status = 'completed'
                 AND card_digest IS NOT NULL
           ) AS seen WHERE n <= $2""",
        user_ids,
        INSTRUMENTS_PER_USER,
    )
    return records(CardInstrument, rows)


# ---- sealing payment details older versions stored in plain ---------------------------

SEALING_LOCK_KEY = 0x44524143_5041594C  # "DRACPAYL"
_SEALED_CONSTRAINTS = (
    ("wallet_deposits", "wallet_deposits_sealed"),
    ("payouts", "payouts_sealed"),
    ("provider_callbacks", "provider_callbacks_sealed"),
)


async def plain_deposit_phones(conn: Connection, limit: int) -> list[PlainDepositPhone]:
    rows = await conn.fetch(
        """SELECT id, plain_phone FROM wallet_deposits WHERE plain_phone IS NOT NULL
           LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainDepositPhone, rows)


async def store_sealed_deposit_phones(
    conn: Connection, sealed: list[tuple[uuid.UUID, bytes]]
) -> None:
    await conn.execute(
        """UPDATE wallet_deposits d SET phone_sealed = s.phone_sealed, plain_phone = NULL
           FROM unnest($1::uuid[], $2::bytea[]) AS s (id, phone_sealed)
           WHERE d.id = s.id""",
        [deposit_id for deposit_id, _ in sealed],
        [phone for _, phone in sealed],
    )


async def plain_payout_destinations(conn: Connection, limit: int) -> list[PlainPayoutDestination]:
    rows = await conn.fetch(
        """SELECT id, plain_destination FROM payouts WHERE plain_destination IS NOT NULL
           LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainPayoutDestination, rows)


async def store_sealed_payout_destinations(
    conn: Connection, sealed: list[tuple[uuid.UUID, bytes]]
) -> None:
    await conn.execute(
        """UPDATE payouts p SET destination_sealed = s.destination_sealed,
                                plain_destination = NULL
           FROM unnest($1::uuid[], $2::bytea[]) AS s (id, destination_sealed)
           WHERE p.id = s.id""",
        [payout_id for payout_id, _ in sealed],
        [destination for _, destination in sealed],
    )


async def plain_callbacks(conn: Connection, limit: int) -> list[PlainCallback]:
    rows = await conn.fetch(
        # As JSON text whatever the connection's codecs: it is sealed as it reads.
        """SELECT id, plain_payload::text AS plain_payload FROM provider_callbacks
           WHERE plain_payload IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE""",
        limit,
    )
    return records(PlainCallback, rows)


async def store_sealed_callbacks(conn: Connection, sealed: list[tuple[int, bytes]]) -> None:
    """The one update the append-only trigger lets through (migration 0660)."""
    await conn.execute(
        """UPDATE provider_callbacks c SET payload_sealed = s.payload_sealed,
                                           plain_payload = NULL
           FROM unnest($1::bigint[], $2::bytea[]) AS s (id, payload_sealed)
           WHERE c.id = s.id""",
        [callback_id for callback_id, _ in sealed],
        [payload for _, payload in sealed],
    )


async def validate_payment_details_constraints(conn: Connection) -> None:
    """Once validated, PostgreSQL itself vouches that no plain value is left."""
    pending = {
        row["conname"]
        for row in await conn.fetch(
            """SELECT conname FROM pg_constraint
               WHERE conname = ANY($1::text[]) AND NOT convalidated""",
            [name for _, name in _SEALED_CONSTRAINTS],
        )
    }
    for table, name in _SEALED_CONSTRAINTS:
        if name in pending:
            await conn.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
