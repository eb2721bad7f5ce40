"""Sealed provider callbacks, and the plain values older versions stored (to seal)."""

from __future__ import annotations

import uuid

import msgspec


class SealedCallback(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    payload_sealed: bytes


class PlainDepositPhone(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    plain_phone: str


class PlainPayoutDestination(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    plain_destination: str


class PlainCallback(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    plain_payload: str  # JSON text


class InstrumentDigest(msgspec.Struct, frozen=True):
    """A payment instrument as the referral rules compare it: its kind ("mpesa" or
    "card") and a digest (equal digests, same instrument; the instrument is not in it)."""

    kind: str
    digest: str


class CardInstrument(msgspec.Struct, frozen=True, kw_only=True):
    """The digest of a card a user's deposit was paid with."""

    user_id: uuid.UUID
    card_digest: str


class SealedInstrument(msgspec.Struct, frozen=True, kw_only=True):
    """An M-Pesa number a user deposited from (`kind` deposit) or is paid to (payout),
    sealed under its row's id."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    sealed: bytes
