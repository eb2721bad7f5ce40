"""Personal data at rest (blueprint §9): e-mail, name, phone and postal address are kept as
AES-256-GCM ciphertexts bound to the user id and the field, under a key of their own
derived from the secret key; e-mail and phone also get keyed blind indexes (HMAC-SHA256
of the normalised value) that carry their uniqueness and the sign-in lookup. Other domains
read contact details through `contact_of`, `contacts_of` and `display_names`, never from
the users table; `seal_plain_personal_data` seals what older versions stored in plain."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Collection

import msgspec

from dracarys.crypto import (
    FieldCipher,
    KeyRing,
    personal_data_index_key,
    personal_data_key_ring,
)
from dracarys.db import Connection, session_lock
from dracarys.identity import store
from dracarys.identity.models import (
    Contact,
    PostalAddress,
    SealedContact,
    SealedContactRecord,
    SealedNameRecord,
    ShippingAddress,
)
from dracarys.settings import Settings

# Associated-data labels: a ciphertext opens only as the field of the user it was made for,
# so copying one user's sealed phone onto another, or into the name column, fails.
EMAIL = b"email"
NAME = b"name"
PHONE = b"phone"
ADDRESS = b"address"
OIDC_EMAIL = b"oidc email"

SEAL_BATCH = 500


class PersonalDataCipher(FieldCipher):
    """Seals and opens one deployment's personal data, bound to the user id and field;
    get it with `personal_data_cipher`."""

    def __init__(self, keys: KeyRing, index_key: bytes) -> None:
        super().__init__(keys)
        self._index_key = index_key

    def _index(self, field: bytes, normalised: str) -> bytes:
        message = field + b"/" + normalised.encode()
        return hmac.new(self._index_key, message, hashlib.sha256).digest()

    def email_index(self, email: str) -> bytes:
        """Case-insensitive, as the unique index on lower(email) was."""
        return self._index(EMAIL, email.strip().lower())

    def phone_index(self, phone: str) -> bytes:
        """Over the E.164 form the services store."""
        return self._index(PHONE, phone)

    def seal_contact(
        self, user_id: uuid.UUID, *, email: str, name: str, phone: str | None
    ) -> SealedContact:
        return SealedContact(
            email_sealed=self.seal(user_id, EMAIL, email),
            email_index=self.email_index(email),
            name_sealed=self.seal(user_id, NAME, name),
            phone_sealed=None if phone is None else self.seal(user_id, PHONE, phone),
            phone_index=None if phone is None else self.phone_index(phone),
        )

    def open_contact(self, user: SealedContactRecord) -> Contact:
        """From a users record (any record with the id and the sealed columns)."""
        assert user.email_sealed is not None, "not sealed yet"
        assert user.name_sealed is not None, "not sealed yet"
        phone = user.phone_sealed
        return Contact(
            email=self.open(user.id, EMAIL, user.email_sealed),
            name=self.open(user.id, NAME, user.name_sealed),
            phone=None if phone is None else self.open(user.id, PHONE, phone),
        )

    def open_name(self, user: SealedNameRecord) -> str:
        assert user.name_sealed is not None, "not sealed yet"
        return self.open(user.id, NAME, user.name_sealed)

    def seal_address(self, user_id: uuid.UUID, address: PostalAddress) -> bytes:
        return self.seal_bytes(user_id, ADDRESS, msgspec.json.encode(address))

    def open_address(self, user_id: uuid.UUID, sealed: bytes | None) -> PostalAddress | None:
        if sealed is None:
            return None
        return msgspec.json.decode(self.open_bytes(user_id, ADDRESS, sealed), type=PostalAddress)


def personal_data_cipher(settings: Settings) -> PersonalDataCipher:
    """The deployment's cipher; one per secret key, so a call on every request costs a
    lookup (deriving the two keys' names and looking each up was a few microseconds of
    every `/me`)."""
    cipher = _CIPHERS.get(settings.secret_key)
    if cipher is None:
        if len(_CIPHERS) >= 8:  # tests make deployments with keys of their own
            _CIPHERS.clear()
        cipher = PersonalDataCipher(
            personal_data_key_ring(settings), personal_data_index_key(settings)
        )
        _CIPHERS[settings.secret_key] = cipher
    return cipher


# Secret key → its cipher: both keys derive from the secret key alone.
_CIPHERS: dict[str, PersonalDataCipher] = {}


# ---- reads for other domains --------------------------------------------------------


async def contact_of(conn: Connection, settings: Settings, user_id: uuid.UUID) -> Contact | None:
    """E-mail, name and phone of one user (None when there is no such user)."""
    return (await contacts_of(conn, settings, [user_id])).get(user_id)


async def contacts_of(
    conn: Connection,
    settings: Settings,
    user_ids: Collection[uuid.UUID],
    *,
    active_only: bool = False,
    verified_phones: bool = False,
) -> dict[uuid.UUID, Contact]:
    """One query for all, opened here; `active_only` leaves banned accounts out;
    `verified_phones` gives a phone only where its owner proved it (SMS goes to those)."""
    if not user_ids:
        return {}
    cipher = personal_data_cipher(settings)
    sealed = await store.sealed_contacts(
        conn, list(user_ids), active_only=active_only, verified_phones=verified_phones
    )
    return {user.id: cipher.open_contact(user) for user in sealed}


async def shipping_addresses_of(
    conn: Connection, settings: Settings, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ShippingAddress]:
    """The profile addresses of those users who gave one, opened (for shipping what they
    ordered; their country is the profile's own field)."""
    if not user_ids:
        return {}
    cipher = personal_data_cipher(settings)
    found: dict[uuid.UUID, ShippingAddress] = {}
    for sealed in await store.sealed_addresses(conn, user_ids):
        address = cipher.open_address(sealed.user_id, sealed.address_sealed)
        if address is not None:
            found[sealed.user_id] = ShippingAddress(address=address, country=sealed.country)
    return found


async def display_names(
    conn: Connection, settings: Settings, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Names for a page of users: one query, one AES-GCM opening per user. Callers that
    order by name sort these in Python; the database only sees ciphertexts."""
    if not user_ids:
        return {}
    cipher = personal_data_cipher(settings)
    return {user.id: cipher.open_name(user) for user in await store.sealed_names(conn, user_ids)}


# ---- sealing what older versions stored in plain ---------------------------------------


async def seal_plain_personal_data(
    conn: Connection, settings: Settings, *, batch_size: int = SEAL_BATCH
) -> int:
    """Seal and clear every plain e-mail, name and phone left by versions before
    migration 0120 (users, verification tokens and codes, OIDC links), a batch per
    transaction, then have PostgreSQL validate that none is left. Run after the SQL
    migrations; running it again, or twice at once, seals nothing twice."""
    cipher = personal_data_cipher(settings)
    sealed = 0
    # One sealer at a time, so the final validation never meets a batch another process
    # has yet to commit.
    async with session_lock(conn, store.SEALING_LOCK_KEY):
        for seal_batch in (_seal_user_batch, _seal_token_batch, _seal_code_batch, _seal_oidc_batch):
            while batch := await seal_batch(conn, cipher, batch_size):
                sealed += batch
        await store.validate_personal_data_constraints(conn)
    return sealed


async def _seal_user_batch(conn: Connection, cipher: PersonalDataCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_users(conn, limit)
        sealed = [
            (
                row.id,
                cipher.seal_contact(
                    row.id, email=row.plain_email, name=row.plain_name or "", phone=row.plain_phone
                ),
            )
            for row in rows
        ]
        await store.store_sealed_users(conn, sealed)
    return len(rows)


async def _seal_token_batch(conn: Connection, cipher: PersonalDataCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_email_tokens(conn, limit)
        await store.store_email_token_indexes(
            conn, [(row.token_hash, cipher.email_index(row.plain_email)) for row in rows]
        )
    return len(rows)


async def _seal_code_batch(conn: Connection, cipher: PersonalDataCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_phone_codes(conn, limit)
        await store.store_phone_code_indexes(
            conn, [(row.id, cipher.phone_index(row.plain_phone)) for row in rows]
        )
    return len(rows)


async def _seal_oidc_batch(conn: Connection, cipher: PersonalDataCipher, limit: int) -> int:
    async with conn.transaction():
        rows = await store.plain_oidc_emails(conn, limit)
        await store.store_sealed_oidc_emails(
            conn,
            [
                (row.provider, row.subject, cipher.seal(row.user_id, OIDC_EMAIL, row.plain_email))
                for row in rows
            ],
        )
    return len(rows)
