"""Payment details at rest (blueprint §9): the M-Pesa number of a deposit, a payout's
destination (an M-Pesa number or a bank account) and each provider callback as received
are AES-256-GCM ciphertexts bound to their row id and field, under the payment-details
key. They are opened only where used: a destination to send a payout or to show its
owner why it failed, a callback to apply one that raced ahead of its deposit. Nothing
looks them up by value, so there is no blind index. `seal_plain_payment_details` seals
what older versions stored in plain. A card is known only by a digest of Stripe's
fingerprint of it (`card_digest`), kept on its deposit."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import msgspec

from dracarys.crypto import FieldCipher, payment_details_cipher
from dracarys.db import Connection, session_lock
from dracarys.settings import Settings
from dracarys.wallet.payment_details import store
from dracarys.wallet.payment_details.models import InstrumentDigest

# Associated-data labels: a sealed value opens only as the field of its own row.
DEPOSIT_PHONE = b"deposit phone"
PAYOUT_DESTINATION = b"payout destination"
CALLBACK_PAYLOAD = b"callback payload"

SEAL_BATCH = 500


def seal_deposit_phone(settings: Settings, deposit_id: uuid.UUID, phone: str) -> bytes:
    return payment_details_cipher(settings).seal(deposit_id, DEPOSIT_PHONE, phone)


def seal_destination(settings: Settings, payout_id: uuid.UUID, destination: str) -> bytes:
    return payment_details_cipher(settings).seal(payout_id, PAYOUT_DESTINATION, destination)


def open_destination(settings: Settings, payout_id: uuid.UUID, sealed: bytes) -> str:
    return payment_details_cipher(settings).open(payout_id, PAYOUT_DESTINATION, sealed)


async def record_callback(
    conn: Connection,
    settings: Settings,
    *,
    provider: str,
    kind: str,
    reference: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Keep a provider callback as received, for audit (the table is append-only)."""
    callback_id = await store.next_callback_id(conn)
    sealed = payment_details_cipher(settings).seal_bytes(
        callback_id, CALLBACK_PAYLOAD, msgspec.json.encode(payload)
    )
    await store.record_callback(conn, callback_id, provider, kind, reference, sealed, now)


async def earliest_callback(
    conn: Connection, settings: Settings, *, provider: str, kind: str, reference: str
) -> dict[str, Any] | None:
    """The first callback kept for `reference`, opened."""
    found = await store.earliest_callback(conn, provider, kind, reference)
    if found is None:
        return None
    plain = payment_details_cipher(settings).open_bytes(
        found.id, CALLBACK_PAYLOAD, found.payload_sealed
    )
    return msgspec.json.decode(plain, type=dict[str, Any])


def card_digest(fingerprint: str) -> str:
    """What the wallet keeps of a card: a digest of Stripe's fingerprint of it (the same
    for every payment with one card number), shaped like the M-Pesa numbers' digests."""
    return hashlib.sha256(f"card:{fingerprint}".encode()).hexdigest()


async def payment_instrument_digests(
    conn: Connection, settings: Settings, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, frozenset[InstrumentDigest]]:
    """For each user, the payment instruments they used, as digests with their kind: the
    M-Pesa numbers they deposited from or are paid to, and the cards their deposits were
    paid with. Equal digests are the same instrument, and the instruments never leave the
    wallet (what the referral rules compare)."""
    cipher = payment_details_cipher(settings)
    users = list(set(user_ids))
    found: dict[uuid.UUID, set[InstrumentDigest]] = {}
    for row in await store.sealed_mpesa_instruments(conn, users):
        label = DEPOSIT_PHONE if row.kind == "deposit" else PAYOUT_DESTINATION
        digits = "".join(ch for ch in cipher.open(row.id, label, row.sealed) if ch.isdigit())
        if digits.startswith("0"):  # a national Kenyan number, as people type it
            digits = "254" + digits[1:]
        digest = hashlib.sha256(f"mpesa:{digits}".encode()).hexdigest()
        found.setdefault(row.user_id, set()).add(InstrumentDigest("mpesa", digest))
    for card in await store.card_instruments(conn, users):
        found.setdefault(card.user_id, set()).add(InstrumentDigest("card", card.card_digest))
    return {user_id: frozenset(digests) for user_id, digests in found.items()}


async def seal_plain_payment_details(
    conn: Connection, settings: Settings, *, batch_size: int = SEAL_BATCH
) -> int:
    """Seal and clear every plain deposit number, payout destination and callback left by
    versions before migration 0660, a batch per transaction, then have PostgreSQL
    validate that none is left. Running it again, or twice at once, seals nothing twice."""
    cipher = payment_details_cipher(settings)
    sealed = 0
    # One sealer at a time, so the validation never meets a batch yet to commit.
    async with session_lock(conn, store.SEALING_LOCK_KEY):
        for seal_batch in (_seal_deposit_batch, _seal_payout_batch, _seal_callback_batch):
            while batch := await seal_batch(conn, cipher, batch_size):
                sealed += batch
        await store.validate_payment_details_constraints(conn)
    return sealed


async def _seal_deposit_batch(conn: Connection, cipher: FieldCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_deposit_phones(conn, limit)
        await store.store_sealed_deposit_phones(
            conn,
            [(row.id, cipher.seal(row.id, DEPOSIT_PHONE, row.plain_phone)) for row in rows],
        )
    return len(rows)


async def _seal_payout_batch(conn: Connection, cipher: FieldCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_payout_destinations(conn, limit)
        await store.store_sealed_payout_destinations(
            conn,
            [
                (row.id, cipher.seal(row.id, PAYOUT_DESTINATION, row.plain_destination))
                for row in rows
            ],
        )
    return len(rows)


async def _seal_callback_batch(conn: Connection, cipher: FieldCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_callbacks(conn, limit)
        await store.store_sealed_callbacks(
            conn,
            [
                (row.id, cipher.seal_bytes(row.id, CALLBACK_PAYLOAD, row.plain_payload.encode()))
                for row in rows
            ],
        )
    return len(rows)
