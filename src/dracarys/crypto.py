"""Secrets at rest: AES-256-GCM sealing (random 96-bit nonce per message, caller-chosen
associated data), a key ring whose ciphertexts name their key version, field ciphers that
bind each value to its record and field, and the keys derived for KYC documents, TOTP
secrets, personal data, outgoing messages, payment details, social OAuth tokens, brokerage
API keys, the Web Push signing key and short code hashes; and the PKCE challenge every
OAuth client sends. Core vocabulary: every key derived from the secret key is named here,
once, so no two purposes (and no two domains) ever share one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dracarys.errors import InvalidInput
from dracarys.settings import Settings

NONCE_BYTES = 12


def _derive(settings: Settings, purpose: bytes) -> bytes:
    return _derive_from(settings.secret_key, purpose)


@lru_cache(maxsize=32)
def _derive_from(secret_key: str, purpose: bytes) -> bytes:
    # Cached: personal data is opened on every page that shows a name, and HKDF per call
    # would cost more than the decryption itself.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )


def kyc_document_key(settings: Settings) -> bytes:
    """`DRACARYS_KYC_ENCRYPTION_KEY` (base64 of 32 bytes) or, when unset, a key derived
    from the secret key."""
    if not settings.kyc_encryption_key:
        return _derive(settings, b"dracarys kyc documents v1")
    try:
        key = base64.b64decode(settings.kyc_encryption_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("DRACARYS_KYC_ENCRYPTION_KEY is not base64") from exc
    if len(key) != 32:
        raise InvalidInput("DRACARYS_KYC_ENCRYPTION_KEY must decode to 32 bytes")
    return key


def totp_secret_key(settings: Settings) -> bytes:
    return _derive(settings, b"dracarys totp secrets v1")


def vapid_key(settings: Settings) -> bytes:
    """Seals the Web Push (VAPID) private key at rest."""
    return _derive(settings, b"dracarys vapid key v1")


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """nonce ‖ ciphertext ‖ tag; the associated data must match when opening."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def unseal(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)


class KeyRing:
    """AES-256-GCM keys by a one-byte version. Sealing uses the current key and writes its
    version first (version ‖ nonce ‖ ciphertext ‖ tag); opening uses the key that byte
    names, so a new key can become current while older ciphertexts stay readable."""

    def __init__(self, keys: Mapping[int, bytes], current: int) -> None:
        if current not in keys or not all(0 <= v <= 255 for v in keys):
            raise ValueError("key versions are 0-255 and the current one must be present")
        self._aeads = {version: AESGCM(key) for version, key in keys.items()}
        self._current = current

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aeads[self._current].encrypt(nonce, plaintext, associated_data)
        return bytes((self._current,)) + nonce + sealed

    def unseal(self, sealed: bytes, associated_data: bytes) -> bytes:
        aead = self._aeads.get(sealed[0]) if sealed else None
        if aead is None:
            raise ValueError("sealed with an unknown key version")
        return aead.decrypt(sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], associated_data)


class FieldCipher:
    """Values of one purpose sealed under its key ring, each bound (as associated data) to
    the id of the record it belongs to and to its field: a ciphertext copied onto another
    record, or into another column, does not open."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    @staticmethod
    def _binding(record_id: uuid.UUID | int, field: bytes) -> bytes:
        record = record_id.bytes if isinstance(record_id, uuid.UUID) else b"%d" % record_id
        return record + b"/" + field

    def seal_bytes(self, record_id: uuid.UUID | int, field: bytes, value: bytes) -> bytes:
        return self._keys.seal(value, self._binding(record_id, field))

    def open_bytes(self, record_id: uuid.UUID | int, field: bytes, sealed: bytes) -> bytes:
        return self._keys.unseal(bytes(sealed), self._binding(record_id, field))

    def seal(self, record_id: uuid.UUID | int, field: bytes, value: str) -> bytes:
        return self.seal_bytes(record_id, field, value.encode())

    def open(self, record_id: uuid.UUID | int, field: bytes, sealed: bytes) -> str:
        return self.open_bytes(record_id, field, sealed).decode()


# Every purpose's ring starts at version 1, derived from the secret key; a rotation adds
# version 2 to that purpose's ring and keeps 1 for opening what was sealed under it.
FIRST_KEY_VERSION = 1


def _key_ring(settings: Settings, purpose: str) -> KeyRing:
    key = _derive(settings, f"dracarys {purpose} v{FIRST_KEY_VERSION}".encode())
    return _ring_of(key)


@lru_cache(maxsize=64)
def _ring_of(key: bytes) -> KeyRing:
    # One ring per key: building the AES-GCM contexts on every call cost a hot path
    # (every `/me` opens the caller's contact) about 10 µs.
    return KeyRing({FIRST_KEY_VERSION: key}, FIRST_KEY_VERSION)


def personal_data_key_ring(settings: Settings) -> KeyRing:
    """Name, e-mail, phone and postal address."""
    return _key_ring(settings, "personal data")


def personal_data_index_key(settings: Settings) -> bytes:
    """The blind-index key: a separate key, so the index reveals nothing of the
    ciphertexts' key and the other way round."""
    return _derive(settings, b"dracarys personal data blind index v1")


def outbound_message_cipher(settings: Settings) -> FieldCipher:
    """Recipients and contents of queued e-mail and SMS: a key of their own, so the
    message queue's key opens no user record and the other way round."""
    return FieldCipher(_key_ring(settings, "outbound messages"))


def payment_details_cipher(settings: Settings) -> FieldCipher:
    """M-Pesa numbers of deposits, payout destinations and the providers' callbacks."""
    return FieldCipher(_key_ring(settings, "payment details"))


def social_tokens_cipher(settings: Settings) -> FieldCipher:
    """OAuth tokens members grant us on social platforms (the refresh token re-checks a
    verified follow): a key of their own."""
    return FieldCipher(_key_ring(settings, "social tokens"))


def broker_keys_cipher(settings: Settings) -> FieldCipher:
    """The API key and secret of a member's linked brokerage account: a key of their
    own, since they can place real orders."""
    return FieldCipher(_key_ring(settings, "broker keys"))


def mail_address_index(settings: Settings, address: str) -> bytes:
    """The suppression list's key for an e-mail address (keyed HMAC of it lower-cased), so
    the list holds no address."""
    key = _derive(settings, b"dracarys mail suppression index v1")
    return hmac.new(key, address.strip().lower().encode(), hashlib.sha256).digest()


def mail_link_key(settings: Settings) -> bytes:
    """Signs the unsubscribe links of marketing e-mail (valid without signing in)."""
    return _derive(settings, b"dracarys mail unsubscribe links v1")


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of an OAuth PKCE verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    """High-entropy tokens (refresh, e-mail, OIDC state) are stored as SHA-256 only."""
    return hashlib.sha256(token.encode()).digest()


def short_code_hash(settings: Settings, code: str) -> bytes:
    """Low-entropy codes (SMS one-time codes, recovery codes) are keyed with HMAC so a
    leaked table cannot be brute-forced offline."""
    key = _derive(settings, b"dracarys short codes v1")
    return hmac.new(key, code.encode(), hashlib.sha256).digest()
