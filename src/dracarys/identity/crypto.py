"""Secrets at rest for identity: AES-256-GCM sealing (random 96-bit nonce per message,
caller-chosen associated data) and the keys derived for KYC documents, TOTP secrets and
short code hashes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dracarys.errors import InvalidInput
from dracarys.settings import Settings

NONCE_BYTES = 12


def _derive(settings: Settings, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        settings.secret_key.encode()
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


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """nonce ‖ ciphertext ‖ tag; the associated data must match when opening."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def unseal(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data)


def token_hash(token: str) -> bytes:
    """High-entropy tokens (refresh, e-mail, OIDC state) are stored as SHA-256 only."""
    return hashlib.sha256(token.encode()).digest()


def short_code_hash(settings: Settings, code: str) -> bytes:
    """Low-entropy codes (SMS one-time codes, recovery codes) are keyed with HMAC so a
    leaked table cannot be brute-forced offline."""
    key = _derive(settings, b"dracarys short codes v1")
    return hmac.new(key, code.encode(), hashlib.sha256).digest()
